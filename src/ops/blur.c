/* blur.c — Gaussian blur as torchvision's F.gaussian_blur on float tensors (0.14): a kx x ky
 * kernel (x = width) from _get_gaussian_kernel1d (pdf = exp(-0.5 (x / sigma)^2) at
 * x = -(k-1)/2 .. (k-1)/2, normalised to sum 1, in float32 as PyTorch computes it), reflect
 * padding of kx/2 columns and ky/2 rows (the edge pixel is not repeated), and the 2-D
 * convolution, here done separably (rows, then columns; PyTorch convolves with the outer
 * product, which differs by float32 rounding). Differentiable w.r.t. the image
 * ("GaussianBlurBackward": the transposed passes, with the reflected taps folded back). */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KMAX 1025 /* largest kernel side; far beyond any image padding allows anyway */

struct blur_ctx {
    int64_t planes, h, w, kx, ky;
    float wx[KMAX], wy[KMAX];
};

static void kernel1d(float *k, int64_t n, double sigma)
{
    float half = (float)((double)(n - 1) * 0.5), sum = 0.0f, s = (float)sigma;
    for (int64_t i = 0; i < n; i++) {
        float x = (float)i - half, t = x / s;
        k[i] = expf(-0.5f * (t * t));
        sum += k[i];
    }
    for (int64_t i = 0; i < n; i++)
        k[i] /= sum;
}

/* reflect an index in [-(n-1), 2n-2] into [0, n) */
static inline int64_t reflect(int64_t i, int64_t n)
{
    return i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
}

/* The outputs j whose tap j + off lies inside [0, n): [inner_lo, inner_hi). */
static inline int64_t inner_lo(int64_t off) { return off < 0 ? -off : 0; }
static inline int64_t inner_hi(int64_t off, int64_t n) { return off > 0 ? n - off : n; }

/* Forward: out [P, H, W] = columns(rows(x)), tmp [P, H, W] scratch. */
static void blur_forward(const struct blur_ctx *c, float *out, float *tmp, const float *x)
{
    int64_t H = c->h, W = c->w, kx = c->kx, ky = c->ky, hx = kx / 2, hy = ky / 2;
    int64_t rows = c->planes * H;
    PARALLEL_FOR(rows * W * kx > PAR_MIN_ELEMS && rows > 1, r, rows, {
        const float *xr = x + r * W;
        float *o = tmp + r * W;
        memset(o, 0, sizeof(float) * (size_t)W);
        for (int64_t t = 0; t < kx; t++) {
            float wt = c->wx[t];
            int64_t off = t - hx, j0 = inner_lo(off), j1 = inner_hi(off, W);
            _Pragma("omp simd") for (int64_t j = j0; j < j1; j++)
                o[j] += wt * xr[j + off];
            for (int64_t j = 0; j < j0; j++)
                o[j] += wt * xr[reflect(j + off, W)];
            for (int64_t j = j1; j < W; j++)
                o[j] += wt * xr[reflect(j + off, W)];
        }
    });
    PARALLEL_FOR(rows * W * ky > PAR_MIN_ELEMS && rows > 1, r, rows, {
        int64_t p = r / H, i = r % H;
        float *o = out + r * W;
        memset(o, 0, sizeof(float) * (size_t)W);
        for (int64_t t = 0; t < ky; t++) {
            float wt = c->wy[t];
            const float *src = tmp + (p * H + reflect(i + t - hy, H)) * W;
            _Pragma("omp simd") for (int64_t j = 0; j < W; j++)
                o[j] += wt * src[j];
        }
    });
}

/* Backward: gx = rows^T(columns^T(g)), tmp scratch. One plane per task in the column pass
 * (reflected rows scatter into the plane's rows), one row per task in the row pass. */
static void blur_backward_apply(const struct blur_ctx *c, float *gx, float *tmp, const float *g)
{
    int64_t H = c->h, W = c->w, kx = c->kx, ky = c->ky, hx = kx / 2, hy = ky / 2;
    int64_t rows = c->planes * H;
    PARALLEL_FOR(rows * W * ky > PAR_MIN_ELEMS && c->planes > 1, p, c->planes, {
        float *tp = tmp + p * H * W;
        memset(tp, 0, sizeof(float) * (size_t)(H * W));
        for (int64_t i = 0; i < H; i++) {
            const float *gr = g + (p * H + i) * W;
            for (int64_t t = 0; t < ky; t++) {
                float wt = c->wy[t];
                float *dst = tp + reflect(i + t - hy, H) * W;
                _Pragma("omp simd") for (int64_t j = 0; j < W; j++)
                    dst[j] += wt * gr[j];
            }
        }
    });
    PARALLEL_FOR(rows * W * kx > PAR_MIN_ELEMS && rows > 1, r, rows, {
        const float *tr = tmp + r * W;
        float *o = gx + r * W;
        memset(o, 0, sizeof(float) * (size_t)W);
        for (int64_t t = 0; t < kx; t++) {
            float wt = c->wx[t];
            int64_t off = t - hx, j0 = inner_lo(off), j1 = inner_hi(off, W);
            _Pragma("omp simd") for (int64_t j = j0; j < j1; j++)
                o[j + off] += wt * tr[j];
            for (int64_t j = 0; j < j0; j++) /* reflected taps, folded back */
                o[reflect(j + off, W)] += wt * tr[j];
            for (int64_t j = j1; j < W; j++)
                o[reflect(j + off, W)] += wt * tr[j];
        }
    });
}

static int blur_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    const struct blur_ctx *c = n->ctx;
    struct tensor *gc = tensor_contiguous(g);
    struct tensor *tmp = gc ? tensor_new(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    gi[0] = tmp ? tensor_new(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (gi[0])
        blur_backward_apply(c, tensor_f32(gi[0]), tensor_f32(tmp), tensor_f32(gc));
    tensor_release(tmp);
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_gaussian_blur(struct tensor *x, int64_t kx, int64_t ky, double sigma_x,
                                double sigma_y)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("gaussian_blur: expected a float32 tensor, got %s", dtype_name(x->dtype));
        return NULL;
    }
    if (x->ndim < 2) {
        err_set("gaussian_blur: expected an image [..., H, W], got %s", tshape(x));
        return NULL;
    }
    if (kx < 1 || ky < 1 || kx % 2 == 0 || ky % 2 == 0 || kx > KMAX || ky > KMAX) {
        err_set("gaussian_blur: kernel_size must be odd and positive, got %lldx%lld",
                (long long)kx, (long long)ky);
        return NULL;
    }
    if (!(sigma_x > 0.0) || !(sigma_y > 0.0)) {
        err_set("gaussian_blur: sigma must be positive, got %g, %g", sigma_x, sigma_y);
        return NULL;
    }
    int64_t h = x->shape[x->ndim - 2], w = x->shape[x->ndim - 1];
    if (kx / 2 >= w || ky / 2 >= h) {
        err_set("gaussian_blur: kernel %lldx%lld needs reflect padding %lld, %lld, which must "
                "be smaller than the image %s", (long long)kx, (long long)ky,
                (long long)(kx / 2), (long long)(ky / 2), tshape(x));
        return NULL;
    }
    struct blur_ctx *c = malloc(sizeof *c);
    if (!c) {
        err_set("gaussian_blur: out of memory");
        return NULL;
    }
    c->h = h;
    c->w = w;
    c->kx = kx;
    c->ky = ky;
    c->planes = h > 0 && w > 0 ? tensor_numel(x) / (h * w) : 0;
    kernel1d(c->wx, kx, sigma_x);
    kernel1d(c->wy, ky, sigma_y);
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *tmp = xc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    struct tensor *out = tmp ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (out)
        blur_forward(c, tensor_f32(out), tensor_f32(tmp), tensor_f32(xc));
    tensor_release(tmp);
    tensor_release(xc);
    if (!out) {
        free(c);
        return NULL;
    }
    struct ag_node *n = ag_record(&out, "GaussianBlurBackward", blur_backward, 1, &x);
    if (n) {
        n->ctx = c;
        n->ctx_free = free;
    } else {
        free(c);
    }
    return out;
}
