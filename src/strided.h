/* strided.h — iteration over several strided operands of one logical shape.
 *
 * A plan collapses adjacent dimensions that are contiguous in every operand, so the common
 * cases become one long inner loop. Kernels then loop over "rows" (every dimension but the
 * last) and, within a row, over the inner dimension with per-operand inner strides.
 * plan_offsets() computes a row's starting offsets directly from its index, so rows can be
 * split between OpenMP threads. */
#ifndef LOUPE_STRIDED_H
#define LOUPE_STRIDED_H

#include "loupe/tensor.h"

#define PLAN_MAXOPS 4

struct plan {
    int ndim; /* >= 1 after planning */
    int nops;
    int64_t shape[TENSOR_MAXDIM];
    int64_t stride[PLAN_MAXOPS][TENSOR_MAXDIM];
    int64_t rows;  /* product of all but the last dimension */
    int64_t inner; /* size of the last dimension */
};

static inline void plan_init(struct plan *p, int ndim, const int64_t *shape, int nops,
                             const int64_t *const *strides)
{
    p->nops = nops;
    p->ndim = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1)
            continue; /* size-1 dims never move the offset */
        int k = p->ndim;
        bool merge = k > 0;
        for (int o = 0; o < nops && merge; o++)
            merge = p->stride[o][k - 1] == strides[o][d] * shape[d];
        if (merge) {
            p->shape[k - 1] *= shape[d];
            for (int o = 0; o < nops; o++)
                p->stride[o][k - 1] = strides[o][d];
        } else {
            p->shape[k] = shape[d];
            for (int o = 0; o < nops; o++)
                p->stride[o][k] = strides[o][d];
            p->ndim++;
        }
    }
    if (p->ndim == 0) {
        p->ndim = 1;
        p->shape[0] = 1;
        for (int o = 0; o < nops; o++)
            p->stride[o][0] = 0;
    }
    p->inner = p->shape[p->ndim - 1];
    p->rows = 1;
    for (int d = 0; d < p->ndim - 1; d++)
        p->rows *= p->shape[d];
    if (p->inner == 0) /* empty: no rows either, so [2^40,0] is not 2^40 empty rows */
        p->rows = 0;
    for (int d = 0; d < p->ndim - 1; d++)
        if (p->shape[d] == 0) /* [0,2^40]: no rows, and no 2^40-long loop over nothing */
            p->rows = p->inner = 0;
}

/* Offsets (elements, relative to each operand's first element) of the start of row r. */
static inline void plan_offsets(const struct plan *p, int64_t r, int64_t *off)
{
    for (int o = 0; o < p->nops; o++)
        off[o] = 0;
    for (int d = p->ndim - 2; d >= 0; d--) {
        int64_t i = r % p->shape[d];
        r /= p->shape[d];
        for (int o = 0; o < p->nops; o++)
            off[o] += i * p->stride[o][d];
    }
}

/* Runs the block for var in [0, n): across the OpenMP team when cond holds, else as a plain
 * loop. (`#pragma omp parallel for if (cond)` would still start a team of one thread, which
 * costs about a microsecond: more than a whole small op.) */
#define PARALLEL_FOR(cond, var, n, ...)                                                      \
    do {                                                                                     \
        int64_t n_ = (n);                                                                    \
        if (cond) {                                                                          \
            _Pragma("omp parallel for schedule(static)") for (int64_t var = 0; var < n_;    \
                                                              var++) __VA_ARGS__             \
        } else {                                                                             \
            for (int64_t var = 0; var < n_; var++)                                           \
                __VA_ARGS__                                                                  \
        }                                                                                    \
    } while (0)

/* Rows per OpenMP task: parallelise only when the work is big enough to pay for it. */
#define PAR_MIN_ELEMS 32768

#endif
