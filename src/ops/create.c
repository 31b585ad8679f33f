/* create.c — constant tensors (full, arange, linspace, eye) and whole-tensor comparisons. */
#include "loupe/core.h"
#include "loupe/ops.h"

#include <math.h>

struct tensor *op_full(int ndim, const int64_t *shape, double v, enum dtype dt)
{
    struct tensor *t = tensor_new(dt, ndim, shape);
    if (t && tensor_fill(t, v) < 0) {
        tensor_release(t);
        return NULL;
    }
    return t;
}

struct tensor *op_arange(double start, double end, double step, enum dtype dt)
{
    if (step == 0 || !isfinite(start) || !isfinite(end) || !isfinite(step)) {
        err_set("arange: invalid range start=%g end=%g step=%g", start, end, step);
        return NULL;
    }
    if ((end - start) / step < 0) {
        err_set("arange: step %g goes the wrong way from %g to %g", step, start, end);
        return NULL;
    }
    double count = ceil((end - start) / step);
    if (count > 1e15) {
        err_set("arange: %g elements requested", count);
        return NULL;
    }
    int64_t n = (int64_t)count;
    struct tensor *t = tensor_new(dt, 1, &n);
    if (!t)
        return NULL;
    for (int64_t i = 0; i < n; i++) {
        double v = start + (double)i * step;
        if (dt == DT_FLOAT32)
            tensor_f32(t)[i] = (float)v;
        else if (dt == DT_INT64)
            tensor_i64(t)[i] = (int64_t)v;
        else
            tensor_u8(t)[i] = (uint8_t)(int64_t)v;
    }
    return t;
}

/* Like torch.linspace: the first half counts up from start, the second half down from end,
 * so both ends are exact. */
struct tensor *op_linspace(double start, double end, int64_t steps)
{
    if (steps < 0) {
        err_set("linspace: number of steps must be non-negative, got %lld", (long long)steps);
        return NULL;
    }
    struct tensor *t = tensor_new(DT_FLOAT32, 1, &steps);
    if (!t)
        return NULL;
    float *o = tensor_f32(t);
    if (steps == 1) {
        o[0] = (float)start;
        return t;
    }
    double step = (end - start) / (double)(steps - 1);
    int64_t half = steps / 2;
    for (int64_t i = 0; i < steps; i++)
        o[i] = (float)(i < half ? start + step * (double)i : end - step * (double)(steps - 1 - i));
    return t;
}

struct tensor *op_eye(int64_t n, int64_t m)
{
    int64_t shape[2] = {n, m};
    struct tensor *t = tensor_zeros(DT_FLOAT32, 2, shape);
    if (!t)
        return NULL;
    for (int64_t i = 0; i < n && i < m; i++)
        tensor_f32(t)[i * m + i] = 1.0f;
    return t;
}

bool op_equal(const struct tensor *a, const struct tensor *b)
{
    if (!tensor_same_shape(a, b))
        return false;
    for (int64_t i = 0, n = tensor_numel(a); i < n; i++)
        if (tensor_get_flat(a, i) != tensor_get_flat(b, i))
            return false;
    return true;
}

int op_allclose(struct tensor *a, struct tensor *b, double rtol, double atol)
{
    int64_t shape[TENSOR_MAXDIM];
    int nd = shape_broadcast("allclose", a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0)
        return -1;
    struct tensor *ae = op_expand(a, nd, shape), *be = ae ? op_expand(b, nd, shape) : NULL;
    int rc = be ? 1 : -1;
    for (int64_t i = 0, n = be ? tensor_numel(ae) : 0; i < n && rc == 1; i++) {
        double x = tensor_get_flat(ae, i), y = tensor_get_flat(be, i);
        if (x == y)
            continue;
        if (!(fabs(x - y) <= atol + rtol * fabs(y)))
            rc = 0;
    }
    tensor_release(ae);
    tensor_release(be);
    return rc;
}
