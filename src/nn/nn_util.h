/* nn_util.h — small helpers shared by the layer kernels of src/nn/ (not part of the API). */
#ifndef LOUPE_NN_UTIL_H
#define LOUPE_NN_UTIL_H

#include "loupe/tensor.h"

/* -1 with "<op>: expected a float32 <what>, got <dtype>" unless t is float32. */
int nn_require_f32(const char *op, const char *what, const struct tensor *t);

/* -1 with an error naming op and t unless every size fits BLAS's 32-bit int. */
int nn_require_blas_sizes(const char *op, const struct tensor *t);

/* dst[c] = sum over r of src[r * cols + c] (src contiguous [rows, cols]). */
void nn_colsum(float *dst, const float *src, int64_t rows, int64_t cols);

struct ag_node;

/* Checks x [..., D], w [R, D], b [R] or NULL for `op` (linear, bilinear): float32 and
 * matching shapes; -1 with an error naming them. */
int nn_check_affine(const char *op, const struct tensor *x, const struct tensor *w,
                    const struct tensor *b);

/* y [M, R] = x [M, D] w[R, D]^T + b [R] (b may be NULL): the rows of y are set to b first and
 * the product added with beta = 1, so the bias costs no extra pass. All contiguous. */
void nn_affine_rows(float *y, const float *x, const float *w, const float *b, int64_t M,
                    int64_t D, int64_t R);

/* Backward of nn_affine_rows for node n whose inputs are (x, w, b): from gy [M, R]
 * (contiguous) computes gi[0] = gy w (in x's recorded shape), gi[1] = gy^T x, gi[2] = column
 * sums of gy, each only if the node needs it. x, w contiguous. 0 or -1 with err_set. */
int nn_affine_backward(struct ag_node *n, const float *gy, const struct tensor *x,
                       const struct tensor *w, int64_t M, int64_t D, int64_t R,
                       struct tensor **gi);

#endif
