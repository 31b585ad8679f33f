/* nn_util.c — helpers shared by the layer kernels (see nn_util.h). */
#include "nn_util.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <cblas.h>
#include <string.h>

int nn_require_f32(const char *op, const char *what, const struct tensor *t)
{
    if (t->dtype != DT_FLOAT32)
        return err_set("%s: expected a float32 %s, got %s %s (convert with :float())", op, what,
                       dtype_name(t->dtype), tshape(t));
    return 0;
}

int nn_require_blas_sizes(const char *op, const struct tensor *t)
{
    if (tensor_numel(t) > 0x7fffffff)
        return err_set("%s: %s is too large for BLAS's 32-bit sizes", op, tshape(t));
    return 0;
}

/* Tasks own blocks of columns, so each thread streams over every row of its block and no
 * two threads write the same sums. */
void nn_colsum(float *dst, const float *src, int64_t rows, int64_t cols)
{
    const int64_t block = 256;
    int64_t ntasks = (cols + block - 1) / block;
    PARALLEL_FOR(rows * cols > PAR_MIN_ELEMS && ntasks > 1, t, ntasks, {
        int64_t c0 = t * block, n = cols - c0 < block ? cols - c0 : block;
        float *d = dst + c0;
        for (int64_t c = 0; c < n; c++)
            d[c] = 0;
        for (int64_t r = 0; r < rows; r++) {
            const float *s = src + r * cols + c0;
_Pragma("omp simd")
            for (int64_t c = 0; c < n; c++)
                d[c] += s[c];
        }
    });
}

void nn_affine_rows(float *y, const float *x, const float *w, const float *b, int64_t M,
                    int64_t D, int64_t R)
{
    if (M == 0 || R == 0)
        return;
    if (b) {
        PARALLEL_FOR(M * R > PAR_MIN_ELEMS, r, M, { memcpy(y + r * R, b, sizeof(float) * (size_t)R); });
    }
    if (D == 0) {
        if (!b)
            memset(y, 0, sizeof(float) * (size_t)(M * R));
        return;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)R, (int)D, 1.0f, x, (int)D,
                w, (int)D, b ? 1.0f : 0.0f, y, (int)R);
}

/* A new float32 tensor of the given shape: zeroed only when the product below is empty and
 * would not write it. */
static struct tensor *grad_buffer(int ndim, const int64_t *shape, bool empty)
{
    return empty ? tensor_zeros(DT_FLOAT32, ndim, shape) : tensor_new(DT_FLOAT32, ndim, shape);
}

int nn_affine_backward(struct ag_node *n, const float *gy, const struct tensor *x,
                       const struct tensor *w, int64_t M, int64_t D, int64_t R,
                       struct tensor **gi)
{
    bool empty = !(M && D && R);
    if (ag_needs(n, 0)) { /* gx [M, D] = gy [M, R] w [R, D] */
        if (!(gi[0] = grad_buffer(n->in[0].ndim, n->in[0].shape, empty)))
            return -1;
        if (!empty)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)M, (int)D, (int)R, 1.0f,
                        gy, (int)R, tensor_f32(w), (int)D, 0.0f, tensor_f32(gi[0]), (int)D);
    }
    if (ag_needs(n, 1)) { /* gw [R, D] = gy^T [R, M] x [M, D] */
        if (!(gi[1] = grad_buffer(n->in[1].ndim, n->in[1].shape, empty)))
            return -1;
        if (!empty)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)R, (int)D, (int)M, 1.0f,
                        gy, (int)R, tensor_f32(x), (int)D, 0.0f, tensor_f32(gi[1]), (int)D);
    }
    if (n->n_in > 2 && ag_needs(n, 2)) {
        gi[2] = tensor_new(DT_FLOAT32, n->in[2].ndim, n->in[2].shape);
        if (!gi[2])
            return -1;
        nn_colsum(tensor_f32(gi[2]), gy, M, R);
    }
    return 0;
}
