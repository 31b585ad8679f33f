/* crop_flip.c — per-sample crops (with padding) and horizontal flips of image batches, for
 * random_crop and random_hflip (each sample of a batch gets its own offset / coin, as when
 * torchvision transforms each image of a DataLoader batch). Both are differentiable: a crop's
 * gradient goes back to the pixels it read (padding gets none), a flip's is flipped back.
 *
 * x is [..., H, W] read as `nsamples` samples of equally many planes (a [N, C, H, W] batch:
 * N samples of C planes; a single [C, H, W] image: one sample). */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <stdlib.h>
#include <string.h>

struct planes {
    int64_t n, per_sample, h, w; /* planes in all, planes per sample, plane size */
};

static int planes_of(const char *op, const struct tensor *x, int64_t nsamples, struct planes *p)
{
    if (x->dtype != DT_FLOAT32)
        return err_set("%s: expected a float32 tensor, got %s", op, dtype_name(x->dtype));
    if (x->ndim < 2)
        return err_set("%s: expected an image [..., H, W], got %s", op, tshape(x));
    p->h = x->shape[x->ndim - 2];
    p->w = x->shape[x->ndim - 1];
    p->n = 1;
    for (int d = 0; d < x->ndim - 2; d++)
        p->n *= x->shape[d];
    if (nsamples < 1 || p->n % nsamples != 0)
        return err_set("%s: %s does not split into %lld samples", op, tshape(x),
                       (long long)nsamples);
    p->per_sample = p->n / nsamples;
    return 0;
}

/* ---- crop ---- */

struct crop_ctx {
    struct planes in;
    int64_t h, w;
    float fill;
    int64_t *top, *left; /* [nsamples] */
};

static void crop_ctx_free(void *p)
{
    struct crop_ctx *c = p;
    if (c) {
        free(c->top);
        free(c->left);
        free(c);
    }
}

/* out [P, h, w] from x [P, H, W] (forward), or gx [P, H, W] (zeroed) += g [P, h, w] (backward). */
static void crop_apply(const struct crop_ctx *c, float *dst, const float *src, bool backward)
{
    int64_t H = c->in.h, W = c->in.w, h = c->h, w = c->w;
    PARALLEL_FOR(c->in.n * h * w > PAR_MIN_ELEMS && c->in.n > 1, p, c->in.n, {
        int64_t s = p / c->in.per_sample, top = c->top[s], left = c->left[s];
        /* the columns of the window that fall inside the image */
        int64_t j0 = left < 0 ? -left : 0, j1 = W - left < w ? W - left : w;
        if (j0 > w)
            j0 = w;
        if (j1 < j0)
            j1 = j0;
        for (int64_t i = 0; i < h; i++) {
            int64_t si = top + i;
            bool row_in = si >= 0 && si < H;
            if (backward) {
                if (row_in && j1 > j0)
                    memcpy(dst + (p * H + si) * W + left + j0, src + (p * h + i) * w + j0,
                           sizeof(float) * (size_t)(j1 - j0));
                continue;
            }
            float *o = dst + (p * h + i) * w;
            if (!row_in) {
                for (int64_t j = 0; j < w; j++)
                    o[j] = c->fill;
                continue;
            }
            for (int64_t j = 0; j < j0; j++)
                o[j] = c->fill;
            if (j1 > j0)
                memcpy(o + j0, src + (p * H + si) * W + left + j0,
                       sizeof(float) * (size_t)(j1 - j0));
            for (int64_t j = j1; j < w; j++)
                o[j] = c->fill;
        }
    });
}

static int crop_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    const struct crop_ctx *c = n->ctx;
    struct tensor *gc = tensor_contiguous(g);
    gi[0] = gc ? tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (gi[0])
        crop_apply(c, tensor_f32(gi[0]), tensor_f32(gc), true);
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_crop(struct tensor *x, int64_t nsamples, const int64_t *top,
                       const int64_t *left, int64_t h, int64_t w, float fill)
{
    struct crop_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        err_set("crop: out of memory");
        return NULL;
    }
    struct tensor *xc = NULL, *out = NULL;
    if (planes_of("crop", x, nsamples, &c->in) < 0)
        goto fail;
    if (h < 1 || w < 1) {
        err_set("crop: the crop size must be positive, got %lldx%lld", (long long)h,
                (long long)w);
        goto fail;
    }
    c->h = h;
    c->w = w;
    c->fill = fill;
    c->top = malloc(sizeof(int64_t) * (size_t)nsamples);
    c->left = malloc(sizeof(int64_t) * (size_t)nsamples);
    if (!c->top || !c->left) {
        err_set("crop: out of memory");
        goto fail;
    }
    memcpy(c->top, top, sizeof(int64_t) * (size_t)nsamples);
    memcpy(c->left, left, sizeof(int64_t) * (size_t)nsamples);
    int64_t shape[TENSOR_MAXDIM];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    shape[x->ndim - 2] = h;
    shape[x->ndim - 1] = w;
    if (!(xc = tensor_contiguous(x)) || !(out = tensor_new(DT_FLOAT32, x->ndim, shape)))
        goto fail;
    crop_apply(c, tensor_f32(out), tensor_f32(xc), false);
    tensor_release(xc);
    struct ag_node *n = ag_record(&out, "CropBackward", crop_backward, 1, &x);
    if (n) {
        n->ctx = c;
        n->ctx_free = crop_ctx_free;
    } else {
        crop_ctx_free(c);
    }
    return out;
fail:
    tensor_release(xc);
    tensor_release(out);
    crop_ctx_free(c);
    return NULL;
}

/* ---- horizontal flip ---- */

struct flip_ctx {
    struct planes in;
    uint8_t *flip; /* [nsamples], or NULL: every sample */
};

static void flip_ctx_free(void *p)
{
    struct flip_ctx *c = p;
    if (c) {
        free(c->flip);
        free(c);
    }
}

/* dst = src with the rows of the flipped samples reversed (its own inverse). */
static void flip_apply(const struct flip_ctx *c, float *dst, const float *src)
{
    int64_t rows = c->in.n * c->in.h, w = c->in.w, rows_per_sample = c->in.per_sample * c->in.h;
    PARALLEL_FOR(rows * w > PAR_MIN_ELEMS && rows > 1, r, rows, {
        const float *s = src + r * w;
        float *o = dst + r * w;
        if (!c->flip || c->flip[r / rows_per_sample]) {
            for (int64_t j = 0; j < w; j++)
                o[j] = s[w - 1 - j];
        } else {
            memcpy(o, s, sizeof(float) * (size_t)w);
        }
    });
}

static int flip_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *gc = tensor_contiguous(g);
    gi[0] = gc ? tensor_new(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (gi[0])
        flip_apply(n->ctx, tensor_f32(gi[0]), tensor_f32(gc));
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_hflip(struct tensor *x, int64_t nsamples, const uint8_t *flip)
{
    struct flip_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        err_set("hflip: out of memory");
        return NULL;
    }
    struct tensor *xc = NULL, *out = NULL;
    if (planes_of("hflip", x, nsamples, &c->in) < 0)
        goto fail;
    if (flip) {
        if (!(c->flip = malloc((size_t)nsamples))) {
            err_set("hflip: out of memory");
            goto fail;
        }
        memcpy(c->flip, flip, (size_t)nsamples);
    }
    if (!(xc = tensor_contiguous(x)) || !(out = tensor_new(DT_FLOAT32, x->ndim, x->shape)))
        goto fail;
    flip_apply(c, tensor_f32(out), tensor_f32(xc));
    tensor_release(xc);
    struct ag_node *n = ag_record(&out, "FlipBackward", flip_backward, 1, &x);
    if (n) {
        n->ctx = c;
        n->ctx_free = flip_ctx_free;
    } else {
        flip_ctx_free(c);
    }
    return out;
fail:
    tensor_release(xc);
    tensor_release(out);
    flip_ctx_free(c);
    return NULL;
}
