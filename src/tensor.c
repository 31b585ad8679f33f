/* tensor.c — storages, tensor headers, views, copies and dtype conversion. */
#include "loupe/tensor.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "strided.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORAGE_HEADER 64 /* header padded so the data that follows stays 64-byte aligned */

size_t dtype_size(enum dtype dt)
{
    switch (dt) {
    case DT_FLOAT32: return 4;
    case DT_INT64: return 8;
    case DT_UINT8: return 1;
    }
    return 1;
}

const char *dtype_name(enum dtype dt)
{
    switch (dt) {
    case DT_FLOAT32: return "float32";
    case DT_INT64: return "int64";
    case DT_UINT8: return "uint8";
    }
    return "?";
}

const char *shape_str(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int d = 0; d < ndim && k < n; d++)
        k += (size_t)snprintf(buf + k, n - k, d ? ",%lld" : "%lld", (long long)shape[d]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

const char *shape_fmt(int ndim, const int64_t *shape)
{
    static _Thread_local char bufs[4][SHAPE_STR_MAX];
    static _Thread_local int next;
    char *b = bufs[next++ & 3];
    return shape_str(b, SHAPE_STR_MAX, ndim, shape);
}

const char *tshape(const struct tensor *t) { return shape_fmt(t->ndim, t->shape); }

int64_t contiguous_strides(int ndim, const int64_t *shape, int64_t *stride)
{
    int64_t n = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        stride[d] = n;
        n *= shape[d];
    }
    return n;
}

int dim_wrap(const char *op, int dim, int ndim)
{
    int n = ndim > 0 ? ndim : 1;
    if (dim < -n || dim >= n)
        return err_set("%s: dimension %d out of range for a tensor with %d dimensions", op,
                       dim + 1, ndim);
    return dim < 0 ? dim + n : dim;
}

/* ---- storage ---- */

/* The one out-of-memory message for tensors, whatever refused the memory (the limit, the
 * system, a size beyond 64 bits): "out of memory allocating tensor [60000,3,224,224] float32
 * (36.1 GB)". The size is computed in double so that absurd shapes print too. */
static void err_tensor_oom(int ndim, const int64_t *shape, enum dtype dt)
{
    double bytes = (double)dtype_size(dt);
    for (int d = 0; d < ndim; d++)
        bytes *= (double)shape[d];
    char human[32];
    err_set("out of memory allocating tensor %s %s (%s)", shape_fmt(ndim, shape),
            dtype_name(dt), core_format_bytes(human, sizeof human, bytes));
}

static struct storage *storage_new(size_t nbytes, int ndim, const int64_t *shape, enum dtype dt)
{
    struct storage *s = nbytes <= SIZE_MAX - STORAGE_HEADER
                        ? core_alloc(STORAGE_HEADER + nbytes, "tensor") : NULL;
    if (!s) { /* core_alloc's message names no shape: restate it (only on failure: hot path) */
        err_tensor_oom(ndim, shape, dt);
        return NULL;
    }
    s->refcount = 1;
    s->version = 0;
    s->nbytes = nbytes;
    s->data = (char *)s + STORAGE_HEADER;
    return s;
}

static void storage_release(struct storage *s)
{
    if (s && --s->refcount == 0)
        core_free(s, STORAGE_HEADER + s->nbytes);
}

/* ---- tensors ---- */

static struct tensor *header_new(void)
{
    struct tensor *t = calloc(1, sizeof *t);
    if (!t)
        err_set("out of memory allocating a tensor header");
    else
        t->refcount = 1;
    return t;
}

struct tensor *tensor_new(enum dtype dt, int ndim, const int64_t *shape)
{
    if (ndim < 0 || ndim > TENSOR_MAXDIM) {
        err_set("tensor: %d dimensions requested, at most %d supported", ndim, TENSOR_MAXDIM);
        return NULL;
    }
    /* numel with overflow check: sizes are user input. The product of the non-zero sizes is
     * checked too, since the strides of an empty [0,2^62,2^62] would overflow. */
    uint64_t numel = 1, nonzero = 1;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0) {
            err_set("tensor: negative size %lld in shape %s", (long long)shape[d],
                    shape_fmt(ndim, shape));
            return NULL;
        }
        if (shape[d] && nonzero > (UINT64_MAX / 16) / (uint64_t)shape[d]) {
            bool empty = false;
            for (int k = 0; k < ndim; k++)
                empty = empty || shape[k] == 0;
            if (empty) /* no bytes to allocate, but its strides would not fit */
                err_set("out of memory allocating tensor %s %s: its strides overflow",
                        shape_fmt(ndim, shape), dtype_name(dt));
            else
                err_tensor_oom(ndim, shape, dt);
            return NULL;
        }
        numel *= (uint64_t)shape[d];
        if (shape[d])
            nonzero *= (uint64_t)shape[d];
    }
    struct tensor *t = header_new();
    if (!t)
        return NULL;
    t->storage = storage_new(numel * dtype_size(dt), ndim, shape, dt);
    if (!t->storage) {
        free(t);
        return NULL;
    }
    t->dtype = dt;
    t->ndim = ndim;
    if (ndim > 0)
        memcpy(t->shape, shape, sizeof(int64_t) * (size_t)ndim);
    contiguous_strides(ndim, shape, t->stride);
    return t;
}

int tensor_check_size(enum dtype dt, int ndim, const int64_t *shape)
{
    double bytes = (double)dtype_size(dt);
    for (int d = 0; d < ndim; d++)
        bytes *= (double)shape[d];
    if (bytes + STORAGE_HEADER <= (double)core_mem_limit())
        return 0;
    err_tensor_oom(ndim, shape, dt);
    return -1;
}

struct tensor *tensor_zeros(enum dtype dt, int ndim, const int64_t *shape)
{
    struct tensor *t = tensor_new(dt, ndim, shape);
    if (t)
        memset(t->storage->data, 0, t->storage->nbytes);
    return t;
}

struct tensor *tensor_new_like(const struct tensor *t)
{
    return tensor_new(t->dtype, t->ndim, t->shape);
}

struct tensor *tensor_scalar(float v)
{
    struct tensor *t = tensor_new(DT_FLOAT32, 0, NULL);
    if (t)
        *tensor_f32(t) = v;
    return t;
}

struct tensor *tensor_from_f32(int ndim, const int64_t *shape, const float *src)
{
    struct tensor *t = tensor_new(DT_FLOAT32, ndim, shape);
    if (t)
        memcpy(t->storage->data, src, t->storage->nbytes);
    return t;
}

struct tensor *tensor_retain(struct tensor *t)
{
    if (t)
        t->refcount++;
    return t;
}

void tensor_release(struct tensor *t)
{
    if (!t || --t->refcount > 0)
        return;
    tensor_release(t->grad);
    ag_node_release(t->grad_fn);
    storage_release(t->storage);
    free(t);
}

struct tensor *tensor_alias(const struct tensor *t, int ndim, const int64_t *shape,
                            const int64_t *stride, int64_t offset)
{
    struct tensor *v = header_new();
    if (!v)
        return NULL;
    v->dtype = t->dtype;
    v->ndim = ndim;
    if (ndim > 0) {
        memcpy(v->shape, shape, sizeof(int64_t) * (size_t)ndim);
        memcpy(v->stride, stride, sizeof(int64_t) * (size_t)ndim);
    }
    v->offset = offset;
    v->storage = t->storage;
    v->storage->refcount++;
    return v;
}

int64_t tensor_numel(const struct tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++)
        n *= t->shape[d];
    return n;
}

bool tensor_is_contiguous(const struct tensor *t)
{
    int64_t expect = 1;
    for (int d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->stride[d] != expect)
            return false;
        expect *= t->shape[d];
    }
    return true;
}

bool tensor_same_shape(const struct tensor *a, const struct tensor *b)
{
    if (a->ndim != b->ndim)
        return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d])
            return false;
    return true;
}

void *tensor_data(const struct tensor *t)
{
    return (char *)t->storage->data + t->offset * (int64_t)dtype_size(t->dtype);
}

/* ---- broadcasting ---- */

int shape_broadcast(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                    int64_t *out)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int64_t sa = i < n - na ? 1 : a[i - (n - na)];
        int64_t sb = i < n - nb ? 1 : b[i - (n - nb)];
        if (sa != sb && sa != 1 && sb != 1)
            return err_set("%s: shapes %s and %s cannot be broadcast together", op,
                           shape_fmt(na, a), shape_fmt(nb, b));
        out[i] = sa == 1 ? sb : sa;
    }
    return n;
}

void broadcast_strides(const struct tensor *t, int ndim, const int64_t *shape, int64_t *stride)
{
    int lead = ndim - t->ndim;
    for (int d = 0; d < ndim; d++) {
        if (d < lead)
            stride[d] = 0;
        else
            stride[d] = (t->shape[d - lead] == 1 && shape[d] != 1) ? 0 : t->stride[d - lead];
    }
}

/* ---- copies and conversion ---- */

/* dst[i] = (dst type) src[i] over one row of a plan. */
#define COPY_ROW(TD, TS)                                                                   \
    do {                                                                                   \
        TD *d_ = (TD *)dbase + off[0];                                                     \
        const TS *s_ = (const TS *)sbase + off[1];                                         \
        int64_t sd_ = p.stride[0][p.ndim - 1], ss_ = p.stride[1][p.ndim - 1];              \
        if (sd_ == 1 && ss_ == 1)                                                          \
            for (int64_t i = 0; i < p.inner; i++)                                          \
                d_[i] = (TD)s_[i];                                                         \
        else                                                                               \
            for (int64_t i = 0; i < p.inner; i++)                                          \
                d_[i * sd_] = (TD)s_[i * ss_];                                             \
    } while (0)

/* float -> integer conversions truncate toward zero, as torch's .long()/.byte(); uint8 wraps
 * modulo 256 like torch. Non-finite floats become 0 rather than invoking undefined behaviour. */
static inline int64_t f2i(float v)
{
    return isfinite(v) && fabsf(v) < 9.2e18f ? (int64_t)v : 0;
}

#define COPY_ROW_F2I(TD)                                                                   \
    do {                                                                                   \
        TD *d_ = (TD *)dbase + off[0];                                                     \
        const float *s_ = (const float *)sbase + off[1];                                   \
        int64_t sd_ = p.stride[0][p.ndim - 1], ss_ = p.stride[1][p.ndim - 1];              \
        for (int64_t i = 0; i < p.inner; i++)                                              \
            d_[i * sd_] = (TD)f2i(s_[i * ss_]);                                            \
    } while (0)

int tensor_copy_into(struct tensor *dst, const struct tensor *src)
{
    int64_t bshape[TENSOR_MAXDIM];
    int nd = shape_broadcast("copy_", dst->ndim, dst->shape, src->ndim, src->shape, bshape);
    if (nd < 0)
        return -1;
    bool fits = nd == dst->ndim;
    for (int d = 0; d < nd && fits; d++)
        fits = bshape[d] == dst->shape[d];
    if (!fits)
        return err_set("copy_: cannot copy a tensor of shape %s into one of shape %s",
                       tshape(src), tshape(dst));
    int64_t sstride[TENSOR_MAXDIM];
    broadcast_strides(src, dst->ndim, dst->shape, sstride);
    const int64_t *strides[2] = {dst->stride, sstride};
    struct plan p;
    plan_init(&p, dst->ndim, dst->shape, 2, strides);
    char *dbase = tensor_data(dst);
    const char *sbase = tensor_data(src);
    int64_t total = p.rows * p.inner;
    if (total == 0)
        return 0;
    if (dst->dtype == src->dtype && p.stride[0][p.ndim - 1] == 1 && p.stride[1][p.ndim - 1] == 1
        && p.rows == 1) {
        size_t es = dtype_size(dst->dtype);
        memmove(dbase, sbase, (size_t)p.inner * es);
        return 0;
    }
    PARALLEL_FOR(total > PAR_MIN_ELEMS && p.rows > 1, r, p.rows, {
        int64_t off[2];
        plan_offsets(&p, r, off);
        switch (dst->dtype * 3 + src->dtype) {
        case DT_FLOAT32 * 3 + DT_FLOAT32: COPY_ROW(float, float); break;
        case DT_FLOAT32 * 3 + DT_INT64: COPY_ROW(float, int64_t); break;
        case DT_FLOAT32 * 3 + DT_UINT8: COPY_ROW(float, uint8_t); break;
        case DT_INT64 * 3 + DT_FLOAT32: COPY_ROW_F2I(int64_t); break;
        case DT_INT64 * 3 + DT_INT64: COPY_ROW(int64_t, int64_t); break;
        case DT_INT64 * 3 + DT_UINT8: COPY_ROW(int64_t, uint8_t); break;
        case DT_UINT8 * 3 + DT_FLOAT32: COPY_ROW_F2I(uint8_t); break;
        case DT_UINT8 * 3 + DT_INT64: COPY_ROW(uint8_t, int64_t); break;
        case DT_UINT8 * 3 + DT_UINT8: COPY_ROW(uint8_t, uint8_t); break;
        }
    });
    return 0;
}

struct tensor *tensor_copy(const struct tensor *t)
{
    struct tensor *c = tensor_new(t->dtype, t->ndim, t->shape);
    if (c && tensor_copy_into(c, t) < 0) {
        tensor_release(c);
        return NULL;
    }
    return c;
}

struct tensor *tensor_contiguous(struct tensor *t)
{
    if (tensor_is_contiguous(t))
        return tensor_retain(t);
    return tensor_copy(t);
}

struct tensor *tensor_to_dtype(const struct tensor *t, enum dtype dt)
{
    struct tensor *c = tensor_new(dt, t->ndim, t->shape);
    if (c && tensor_copy_into(c, t) < 0) {
        tensor_release(c);
        return NULL;
    }
    return c;
}

int tensor_fill(struct tensor *dst, double v)
{
    int64_t one = 1;
    struct tensor *s = tensor_new(dst->dtype, 0, &one);
    if (!s)
        return -1;
    switch (dst->dtype) {
    case DT_FLOAT32: *tensor_f32(s) = (float)v; break;
    case DT_INT64: *tensor_i64(s) = (int64_t)v; break;
    case DT_UINT8: *tensor_u8(s) = (uint8_t)(int64_t)v; break;
    }
    int rc = tensor_copy_into(dst, s);
    tensor_release(s);
    return rc;
}

double tensor_get_flat(const struct tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    const char *base = tensor_data(t);
    switch (t->dtype) {
    case DT_FLOAT32: return ((const float *)base)[off];
    case DT_INT64: return (double)((const int64_t *)base)[off];
    case DT_UINT8: return ((const uint8_t *)base)[off];
    }
    return 0;
}
