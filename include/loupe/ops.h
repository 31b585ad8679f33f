/* ops.h — the differentiable operations (and their in-place, non-differentiable siblings).
 *
 * Every op_* function: arguments borrowed, result owned by the caller, NULL with err_set on
 * failure (the message names the op and the shapes). Dims are 0-based and may be negative.
 * Math is float32; ops that also accept int64/uint8 say so. Each op records itself on the
 * autograd tape (autograd.h) when grad mode is on and an input requires grad. */
#ifndef LOUPE_OPS_H
#define LOUPE_OPS_H

#include "loupe/tensor.h"

#define DIM_ALL INT32_MIN /* reduce over every dimension */

/* ---- elementwise, NumPy broadcasting ---- */
enum binop { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAXIMUM, BIN_MINIMUM };
struct tensor *op_binary(enum binop op, struct tensor *a, struct tensor *b);
static inline struct tensor *op_add(struct tensor *a, struct tensor *b) { return op_binary(BIN_ADD, a, b); }
static inline struct tensor *op_sub(struct tensor *a, struct tensor *b) { return op_binary(BIN_SUB, a, b); }
static inline struct tensor *op_mul(struct tensor *a, struct tensor *b) { return op_binary(BIN_MUL, a, b); }
static inline struct tensor *op_div(struct tensor *a, struct tensor *b) { return op_binary(BIN_DIV, a, b); }
/* a op s with a float scalar on the right (or the left for op_scalar_lhs). */
struct tensor *op_binary_scalar(enum binop op, struct tensor *a, float s);
struct tensor *op_scalar_lhs(enum binop op, float s, struct tensor *a);

enum unop { UN_NEG, UN_ABS, UN_EXP, UN_LOG, UN_SQRT, UN_TANH, UN_SIGMOID, UN_RELU, UN_SIGN,
            UN_SIN, UN_COS, UN_SQUARE, UN_RSQRT, UN_RECIPROCAL };
struct tensor *op_unary(enum unop op, struct tensor *x);
/* clamp to [lo, hi]; NAN means no bound on that side. */
struct tensor *op_clamp(struct tensor *x, float lo, float hi);

enum cmpop { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };
/* uint8 mask; any dtypes (compared as double). Not differentiable. */
struct tensor *op_compare(enum cmpop op, struct tensor *a, struct tensor *b);
struct tensor *op_compare_scalar(enum cmpop op, struct tensor *a, double s);
/* cond ? a : b with broadcasting; cond is uint8 (or any dtype, nonzero = true). */
struct tensor *op_where(struct tensor *cond, struct tensor *a, struct tensor *b);

/* ---- in place (not differentiable; refused on tensors that require grad in grad mode) ---- */
int op_binary_(enum binop op, struct tensor *a, struct tensor *b); /* a = a op b, b broadcast */
int op_binary_scalar_(enum binop op, struct tensor *a, float s);
int op_add_scaled_(struct tensor *a, struct tensor *b, float alpha); /* a += alpha*b */
int op_clamp_(struct tensor *x, float lo, float hi);
int op_unary_(enum unop op, struct tensor *x);
int op_copy_(struct tensor *dst, struct tensor *src);
int op_fill_(struct tensor *dst, double v);
int op_masked_fill_(struct tensor *dst, struct tensor *mask, double v);

/* ---- reductions (dim may be DIM_ALL) ---- */
struct tensor *op_sum(struct tensor *x, int dim, bool keepdim);
struct tensor *op_mean(struct tensor *x, int dim, bool keepdim);
struct tensor *op_prod(struct tensor *x, int dim, bool keepdim);
struct tensor *op_var(struct tensor *x, int dim, double correction, bool keepdim);
struct tensor *op_std(struct tensor *x, int dim, double correction, bool keepdim);
/* p-norm (p > 0, or INFINITY) */
struct tensor *op_norm(struct tensor *x, double p, int dim, bool keepdim);
/* max/min: values (differentiable) and, if idx is not NULL, int64 positions + index_base. */
struct tensor *op_max(struct tensor *x, int dim, bool keepdim, struct tensor **idx,
                      int64_t index_base);
struct tensor *op_min(struct tensor *x, int dim, bool keepdim, struct tensor **idx,
                      int64_t index_base);
struct tensor *op_argmax(struct tensor *x, int dim, bool keepdim, int64_t index_base);
struct tensor *op_argmin(struct tensor *x, int dim, bool keepdim, int64_t index_base);
/* Sums x down to `shape` (the inverse of broadcasting); differentiable. */
struct tensor *op_sum_to(struct tensor *x, int ndim, const int64_t *shape);

/* ---- linear algebra (cblas_sgemm) ---- */
struct tensor *op_mm(struct tensor *a, struct tensor *b);
struct tensor *op_bmm(struct tensor *a, struct tensor *b);
struct tensor *op_matmul(struct tensor *a, struct tensor *b);
struct tensor *op_einsum(const char *equation, int n, struct tensor *const *operands);

/* ---- neural-network functions ---- */
struct tensor *op_softmax(struct tensor *x, int dim);
struct tensor *op_log_softmax(struct tensor *x, int dim);
struct tensor *op_cosine_similarity(struct tensor *a, struct tensor *b, int dim, double eps);

/* ---- shape and views (any dtype; differentiable for float32) ---- */
/* shape may hold one -1 (inferred). view requires compatible strides; reshape copies if not. */
struct tensor *op_view(struct tensor *x, int ndim, const int64_t *shape);
struct tensor *op_reshape(struct tensor *x, int ndim, const int64_t *shape);
struct tensor *op_permute(struct tensor *x, const int *perm);
struct tensor *op_transpose(struct tensor *x, int d0, int d1);
struct tensor *op_narrow(struct tensor *x, int dim, int64_t start, int64_t length);
struct tensor *op_select(struct tensor *x, int dim, int64_t index);
struct tensor *op_squeeze(struct tensor *x, int dim); /* DIM_ALL: every size-1 dim */
struct tensor *op_unsqueeze(struct tensor *x, int dim);
struct tensor *op_expand(struct tensor *x, int ndim, const int64_t *shape); /* -1 keeps */
struct tensor *op_flatten(struct tensor *x, int start, int end);
struct tensor *op_contiguous(struct tensor *x);
struct tensor *op_clone(struct tensor *x);
struct tensor *op_cat(int n, struct tensor *const *xs, int dim);
struct tensor *op_stack(int n, struct tensor *const *xs, int dim);
/* idx: int64 positions + index_base (1 from Lua). */
struct tensor *op_index_select(struct tensor *x, int dim, struct tensor *idx, int64_t index_base);
struct tensor *op_gather(struct tensor *x, int dim, struct tensor *idx, int64_t index_base);
struct tensor *op_masked_select(struct tensor *x, struct tensor *mask);
/* A copy in another dtype; differentiable between float32 tensors only (identity). */
struct tensor *op_to_dtype(struct tensor *x, enum dtype dt);
/* Same data, no history. */
struct tensor *op_detach(struct tensor *x);

/* ---- creation ---- */
struct tensor *op_full(int ndim, const int64_t *shape, double v, enum dtype dt);
struct tensor *op_arange(double start, double end, double step, enum dtype dt);
struct tensor *op_linspace(double start, double end, int64_t steps);
struct tensor *op_eye(int64_t n, int64_t m);

/* ---- comparisons of whole tensors ---- */
bool op_equal(const struct tensor *a, const struct tensor *b); /* same shape and values */
/* |a-b| <= atol + rtol*|b| everywhere (broadcast); -1 with error on shape mismatch. */
int op_allclose(struct tensor *a, struct tensor *b, double rtol, double atol);

#endif
