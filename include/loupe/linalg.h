/* linalg.h — symmetric eigendecomposition, SVD and PCA through LAPACKE.
 *
 * Inputs are float32 tensors of any strides; the work is done in double precision (the input
 * is converted, LAPACK runs in double, the results are rounded to float32 once), so results
 * agree with a float64 reference to float32 rounding rather than accumulating float32 error
 * over O(n^3) operations. Leading dimensions are a batch.
 *
 * Signs are normalised so that results are deterministic and comparable (LAPACK's, like
 * torch's, are arbitrary): a vector's "pivot" is its entry of largest magnitude (the first
 * one, among entries within a relative 1e-6 of the largest, so that near-ties do not flip with
 * rounding noise), and the pivot is made positive.
 *   eigh: every eigenvector (column of vectors).
 *   svd:  every right singular vector (row of Vh); the matching column of U flips with it, so
 *         U diag(S) Vh still equals A. With full_matrices, the columns of U (rows of Vh)
 *         beyond min(m, n) have no partner and are normalised on their own.
 *   pca:  every component (row of components), as svd; scores flip with it.
 * Eigenvectors of a repeated eigenvalue (singular vectors of a repeated singular value) are
 * not unique beyond sign: any orthonormal basis of their space is a correct answer.
 *
 * None of these is differentiable: if the input requires grad while grad mode is on they fail
 * with an error saying so (rather than returning results that silently drop the gradient).
 * Results never require grad.
 *
 * Ownership as everywhere in the core: inputs borrowed, results owned by the caller; on
 * failure every result pointer is left NULL and err_set() holds a message naming the function
 * ("eigh", "eigvalsh", "svd", "svdvals", "pca"). */
#ifndef LOUPE_LINALG_H
#define LOUPE_LINALG_H

#include "loupe/tensor.h"

#include <stdbool.h>

/* a [..., n, n] symmetric: only the lower (upper = false, torch's UPLO='L') or the upper
 * triangle is read. *values [..., n] ascending; *vectors [..., n, n] with the eigenvectors as
 * COLUMNS (torch.linalg.eigh's layout): a @ vectors = vectors @ diag(values). vectors may be
 * NULL for eigenvalues only (eigvalsh, which is cheaper). Returns 0 or -1. */
int linalg_eigh(struct tensor *a, bool upper, struct tensor **values, struct tensor **vectors);

/* a [..., m, n], k = min(m, n). *s [..., k] descending. With full_matrices *u [..., m, m] and
 * *vh [..., n, n]; without, *u [..., m, k] and *vh [..., k, n]; a = u[:, :k] diag(s) vh[:k].
 * u and vh may both be NULL for singular values only (svdvals). Returns 0 or -1. */
int linalg_svd(struct tensor *a, bool full_matrices, struct tensor **u, struct tensor **s,
               struct tensor **vh);

/* Principal component analysis of x [N, D] (N >= 2 samples as rows), the first k <= min(N, D)
 * components, as sklearn.decomposition.PCA(n_components=k, svd_solver='full'). With center,
 * the column mean is subtracted first; without, the axes and variances are about the origin
 * (mean is zeros). */
struct linalg_pca {
    struct tensor *components;               /* [k, D] principal axes as unit rows */
    struct tensor *explained_variance;       /* [k] S^2 / (N - 1) */
    struct tensor *explained_variance_ratio; /* [k] share of the total variance (all axes) */
    struct tensor *singular_values;          /* [k] */
    struct tensor *mean;                     /* [D] */
    struct tensor *scores;                   /* [N, k] (x - mean) @ components^T */
};
int linalg_pca(struct tensor *x, int64_t k, bool center, struct linalg_pca *out);
/* Releases every tensor of p and sets them to NULL. */
void linalg_pca_free(struct linalg_pca *p);

#endif
