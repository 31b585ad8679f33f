/* tensor.h — strided N-d tensors over reference-counted storages.
 *
 * Ownership: a function returning `struct tensor *` hands the caller one reference; arguments
 * are borrowed. Anything that keeps a pointer retains it. Views share the storage and bump
 * its refcount. Shapes are int64_t, row-major, outermost first; strides and offsets count
 * elements, not bytes. The core is 0-based throughout; only the Lua bindings translate.
 *
 * These are the raw, non-differentiable building blocks. Differentiable operations live in
 * ops.h and record themselves on the autograd tape. */
#ifndef LOUPE_TENSOR_H
#define LOUPE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TENSOR_MAXDIM 8

enum dtype { DT_FLOAT32, DT_INT64, DT_UINT8 };

struct storage {
    int refcount;
    uint32_t version; /* bumped by every in-place write; autograd checks saved tensors */
    size_t nbytes;
    void *data;
};

struct ag_node;

struct tensor {
    int refcount;
    enum dtype dtype;
    int ndim;
    int64_t shape[TENSOR_MAXDIM];
    int64_t stride[TENSOR_MAXDIM];
    int64_t offset;
    struct storage *storage;
    /* autograd: a leaf that wants a gradient has requires_grad and no grad_fn; the result
     * of a recorded op has both. */
    bool requires_grad;
    struct tensor *grad;     /* accumulated gradient (leaves only), owned */
    struct ag_node *grad_fn; /* node that produced this tensor, owned */
};

size_t dtype_size(enum dtype dt);
const char *dtype_name(enum dtype dt); /* "float32", "int64", "uint8" */

/* New contiguous tensor; contents uninitialised (tensor_new) or zero (tensor_zeros). */
struct tensor *tensor_new(enum dtype dt, int ndim, const int64_t *shape);
struct tensor *tensor_zeros(enum dtype dt, int ndim, const int64_t *shape);
struct tensor *tensor_new_like(const struct tensor *t); /* same dtype and shape, contiguous */
struct tensor *tensor_scalar(float v);                  /* 0-d float32 */
struct tensor *tensor_from_f32(int ndim, const int64_t *shape, const float *src);
/* 0 if a tensor of this shape is within the allocation limit (core_mem_limit), else -1 with
 * tensor_new's error "out of memory allocating tensor [..] float32 (36.1 GB)". For readers
 * that check a header-declared size before they start decoding. */
int tensor_check_size(enum dtype dt, int ndim, const int64_t *shape);

struct tensor *tensor_retain(struct tensor *t);
void tensor_release(struct tensor *t); /* NULL-safe */

/* A new header over t's storage (no autograd history). */
struct tensor *tensor_alias(const struct tensor *t, int ndim, const int64_t *shape,
                            const int64_t *stride, int64_t offset);

int64_t tensor_numel(const struct tensor *t);
bool tensor_is_contiguous(const struct tensor *t);
bool tensor_same_shape(const struct tensor *a, const struct tensor *b);
/* Pointer to the first element (storage data + offset). */
void *tensor_data(const struct tensor *t);
static inline float *tensor_f32(const struct tensor *t) { return (float *)tensor_data(t); }
static inline int64_t *tensor_i64(const struct tensor *t) { return (int64_t *)tensor_data(t); }
static inline uint8_t *tensor_u8(const struct tensor *t) { return (uint8_t *)tensor_data(t); }

/* Marks the storage as written in place (see struct storage.version). */
static inline void tensor_bump_version(struct tensor *t) { t->storage->version++; }

/* Contiguous copy of any tensor (same dtype); tensor_contiguous retains t when it already is. */
struct tensor *tensor_copy(const struct tensor *t);
struct tensor *tensor_contiguous(struct tensor *t);
/* dst[...] = src with broadcasting of src to dst's shape and dtype conversion. */
int tensor_copy_into(struct tensor *dst, const struct tensor *src);
int tensor_fill(struct tensor *dst, double v);
struct tensor *tensor_to_dtype(const struct tensor *t, enum dtype dt);

/* Value of element i (0-based, row-major over t's logical shape) as double. Slow; for
 * printing, tests and small conversions. */
double tensor_get_flat(const struct tensor *t, int64_t i);

/* Formats "[64,3,32,32]" into buf (also used in error messages). */
const char *shape_str(char *buf, size_t n, int ndim, const int64_t *shape);
#define SHAPE_STR_MAX 128
/* Convenience: a rotating set of static buffers, so one error message may hold a few shapes. */
const char *tshape(const struct tensor *t);
const char *shape_fmt(int ndim, const int64_t *shape);

/* Broadcast two shapes (NumPy rules) into out; returns the result's ndim or -1 with an error
 * naming `op`. */
int shape_broadcast(const char *op, int na, const int64_t *a, int nb, const int64_t *b,
                    int64_t *out);
/* Strides for viewing t as `shape` (ndim >= t->ndim) under broadcasting: 0 where expanded. */
void broadcast_strides(const struct tensor *t, int ndim, const int64_t *shape, int64_t *stride);

/* Contiguous strides for a shape; returns numel. */
int64_t contiguous_strides(int ndim, const int64_t *shape, int64_t *stride);

/* Normalise a 0-based dim that may be negative (-1 = last); -1 with error if out of range. */
int dim_wrap(const char *op, int dim, int ndim);

#endif
