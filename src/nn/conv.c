/* conv.c — 2-D convolution (stride, padding, dilation, groups) as im2col + sgemm.
 *
 * Per group g the layer is a matrix product: w_g [Og, K] times the column matrix of the input
 * [K, P], K = (C/groups)·kh·kw, P = OH·OW. Images are processed in chunks of nb: the columns
 * of nb images sit side by side ([K, nb·P]) so that late layers with tiny feature maps (7x7)
 * still give OpenBLAS one product large enough to thread well on all cores; with nb = 1 the
 * product writes straight into the output, otherwise a scatter pass moves [Og, nb, P] into
 * [nb, Og, P]. im2col, col2im and the scatters run under OpenMP *between* the sgemm calls,
 * never around them (OpenBLAS's OpenMP build would run each call single-threaded there).
 * A 1x1 convolution with stride 1 and no padding needs no im2col: the image is its own
 * column matrix.
 *
 * Backward, per chunk and group: gw_g += gy_g col^T (im2col recomputed, only if the weight
 * needs a gradient), gcol = w_g^T gy_g then col2im into gx (only if the input needs one),
 * gb = sums of gy over images and positions. Scratch buffers come from core_alloc, whose
 * cache of large blocks hands the same memory back on the next call.
 *
 * 3x3 kernels with stride 1, no dilation, one group and at least 64 channels in and out go
 * to winograd.c instead (forward, input and weight gradients; the bias gradient stays here):
 * about 2x faster on ResNet's 3x3 layers. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "winograd.h"
#include "../strided.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

/* Aim for at least this many columns per sgemm, and at most this much scratch. Measured on
 * ResNet-18's shapes (2 threads): 4096 is ~10% faster than 1024 on the 28x28 and 14x14
 * layers and neutral elsewhere; 16384 slows the 56x56 layers' backward. */
#define COLS_TARGET 4096
#define SCRATCH_MAX ((int64_t)64 << 20)

struct geom {
    int64_t N, C, H, W, O, G, Cg, Og, kh, kw, OH, OW, P, K;
    int64_t sh, sw, ph, pw, dh, dw;
    int64_t nb; /* images per chunk */
    bool direct; /* 1x1, stride 1, no padding: the input is the column matrix */
    bool wino;   /* 3x3, stride 1, no dilation, one group, enough channels: winograd.c */
};

/* ---- im2col / col2im for one channel plane ---- */

/* Output columns [lo, hi) of a kernel column offset w0 = j·dw - pw read input columns inside
 * [0, W): ow·sw + w0 in [0, W). */
static void valid_range(const struct geom *g, int64_t w0, int64_t *lo, int64_t *hi)
{
    int64_t a = w0 < 0 ? (-w0 + g->sw - 1) / g->sw : 0;
    int64_t b = g->W - w0 <= 0 ? 0 : (g->W - w0 + g->sw - 1) / g->sw;
    if (b > g->OW)
        b = g->OW;
    if (a > b)
        a = b;
    *lo = a;
    *hi = b;
}

/* col rows (i, j) (kh·kw rows, row stride ld) = the kernel taps of one input plane [H, W]. */
static void im2col_plane(float *col, int64_t ld, const float *x, const struct geom *g)
{
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            float *row = col + (i * g->kw + j) * ld;
            int64_t w0 = j * g->dw - g->pw, lo, hi;
            valid_range(g, w0, &lo, &hi);
            for (int64_t oh = 0; oh < g->OH; oh++) {
                int64_t h = oh * g->sh - g->ph + i * g->dh;
                float *dst = row + oh * g->OW;
                if (h < 0 || h >= g->H) {
                    memset(dst, 0, sizeof(float) * (size_t)g->OW);
                    continue;
                }
                const float *src = x + h * g->W + w0;
                for (int64_t ow = 0; ow < lo; ow++)
                    dst[ow] = 0;
                if (g->sw == 1)
                    memcpy(dst + lo, src + lo, sizeof(float) * (size_t)(hi - lo));
                else
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow] = src[ow * g->sw];
                for (int64_t ow = hi; ow < g->OW; ow++)
                    dst[ow] = 0;
            }
        }
}

/* gx plane [H, W] += the kernel-tap rows of col (the adjoint of im2col_plane). */
static void col2im_plane(float *gx, const float *col, int64_t ld, const struct geom *g)
{
    for (int64_t i = 0; i < g->kh; i++)
        for (int64_t j = 0; j < g->kw; j++) {
            const float *row = col + (i * g->kw + j) * ld;
            int64_t w0 = j * g->dw - g->pw, lo, hi;
            valid_range(g, w0, &lo, &hi);
            for (int64_t oh = 0; oh < g->OH; oh++) {
                int64_t h = oh * g->sh - g->ph + i * g->dh;
                if (h < 0 || h >= g->H)
                    continue;
                const float *src = row + oh * g->OW;
                float *dst = gx + h * g->W + w0;
                if (g->sw == 1) {
                    _Pragma("omp simd") for (int64_t ow = lo; ow < hi; ow++) dst[ow] += src[ow];
                } else {
                    for (int64_t ow = lo; ow < hi; ow++)
                        dst[ow * g->sw] += src[ow];
                }
            }
        }
}

/* col [K, g->nb P] (row stride g->nb P) from images n0..n0+nb-1, channels of group gr; or,
 * with to_image, the adjoint: gx += col2im(col). One task per (image, channel) plane, so no
 * two threads write the same plane of gx. */
static void chunk_cols(float *col, float *x, int64_t n0, int64_t nb, int64_t gr,
                       const struct geom *g, bool to_image)
{
    int64_t ld = g->nb * g->P, taps = g->kh * g->kw, ntasks = nb * g->Cg;
    PARALLEL_FOR(ntasks > 1 && ntasks * taps * g->P > PAR_MIN_ELEMS, t, ntasks, {
        int64_t i = t / g->Cg, c = t % g->Cg;
        float *plane = x + ((n0 + i) * g->C + gr * g->Cg + c) * g->H * g->W;
        float *rows = col + c * taps * ld + i * g->P;
        if (to_image)
            col2im_plane(plane, rows, ld, g);
        else
            im2col_plane(rows, ld, plane, g);
    });
}

/* ---- geometry and checks ---- */

static struct wino_shape wino_shape_of(const struct geom *g)
{
    return (struct wino_shape){g->N, g->C, g->H, g->W, g->O, g->ph, g->pw};
}

static int conv_geom(struct geom *g, const struct tensor *x, const struct tensor *w,
                     const struct tensor *b, const struct conv2d_params *p)
{
    if (nn_require_f32("conv2d", "input", x) < 0 || nn_require_f32("conv2d", "weight", w) < 0 ||
        (b && nn_require_f32("conv2d", "bias", b) < 0))
        return -1;
    if (x->ndim != 4)
        return err_set("conv2d: input must be [N, C, H, W] (or [C, H, W]), got %s", tshape(x));
    if (w->ndim != 4)
        return err_set("conv2d: weight must be [out, in/groups, kh, kw], got %s", tshape(w));
    for (int d = 0; d < 2; d++)
        if (p->stride[d] < 1 || p->dilation[d] < 1 || p->padding[d] < 0)
            return err_set("conv2d: stride and dilation must be positive and padding "
                           "non-negative (stride %dx%d, padding %dx%d, dilation %dx%d)",
                           p->stride[0], p->stride[1], p->padding[0], p->padding[1],
                           p->dilation[0], p->dilation[1]);
    if (p->groups < 1)
        return err_set("conv2d: groups must be positive, got %d", p->groups);
    *g = (struct geom){.N = x->shape[0], .C = x->shape[1], .H = x->shape[2], .W = x->shape[3],
                       .O = w->shape[0], .G = p->groups, .kh = w->shape[2], .kw = w->shape[3],
                       .sh = p->stride[0], .sw = p->stride[1], .ph = p->padding[0],
                       .pw = p->padding[1], .dh = p->dilation[0], .dw = p->dilation[1]};
    if (g->C % g->G || g->O % g->G)
        return err_set("conv2d: groups=%lld must divide the input channels (%lld) and the output "
                       "channels (%lld) (input %s, weight %s)",
                       (long long)g->G, (long long)g->C, (long long)g->O, tshape(x), tshape(w));
    g->Cg = g->C / g->G;
    g->Og = g->O / g->G;
    if (w->shape[1] != g->Cg)
        return err_set("conv2d: input has %lld channels, weight expects %lld (%s, groups=%lld)",
                       (long long)g->C, (long long)(w->shape[1] * g->G), tshape(w),
                       (long long)g->G);
    if (g->kh < 1 || g->kw < 1 || g->Cg < 1 || g->Og < 1)
        return err_set("conv2d: empty kernel or no channels (input %s, weight %s)", tshape(x),
                       tshape(w));
    if (b && (b->ndim != 1 || b->shape[0] != g->O))
        return err_set("conv2d: bias %s does not match weight %s (expects [%lld])", tshape(b),
                       tshape(w), (long long)g->O);
    int64_t eh = g->dh * (g->kh - 1) + 1, ew = g->dw * (g->kw - 1) + 1;
    int64_t hp = g->H + 2 * g->ph, wp = g->W + 2 * g->pw;
    if (eh > hp || ew > wp)
        return err_set("conv2d: kernel %lldx%lld (dilated %lldx%lld) is larger than the padded "
                       "input %lldx%lld (input %s, weight %s)",
                       (long long)g->kh, (long long)g->kw, (long long)eh, (long long)ew,
                       (long long)hp, (long long)wp, tshape(x), tshape(w));
    g->OH = (hp - eh) / g->sh + 1;
    g->OW = (wp - ew) / g->sw + 1;
    g->P = g->OH * g->OW;
    g->K = g->Cg * g->kh * g->kw;
    g->direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0;
    struct wino_shape ws = wino_shape_of(g);
    g->wino = g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
              g->G == 1 && wino_suitable(&ws);
    /* images per chunk: enough columns, within the scratch budget (col [K, nb P] plus the
     * scatter buffer [Og, nb P]), at least one */
    int64_t nb = g->P >= COLS_TARGET ? 1 : (COLS_TARGET + g->P - 1) / g->P;
    int64_t per_image = (g->K + g->Og) * g->P * (int64_t)sizeof(float);
    if (per_image > 0 && nb * per_image > SCRATCH_MAX)
        nb = SCRATCH_MAX / per_image;
    g->nb = nb < 1 ? 1 : nb > g->N ? (g->N > 0 ? g->N : 1) : nb;
    if (g->K * g->nb * g->P > 0x7fffffff || g->O * g->K > 0x7fffffff ||
        tensor_numel(x) > 0x7fffffff)
        return err_set("conv2d: input %s with weight %s is too large for BLAS's 32-bit sizes",
                       tshape(x), tshape(w));
    return 0;
}

/* Scratch: col [K, nb P] and, when images are batched, buf [Og, nb P]. */
struct scratch {
    float *col, *buf;
    size_t col_bytes, buf_bytes;
};

static int scratch_get(struct scratch *s, const struct geom *g, bool need_col)
{
    *s = (struct scratch){0};
    s->col_bytes = need_col ? sizeof(float) * (size_t)(g->K * g->nb * g->P) : 0;
    s->buf_bytes = g->nb > 1 ? sizeof(float) * (size_t)(g->Og * g->nb * g->P) : 0;
    if (s->col_bytes && !(s->col = core_alloc(s->col_bytes, "conv2d columns")))
        return -1;
    if (s->buf_bytes && !(s->buf = core_alloc(s->buf_bytes, "conv2d buffer"))) {
        core_free(s->col, s->col_bytes);
        return -1;
    }
    return 0;
}

static void scratch_put(struct scratch *s)
{
    if (s->col)
        core_free(s->col, s->col_bytes);
    if (s->buf)
        core_free(s->buf, s->buf_bytes);
}

/* ---- backward ---- */

static int conv_backward(struct ag_node *n, struct tensor *gy, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *w = ag_saved(n, 1);
    if (!x || !w)
        return -1;
    const struct geom *g = n->ctx;
    bool need_x = ag_needs(n, 0), need_w = ag_needs(n, 1);
    bool need_b = n->n_in > 2 && ag_needs(n, 2);
    struct tensor *gc = tensor_contiguous(gy);
    if (!gc)
        return -1;
    const float *gp = tensor_f32(gc), *xp = tensor_f32(x), *wp = tensor_f32(w);
    struct scratch s = {0};
    /* gx, gw start at zero for the im2col path, which adds into them chunk by chunk */
    struct tensor *(*make)(enum dtype, int, const int64_t *) = g->wino ? tensor_new : tensor_zeros;
    if ((need_x && !(gi[0] = make(DT_FLOAT32, 4, x->shape))) ||
        (need_w && !(gi[1] = make(DT_FLOAT32, 4, w->shape))) ||
        (need_b && !(gi[2] = tensor_new(DT_FLOAT32, 1, &g->O))) ||
        (!g->wino && scratch_get(&s, g, !(g->direct && g->nb == 1)))) {
        tensor_release(gc);
        return -1; /* the caller releases what was made */
    }
    struct wino_shape ws = wino_shape_of(g);
    if (g->wino && (need_x || need_w) &&
        wino_backward(need_x ? tensor_f32(gi[0]) : NULL, need_w ? tensor_f32(gi[1]) : NULL, gp,
                      xp, wp, &ws) < 0) {
        tensor_release(gc);
        return -1;
    }
    int64_t ld = g->nb * g->P;
    for (int64_t n0 = 0; n0 < g->N && (need_x || need_w) && !g->wino; n0 += g->nb) {
        if (core_interrupted()) { /* between chunks of images: the sgemms run unpolled */
            scratch_put(&s);
            tensor_release(gc);
            return err_set("conv2d backward: interrupted"); /* the caller releases gi */
        }
        int64_t nb = g->N - n0 < g->nb ? g->N - n0 : g->nb, cols = nb * g->P;
        for (int64_t gr = 0; gr < g->G; gr++) {
            /* gy of this group and chunk as [Og, cols] with row stride ldg */
            const float *gyg = gp + (n0 * g->O + gr * g->Og) * g->P;
            int64_t ldg = g->P;
            if (g->nb > 1) {
                float *buf = s.buf;
                PARALLEL_FOR(nb * g->Og * g->P > PAR_MIN_ELEMS, t, nb * g->Og, {
                    int64_t i = t / g->Og, o = t % g->Og;
                    memcpy(buf + o * ld + i * g->P, gp + ((n0 + i) * g->O + gr * g->Og + o) * g->P,
                           sizeof(float) * (size_t)g->P);
                });
                gyg = buf;
                ldg = ld;
            }
            const float *wg = wp + gr * g->Og * g->K;
            bool direct = g->direct && g->nb == 1;
            if (need_w) { /* gw_g [Og, K] += gy_g [Og, cols] col^T [cols, K] */
                const float *colp = s.col;
                int64_t ldc = ld;
                if (direct) {
                    colp = xp + (n0 * g->C + gr * g->Cg) * g->P;
                    ldc = g->P;
                } else {
                    chunk_cols(s.col, (float *)xp, n0, nb, gr, g, false);
                }
                /* a short last chunk leaves stale columns past `cols`: the products use cols */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)g->Og, (int)g->K,
                            (int)cols, 1.0f, gyg, (int)ldg, colp, (int)ldc, 1.0f,
                            tensor_f32(gi[1]) + gr * g->Og * g->K, (int)g->K);
            }
            if (need_x) { /* gcol [K, cols] = w_g^T [K, Og] gy_g [Og, cols], then col2im */
                if (direct) {
                    float *gxp = tensor_f32(gi[0]) + (n0 * g->C + gr * g->Cg) * g->P;
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->K, (int)cols,
                                (int)g->Og, 1.0f, wg, (int)g->K, gyg, (int)ldg, 0.0f, gxp,
                                (int)g->P);
                } else {
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)g->K, (int)cols,
                                (int)g->Og, 1.0f, wg, (int)g->K, gyg, (int)ldg, 0.0f, s.col,
                                (int)ld);
                    chunk_cols(s.col, tensor_f32(gi[0]), n0, nb, gr, g, true);
                }
            }
        }
    }
    if (need_b) { /* gb[o] = sum over images and positions */
        float *gb = tensor_f32(gi[2]);
        PARALLEL_FOR(g->N * g->O * g->P > PAR_MIN_ELEMS, o, g->O, {
            double acc = 0;
            for (int64_t i = 0; i < g->N; i++) {
                const float *row = gp + (i * g->O + o) * g->P;
                float part = 0;
                _Pragma("omp simd reduction(+ : part)") for (int64_t q = 0; q < g->P; q++)
                    part += row[q];
                acc += part;
            }
            gb[o] = (float)acc;
        });
    }
    scratch_put(&s);
    tensor_release(gc);
    return 0;
}

/* ---- forward ---- */

struct tensor *op_conv2d(struct tensor *x, struct tensor *w, struct tensor *b,
                         const struct conv2d_params *p)
{
    struct geom g;
    if (conv_geom(&g, x, w, b, p) < 0)
        return NULL;
    int64_t shape[4] = {g.N, g.O, g.OH, g.OW};
    struct tensor *xc = tensor_contiguous(x), *wc = xc ? tensor_contiguous(w) : NULL;
    struct tensor *bc = wc && b ? tensor_contiguous(b) : NULL;
    struct tensor *y = wc && (bc || !b) ? tensor_new(DT_FLOAT32, 4, shape) : NULL;
    struct geom *ctx = y ? malloc(sizeof *ctx) : NULL;
    struct scratch s = {0};
    struct wino_shape ws = wino_shape_of(&g);
    if (!ctx || (!g.wino && scratch_get(&s, &g, !g.direct || g.nb > 1)) ||
        (g.wino && wino_forward(tensor_f32(y), tensor_f32(xc), tensor_f32(wc),
                                bc ? tensor_f32(bc) : NULL, &ws) < 0)) {
        if (y && !ctx)
            err_set("conv2d: out of memory");
        free(ctx);
        tensor_release(y);
        tensor_release(xc);
        tensor_release(wc);
        tensor_release(bc);
        return NULL;
    }
    *ctx = g;
    const float *xp = tensor_f32(xc), *wp = tensor_f32(wc), *bp = bc ? tensor_f32(bc) : NULL;
    float *yp = tensor_f32(y);
    int64_t ld = g.nb * g.P;
    bool stopped = false;
    for (int64_t n0 = 0; n0 < g.N && !g.wino; n0 += g.nb) {
        if ((stopped = core_interrupted())) /* between chunks of images */
            break;
        int64_t nb = g.N - n0 < g.nb ? g.N - n0 : g.nb, cols = nb * g.P;
        for (int64_t gr = 0; gr < g.G; gr++) {
            const float *colp = s.col, *wg = wp + gr * g.Og * g.K;
            int64_t ldc = ld;
            if (g.direct && g.nb == 1) {
                colp = xp + (n0 * g.C + gr * g.Cg) * g.P;
                ldc = g.P;
            } else {
                chunk_cols(s.col, (float *)xp, n0, nb, gr, &g, false);
            }
            if (g.nb == 1) { /* straight into y[n0, group's channels], bias rows first */
                float *yg = yp + (n0 * g.O + gr * g.Og) * g.P;
                if (bp)
                    PARALLEL_FOR(g.Og * g.P > PAR_MIN_ELEMS, o, g.Og, {
                        float v = bp[gr * g.Og + o], *row = yg + o * g.P;
                        for (int64_t q = 0; q < g.P; q++)
                            row[q] = v;
                    });
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Og, (int)cols,
                            (int)g.K, 1.0f, wg, (int)g.K, colp, (int)ldc, bp ? 1.0f : 0.0f, yg,
                            (int)g.P);
            } else { /* [Og, nb P] in the buffer, then scattered to [nb, Og, P] plus bias */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)g.Og, (int)cols,
                            (int)g.K, 1.0f, wg, (int)g.K, colp, (int)ldc, 0.0f, s.buf, (int)ld);
                const float *buf = s.buf;
                PARALLEL_FOR(nb * g.Og * g.P > PAR_MIN_ELEMS, t, nb * g.Og, {
                    int64_t i = t / g.Og, o = t % g.Og;
                    const float *src = buf + o * ld + i * g.P;
                    float *dst = yp + ((n0 + i) * g.O + gr * g.Og + o) * g.P;
                    float v = bp ? bp[gr * g.Og + o] : 0.0f;
                    _Pragma("omp simd") for (int64_t q = 0; q < g.P; q++) dst[q] = src[q] + v;
                });
            }
        }
    }
    scratch_put(&s);
    if (stopped) {
        err_set("conv2d: interrupted");
        free(ctx);
        tensor_release(y);
        tensor_release(xc);
        tensor_release(wc);
        tensor_release(bc);
        return NULL;
    }
    struct tensor *ins[3] = {x, w, b};
    struct ag_node *n = ag_record(&y, "Conv2dBackward", conv_backward, b ? 3 : 2, ins);
    if (n) {
        n->ctx = ctx;
        n->ctx_free = free;
        ag_save(n, xc);
        ag_save(n, wc);
    } else {
        free(ctx);
    }
    tensor_release(xc);
    tensor_release(wc);
    tensor_release(bc);
    return y;
}
