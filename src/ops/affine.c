/* affine.c — affine warps of image batches as torchvision's F.affine on tensors (0.14): the
 * output pixel (i, j) reads the input at the inverse matrix's image of its centred
 * coordinates, sampled like grid_sample(align_corners=False, padding_mode="zeros"), and then
 * torchvision's fill step: a channel of ones is warped along as a mask m, and
 *   bilinear: out = warped * m + (1 - m) * fill    (so border pixels are attenuated by m)
 *   nearest:  out = warped where m >= 0.5, else fill
 * Differentiable w.r.t. the image ("AffineBackward": each output's gradient goes back to the
 * taps it read, with their weights times m).
 *
 * Coordinates (torchvision's _gen_affine_grid followed by grid_sample's unnormalisation):
 *   x = j - W/2 + 0.5, y = i - H/2 + 0.5;  ix = m0 x + m1 y + m2 + (W-1)/2,
 *   iy = m3 x + m4 y + m5 + (H-1)/2  (input pixel coordinates).
 * They are computed in double (PyTorch: float32), which moves results by float32 rounding. */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct affine_ctx {
    int64_t nplanes, nsamples, per_sample, h, w;
    int64_t nmat;       /* 1 (every sample) or nsamples */
    double *mat;        /* [nmat, 6] */
    float *fill;        /* [per_sample] */
    enum interp mode;
};

static void ctx_free(void *p)
{
    struct affine_ctx *c = p;
    if (c) {
        free(c->mat);
        free(c->fill);
        free(c);
    }
}

/* The taps of output pixel (i, j) under matrix m: up to 4 offsets into a plane and weights,
 * and the mask value. */
struct taps {
    int n;
    int64_t off[4];
    float w[4];
    float m;
};

static inline void taps_at(const struct affine_ctx *c, const double *m, int64_t i, int64_t j,
                           struct taps *t)
{
    int64_t H = c->h, W = c->w;
    double x = (double)j - 0.5 * (double)W + 0.5, y = (double)i - 0.5 * (double)H + 0.5;
    float ix = (float)(m[0] * x + m[1] * y + m[2] + 0.5 * (double)(W - 1));
    float iy = (float)(m[3] * x + m[4] * y + m[5] + 0.5 * (double)(H - 1));
    t->n = 0;
    t->m = 0.0f;
    if (!(ix > -2.0f && ix < (float)W + 1.0f && iy > -2.0f && iy < (float)H + 1.0f))
        return; /* far outside (or NaN): no tap, and no int overflow below */
    if (c->mode == INTERP_NEAREST) {
        int64_t xn = (int64_t)nearbyintf(ix), yn = (int64_t)nearbyintf(iy);
        if (xn >= 0 && xn < W && yn >= 0 && yn < H) {
            t->off[0] = yn * W + xn;
            t->w[0] = 1.0f;
            t->n = 1;
            t->m = 1.0f;
        }
        return;
    }
    float fx0 = floorf(ix), fy0 = floorf(iy);
    int64_t x0 = (int64_t)fx0, y0 = (int64_t)fy0;
    float ax = ix - fx0, ay = iy - fy0;
    /* grid_sample's weights: nw = (x1 - ix)(y1 - iy), ne = (ix - x0)(y1 - iy), ... */
    float wx[2] = {1.0f - ax, ax}, wy[2] = {1.0f - ay, ay};
    for (int dy = 0; dy < 2; dy++)
        for (int dx = 0; dx < 2; dx++) {
            int64_t xx = x0 + dx, yy = y0 + dy;
            if (xx < 0 || xx >= W || yy < 0 || yy >= H)
                continue;
            float wt = wx[dx] * wy[dy];
            t->off[t->n] = yy * W + xx;
            t->w[t->n++] = wt;
            t->m += wt;
        }
}

static void affine_forward(const struct affine_ctx *c, float *out, const float *x)
{
    int64_t H = c->h, W = c->w, nsamples = c->nsamples, hw = H * W;
    bool nearest = c->mode == INTERP_NEAREST;
    PARALLEL_FOR(c->nplanes * hw > PAR_MIN_ELEMS / 4 && nsamples * H > 1, task, nsamples * H, {
        int64_t s = task / H, i = task % H;
        const double *m = c->mat + (c->nmat == 1 ? 0 : s * 6);
        for (int64_t j = 0; j < W; j++) {
            struct taps t;
            taps_at(c, m, i, j, &t);
            for (int64_t p = 0; p < c->per_sample; p++) {
                const float *xp = x + (s * c->per_sample + p) * hw;
                float v = 0.0f;
                for (int k = 0; k < t.n; k++)
                    v += t.w[k] * xp[t.off[k]];
                float f = c->fill[p];
                out[(s * c->per_sample + p) * hw + i * W + j] =
                    nearest ? (t.m >= 0.5f ? v : f) : v * t.m + (1.0f - t.m) * f;
            }
        }
    });
}

/* gx [planes, H, W] (zeroed) += the transpose of the warp applied to g. One plane per task:
 * outputs of a plane scatter into shared input pixels. */
static void affine_backward_apply(const struct affine_ctx *c, float *gx, const float *g)
{
    int64_t H = c->h, W = c->w, hw = H * W;
    PARALLEL_FOR(c->nplanes * hw > PAR_MIN_ELEMS / 4 && c->nplanes > 1, p, c->nplanes, {
        int64_t s = p / c->per_sample;
        const double *m = c->mat + (c->nmat == 1 ? 0 : s * 6);
        float *gp = gx + p * hw;
        const float *go = g + p * hw;
        for (int64_t i = 0; i < H; i++)
            for (int64_t j = 0; j < W; j++) {
                struct taps t;
                taps_at(c, m, i, j, &t);
                float gv = go[i * W + j] * (c->mode == INTERP_NEAREST ? 1.0f : t.m);
                for (int k = 0; k < t.n; k++)
                    gp[t.off[k]] += t.w[k] * gv;
            }
    });
}

static int affine_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *gc = tensor_contiguous(g);
    gi[0] = gc ? tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (gi[0])
        affine_backward_apply(n->ctx, tensor_f32(gi[0]), tensor_f32(gc));
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_affine(struct tensor *x, int64_t nsamples, int64_t nmat, const double *matrix,
                         const float *fill, enum interp mode)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("affine: expected a float32 tensor, got %s", dtype_name(x->dtype));
        return NULL;
    }
    if (x->ndim < 2) {
        err_set("affine: expected an image [..., H, W], got %s", tshape(x));
        return NULL;
    }
    struct affine_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        err_set("affine: out of memory");
        return NULL;
    }
    struct tensor *xc = NULL, *out = NULL;
    c->h = x->shape[x->ndim - 2];
    c->w = x->shape[x->ndim - 1];
    c->nplanes = 1;
    for (int d = 0; d < x->ndim - 2; d++)
        c->nplanes *= x->shape[d];
    if (nsamples < 1 || c->nplanes % nsamples != 0 || (nmat != 1 && nmat != nsamples)) {
        err_set("affine: %s with %lld samples and %lld matrices", tshape(x),
                (long long)nsamples, (long long)nmat);
        goto fail;
    }
    c->nsamples = nsamples;
    c->per_sample = c->nplanes / nsamples;
    c->nmat = nmat;
    c->mode = mode;
    c->mat = malloc(sizeof(double) * 6 * (size_t)nmat);
    c->fill = malloc(sizeof(float) * (size_t)(c->per_sample ? c->per_sample : 1));
    if (!c->mat || !c->fill) {
        err_set("affine: out of memory");
        goto fail;
    }
    memcpy(c->mat, matrix, sizeof(double) * 6 * (size_t)nmat);
    memcpy(c->fill, fill, sizeof(float) * (size_t)c->per_sample);
    if (!(xc = tensor_contiguous(x)) || !(out = tensor_new(DT_FLOAT32, x->ndim, x->shape)))
        goto fail;
    affine_forward(c, tensor_f32(out), tensor_f32(xc));
    tensor_release(xc);
    struct ag_node *n = ag_record(&out, "AffineBackward", affine_backward, 1, &x);
    if (n) {
        n->ctx = c;
        n->ctx_free = ctx_free;
    } else {
        ctx_free(c);
    }
    return out;
fail:
    tensor_release(xc);
    tensor_release(out);
    ctx_free(c);
    return NULL;
}
