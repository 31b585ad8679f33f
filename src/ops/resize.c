/* resize.c — bilinear resizing with or without PIL's antialiasing (see transforms.h).
 *
 * Each axis gets a small table: for every output position its first input tap, its number of
 * taps and their weights (rows of k, zero-padded). The forward pass applies the W table to every row, then the
 * H table to every plane (a weighted sum of whole rows, which vectorises); the backward pass
 * applies the transposed tables in the reverse order. The weights are computed in double and
 * stored in float32 (PyTorch computes them in float32; the difference is within rounding). */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct axis {
    int64_t in, out, k;
    int64_t *start, *count; /* [out] first input tap, number of taps (<= k) */
    float *w;               /* [out, k] */
};

static void axis_free(struct axis *a)
{
    free(a->start);
    free(a->count);
    free(a->w);
    a->start = a->count = NULL;
    a->w = NULL;
}

static double triangle(double x)
{
    x = fabs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* Fills *a for resizing in -> out. Returns 0, or -1 with err_set. */
static int axis_init(struct axis *a, int64_t in, int64_t out, bool antialias)
{
    double scale = (double)in / (double)out;
    double fscale = antialias && scale > 1.0 ? scale : 1.0; /* the filter's stretch */
    double support = 1.0 * fscale;
    a->in = in;
    a->out = out;
    a->k = antialias ? (int64_t)ceil(support) * 2 + 1 : 2;
    a->start = malloc(sizeof *a->start * (size_t)out);
    a->count = malloc(sizeof *a->count * (size_t)out);
    a->w = calloc((size_t)(out * a->k), sizeof *a->w);
    if (!a->start || !a->count || !a->w) {
        axis_free(a);
        return err_set("resize: out of memory for the weights of %lld -> %lld",
                       (long long)in, (long long)out);
    }
    for (int64_t i = 0; i < out; i++) {
        float *w = a->w + i * a->k;
        if (!antialias) {
            double src = fmax((i + 0.5) * scale - 0.5, 0.0);
            int64_t i0 = (int64_t)src;
            if (i0 > in - 1)
                i0 = in - 1;
            double l1 = src - (double)i0;
            a->start[i] = i0;
            if (i0 < in - 1) {
                w[0] = (float)(1.0 - l1);
                w[1] = (float)l1;
                a->count[i] = 2;
            } else {
                w[0] = 1.0f; /* both taps on the last pixel */
                a->count[i] = 1;
            }
            continue;
        }
        double center = (i + 0.5) * scale;
        int64_t lo = (int64_t)(center - support + 0.5), hi = (int64_t)(center + support + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        double total = 0.0;
        for (int64_t j = lo; j < hi; j++)
            total += triangle(((double)j - center + 0.5) / fscale);
        if (total == 0.0)
            total = 1.0;
        a->start[i] = lo;
        a->count[i] = hi - lo;
        for (int64_t j = lo; j < hi; j++)
            w[j - lo] = (float)(triangle(((double)j - center + 0.5) / fscale) / total);
    }
    return 0;
}

/* y [rows, a->out] = x [rows, a->in] resampled along the last dimension. */
static void pass_w(float *y, const float *x, int64_t rows, const struct axis *a)
{
    PARALLEL_FOR(rows * a->out * a->k > PAR_MIN_ELEMS && rows > 1, r, rows, {
        const float *xr = x + r * a->in;
        float *yr = y + r * a->out;
        for (int64_t o = 0; o < a->out; o++) {
            const float *w = a->w + o * a->k, *xs = xr + a->start[o];
            int64_t n = a->count[o];
            float s = 0.0f;
            for (int64_t j = 0; j < n; j++)
                s += w[j] * xs[j];
            yr[o] = s;
        }
    });
}

/* y [planes, a->out, wdt] = x [planes, a->in, wdt] resampled along the middle dimension. */
static void pass_h(float *y, const float *x, int64_t planes, int64_t wdt, const struct axis *a)
{
    int64_t n_rows = planes * a->out;
    PARALLEL_FOR(n_rows * wdt * a->k > PAR_MIN_ELEMS && n_rows > 1, t, n_rows, {
        int64_t p = t / a->out, o = t % a->out;
        const float *w = a->w + o * a->k, *xs = x + (p * a->in + a->start[o]) * wdt;
        float *yr = y + t * wdt;
        int64_t n = a->count[o];
        memset(yr, 0, sizeof(float) * (size_t)wdt);
        for (int64_t j = 0; j < n; j++) {
            float wj = w[j];
            const float *xj = xs + j * wdt;
            _Pragma("omp simd") for (int64_t c = 0; c < wdt; c++)
                yr[c] += wj * xj[c];
        }
    });
}

/* Transpose of pass_w: gx [rows, a->in] = W^T applied to g [rows, a->out]. */
static void pass_w_t(float *gx, const float *g, int64_t rows, const struct axis *a)
{
    PARALLEL_FOR(rows * a->out * a->k > PAR_MIN_ELEMS && rows > 1, r, rows, {
        const float *gr = g + r * a->out;
        float *xr = gx + r * a->in;
        memset(xr, 0, sizeof(float) * (size_t)a->in);
        for (int64_t o = 0; o < a->out; o++) {
            const float *w = a->w + o * a->k;
            float *xs = xr + a->start[o];
            int64_t n = a->count[o];
            for (int64_t j = 0; j < n; j++)
                xs[j] += w[j] * gr[o];
        }
    });
}

/* Transpose of pass_h, one plane per task (outputs of a plane scatter into shared rows). */
static void pass_h_t(float *gx, const float *g, int64_t planes, int64_t wdt,
                     const struct axis *a)
{
    PARALLEL_FOR(planes * a->out * wdt * a->k > PAR_MIN_ELEMS && planes > 1, p, planes, {
        float *xp = gx + p * a->in * wdt;
        memset(xp, 0, sizeof(float) * (size_t)(a->in * wdt));
        for (int64_t o = 0; o < a->out; o++) {
            const float *w = a->w + o * a->k, *gr = g + (p * a->out + o) * wdt;
            int64_t n = a->count[o];
            for (int64_t j = 0; j < n; j++) {
                float wj = w[j];
                float *xj = xp + (a->start[o] + j) * wdt;
                _Pragma("omp simd") for (int64_t c = 0; c < wdt; c++)
                    xj[c] += wj * gr[c];
            }
        }
    });
}

/* The two passes over contiguous src, `planes` planes of h x w -> oh x ow (the result has
 * shape_out), or their transposes (src oh x ow -> h x w) when `transpose`. Returns a new
 * tensor, or NULL with err_set. */
static struct tensor *resample(const struct tensor *src, int ndim, const int64_t *shape_out,
                               int64_t planes, int64_t h, int64_t w, int64_t oh, int64_t ow,
                               bool antialias, bool transpose)
{
    struct axis ah = {0}, aw = {0};
    struct tensor *out = NULL, *tmp = NULL;
    bool do_w = w != ow, do_h = h != oh;
    /* the result first: tensor_new checks its size, which bounds the weight tables below (an
     * absurd size such as 2^62 would overflow their byte counts); an empty result, whose other
     * sizes may be anything, needs no tables */
    out = tensor_new(DT_FLOAT32, ndim, shape_out);
    if (!out || tensor_numel(out) == 0)
        goto done;
    if ((do_w && axis_init(&aw, w, ow, antialias) < 0) ||
        (do_h && axis_init(&ah, h, oh, antialias) < 0))
        goto fail;
    const float *s = tensor_f32(src);
    float *d = tensor_f32(out);
    if (!transpose) { /* [P, h, w] -W-> [P, h, ow] -H-> [P, oh, ow] */
        if (do_w && do_h) {
            int64_t ts[3] = {planes, h, ow};
            if (!(tmp = tensor_new(DT_FLOAT32, 3, ts)))
                goto fail;
            pass_w(tensor_f32(tmp), s, planes * h, &aw);
            pass_h(d, tensor_f32(tmp), planes, ow, &ah);
        } else if (do_w) {
            pass_w(d, s, planes * h, &aw);
        } else if (do_h) {
            pass_h(d, s, planes, w, &ah);
        } else {
            memcpy(d, s, sizeof(float) * (size_t)(planes * h * w));
        }
    } else { /* g [P, oh, ow] -H^T-> [P, h, ow] -W^T-> [P, h, w] */
        if (do_w && do_h) {
            int64_t ts[3] = {planes, h, ow};
            if (!(tmp = tensor_new(DT_FLOAT32, 3, ts)))
                goto fail;
            pass_h_t(tensor_f32(tmp), s, planes, ow, &ah);
            pass_w_t(d, tensor_f32(tmp), planes * h, &aw);
        } else if (do_w) {
            pass_w_t(d, s, planes * h, &aw);
        } else if (do_h) {
            pass_h_t(d, s, planes, w, &ah);
        } else {
            memcpy(d, s, sizeof(float) * (size_t)(planes * h * w));
        }
    }
    goto done;
fail:
    tensor_release(out);
    out = NULL;
done:
    tensor_release(tmp);
    axis_free(&ah);
    axis_free(&aw);
    return out;
}

/* iarg: h, w, oh, ow, antialias */
static int resize_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    int64_t h = n->iarg[0], w = n->iarg[1], oh = n->iarg[2], ow = n->iarg[3];
    int nd = n->in[0].ndim;
    int64_t planes = 1;
    for (int d = 0; d < nd - 2; d++)
        planes *= n->in[0].shape[d];
    struct tensor *gc = tensor_contiguous(g);
    if (!gc)
        return -1;
    gi[0] = resample(gc, nd, n->in[0].shape, planes, h, w, oh, ow, n->iarg[4] != 0, true);
    tensor_release(gc);
    return gi[0] ? 0 : -1;
}

struct tensor *op_resize(struct tensor *x, int64_t oh, int64_t ow, bool antialias)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("resize: expected a float32 tensor, got %s (convert with :float())",
                dtype_name(x->dtype));
        return NULL;
    }
    if (x->ndim < 2) {
        err_set("resize: expected an image [..., H, W], got %s", tshape(x));
        return NULL;
    }
    int nd = x->ndim;
    int64_t h = x->shape[nd - 2], w = x->shape[nd - 1];
    if (h < 1 || w < 1 || oh < 1 || ow < 1) {
        err_set("resize: cannot resize %s to %lldx%lld", tshape(x), (long long)oh,
                (long long)ow);
        return NULL;
    }
    int64_t shape[TENSOR_MAXDIM], planes = 1;
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)nd);
    shape[nd - 2] = oh;
    shape[nd - 1] = ow;
    for (int d = 0; d < nd - 2; d++)
        planes *= x->shape[d];
    struct tensor *xc = tensor_contiguous(x);
    if (!xc)
        return NULL;
    struct tensor *out = resample(xc, nd, shape, planes, h, w, oh, ow, antialias, false);
    tensor_release(xc);
    struct ag_node *n = out ? ag_record(&out, "ResizeBackward", resize_backward, 1, &x) : NULL;
    if (n) {
        n->iarg[0] = h;
        n->iarg[1] = w;
        n->iarg[2] = oh;
        n->iarg[3] = ow;
        n->iarg[4] = antialias;
    }
    return out;
}
