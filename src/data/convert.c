/* convert.c — per-sample conversions of the dataset objects (data.h): RGB to gray, raw label
 * values to 1-based class labels, and keeping a subset of classes. Plain loops in C because
 * loupe's tensor math is float32-only and these work on uint8 and int64 data. */
#include "loupe/data.h"

#include "loupe/core.h"
#include "../strided.h"

#include <math.h>

struct tensor *ds_rgb_to_gray(const struct tensor *x)
{
    if (x->dtype != DT_UINT8 || x->ndim < 3 || x->shape[x->ndim - 3] != 3) {
        err_set("rgb_to_gray: expected uint8 RGB images [..., 3, H, W], got %s %s",
                dtype_name(x->dtype), tshape(x));
        return NULL;
    }
    struct tensor *c = tensor_contiguous((struct tensor *)x);
    if (!c)
        return NULL;
    int64_t shape[TENSOR_MAXDIM];
    for (int d = 0; d < x->ndim; d++)
        shape[d] = x->shape[d];
    shape[x->ndim - 3] = 1;
    struct tensor *out = tensor_new(DT_FLOAT32, x->ndim, shape);
    if (!out) {
        tensor_release(c);
        return NULL;
    }
    /* torchvision: to_tensor gives v / 255 in float32; rgb_to_grayscale computes
     * (0.2989 * r + 0.587 * g + 0.114 * b) in float32, products first, summed left to right.
     * The tables hold those exact products (the build does not contract to FMA: -std=c11). */
    float lr[256], lg[256], lb[256];
    for (int v = 0; v < 256; v++) {
        float f = (float)v / 255.0f;
        lr[v] = 0.2989f * f;
        lg[v] = 0.587f * f;
        lb[v] = 0.114f * f;
    }
    int64_t hw = x->shape[x->ndim - 2] * x->shape[x->ndim - 1];
    int64_t images = hw ? tensor_numel(out) / hw : 0;
    const uint8_t *in = tensor_u8(c);
    float *o = tensor_f32(out);
    PARALLEL_FOR(images * hw > PAR_MIN_ELEMS && images > 1, i, images, {
        const uint8_t *r = in + i * 3 * hw, *g = r + hw, *b = g + hw;
        float *dst = o + i * hw;
        for (int64_t k = 0; k < hw; k++)
            dst[k] = lr[r[k]] + lg[g[k]] + lb[b[k]];
    });
    tensor_release(c);
    return out;
}

/* Element i of a contiguous tensor as a double. */
static double value_at(const struct tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_FLOAT32: return tensor_f32(t)[i];
    case DT_INT64: return (double)tensor_i64(t)[i];
    case DT_UINT8: return tensor_u8(t)[i];
    }
    return 0;
}

struct tensor *ds_to_labels(const struct tensor *t, double offset, int64_t num_classes,
                            const char *what)
{
    int64_t n = tensor_numel(t);
    bool vector = t->ndim == 1 || (t->ndim == 2 && (t->shape[0] == 1 || t->shape[1] == 1));
    if (!vector) {
        err_set("%s: expected a vector of labels, got %s", what, tshape(t));
        return NULL;
    }
    struct tensor *c = tensor_contiguous((struct tensor *)t);
    int64_t shape[1] = {n};
    struct tensor *y = c ? tensor_new(DT_INT64, 1, shape) : NULL;
    if (!y) {
        tensor_release(c);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        double v = value_at(c, i), l = v + offset;
        if (!(l >= 1 && l <= (double)num_classes && l == floor(l))) {
            err_set("%s: entry %lld is %g, expected an integer in %g..%g", what,
                    (long long)i + 1, v, 1 - offset, (double)num_classes - offset);
            tensor_release(c);
            tensor_release(y);
            return NULL;
        }
        tensor_i64(y)[i] = (int64_t)l;
    }
    tensor_release(c);
    return y;
}

int ds_select_labels(const struct tensor *labels, int k, const int64_t *keep,
                     struct tensor **idx, struct tensor **y)
{
    *idx = *y = NULL;
    if (labels->dtype != DT_INT64 || labels->ndim != 1)
        return err_set("select_labels: expected int64 labels [N], got %s %s",
                       dtype_name(labels->dtype), tshape(labels));
    struct tensor *c = tensor_contiguous((struct tensor *)labels);
    if (!c)
        return -1;
    const int64_t *l = tensor_i64(c);
    int64_t n = c->shape[0], m = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            if (l[i] == keep[j]) {
                m++;
                break;
            }
    int64_t shape[1] = {m};
    *idx = tensor_new(DT_INT64, 1, shape);
    *y = *idx ? tensor_new(DT_INT64, 1, shape) : NULL;
    if (!*y) {
        tensor_release(c);
        tensor_release(*idx);
        *idx = NULL;
        return -1;
    }
    int64_t *pi = tensor_i64(*idx), *py = tensor_i64(*y), o = 0;
    for (int64_t i = 0; i < n; i++)
        for (int j = 0; j < k; j++)
            if (l[i] == keep[j]) {
                pi[o] = i + 1;
                py[o++] = j + 1;
                break;
            }
    tensor_release(c);
    return 0;
}
