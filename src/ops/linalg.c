/* linalg.c — eigh / eigvalsh (LAPACKE_dsyevd), svd / svdvals (LAPACKE_dgesdd) and PCA, in
 * double precision, batched over leading dimensions. Contract and sign convention: linalg.h.
 *
 * Layout trick: LAPACK is column-major and our matrices are row-major. A row-major [m, n]
 * buffer read as column-major is A^T [n, m], so instead of transposing we decompose A^T:
 *   eigh: A^T = A, and A's lower triangle is A^T's upper one, so UPLO is swapped; the
 *         eigenvectors come back as contiguous columns, which we transpose while rounding.
 *   svd:  A^T = V S U^T, so LAPACK's "U" (column-major [n, r]) is our Vh, row-major [r, n],
 *         and its "VT" (column-major [c, m]) is our U, row-major [m, c], with no copy at all.
 *
 * Threading: LAPACK always runs single-threaded, and a batch is split between OpenMP threads,
 * one matrix per thread. Measured on this project's 2-core machine (OpenBLAS's OpenMP build,
 * loupe's passive waiting), threaded LAPACK lost everywhere: [10,512,512] eigh took 160-180
 * ms one matrix per thread, 290-300 ms on one thread, and 670-740 ms one matrix at a time
 * with a 2-thread LAPACK; even a single matrix ran faster on one thread (512: 33 vs 77 ms,
 * 2048: 1250 vs 1480 ms), as dsytrd's thousands of small BLAS-2 calls each wake the team.
 * Workspaces are allocated per thread before the region, so the only failure inside it is
 * LAPACK's own (non-convergence), reported afterwards. */
#include "loupe/linalg.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "../strided.h"

#include <lapacke.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

/* ---- shared checks ---- */

/* Validates a [..., m, n] float32 input of `fn`; sets *batch, *m, *n. */
static int check_matrices(const char *fn, const struct tensor *a, bool square, int64_t *batch,
                          int64_t *m, int64_t *n)
{
    if (a->dtype != DT_FLOAT32)
        return err_set("%s: expected a float32 tensor, got %s (convert with x:float())", fn,
                       dtype_name(a->dtype));
    if (a->ndim < 2)
        return err_set("%s: expected a tensor of at least 2 dimensions [..., %s], got %s", fn,
                       square ? "n, n" : "m, n", tshape(a));
    *m = a->shape[a->ndim - 2];
    *n = a->shape[a->ndim - 1];
    if (square && *m != *n)
        return err_set("%s: expected square matrices [..., n, n], got %s", fn, tshape(a));
    /* LAPACK indexes with 32-bit ints, including i + j*lda inside a matrix */
    if (*m > INT_MAX / (*n > 1 ? *n : 1))
        return err_set("%s: matrices of %s are too large for LAPACK (at most 2^31 elements "
                       "each)", fn, tshape(a));
    if (a->requires_grad && ag_grad_enabled())
        return err_set("%s: not differentiable in loupe, and the input requires grad (use "
                       "x:detach() or loupe.no_grad)", fn);
    *batch = 1;
    for (int d = 0; d < a->ndim - 2; d++)
        *batch *= a->shape[d];
    return 0;
}

/* Whether every value of a row-major [rows, cols] matrix that LAPACK will read is finite:
 * the lower triangle (tri > 0), the upper one (tri < 0) or all of it (tri == 0). */
static bool all_finite(const float *p, int64_t rows, int64_t cols, int tri)
{
    bool ok = true;
    for (int64_t i = 0; i < rows; i++) {
        int64_t c0 = tri < 0 ? i : 0, c1 = tri > 0 ? i + 1 : cols;
        for (int64_t j = c0; j < c1; j++)
            ok &= isfinite(p[i * cols + j]) != 0;
    }
    return ok;
}

static int check_finite(const char *fn, const float *p, int64_t batch, int64_t m, int64_t n,
                        int tri)
{
    for (int64_t b = 0; b < batch; b++)
        if (!all_finite(p + b * m * n, m, n, tri))
            return err_set("%s: input contains NaN or Inf", fn);
    return 0;
}

/* The output shape: a's leading dims followed by `extra` trailing sizes. */
static struct tensor *new_out(const struct tensor *a, int extra, int64_t s0, int64_t s1)
{
    int64_t shape[TENSOR_MAXDIM];
    int lead = a->ndim - 2;
    memcpy(shape, a->shape, sizeof(int64_t) * (size_t)lead);
    shape[lead] = s0;
    if (extra == 2)
        shape[lead + 1] = s1;
    return tensor_new(DT_FLOAT32, lead + extra, shape);
}

/* Threads that will share a batch (at least 1). */
static int team_size(int64_t batch)
{
    int t = core_threads();
    return batch > 1 && t > 1 ? (int)(batch < t ? batch : t) : 1;
}

/* LAPACK always runs single-threaded (see the header for why). OpenBLAS's OpenMP build runs
 * serially inside a parallel region and otherwise sizes its team from omp_get_max_threads()
 * at every call, so a serial caller lowers that around its LAPACK calls and restores it. */
static int lapack_serial_begin(void)
{
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    return saved;
}

static void lapack_serial_end(int saved) { omp_set_num_threads(saved); }

/* ---- sign convention ---- */

/* Whether the pivot (linalg.h) of v[0], v[inc], ..., v[(len-1)*inc] is negative. */
static bool pivot_negative(const double *v, int64_t len, int64_t inc)
{
    double amax = 0;
    for (int64_t i = 0; i < len; i++)
        amax = fmax(amax, fabs(v[i * inc]));
    double near = amax * (1 - 1e-6);
    for (int64_t i = 0; i < len; i++)
        if (fabs(v[i * inc]) >= near)
            return v[i * inc] < 0;
    return false;
}

static void negate(double *v, int64_t len, int64_t inc)
{
    for (int64_t i = 0; i < len; i++)
        v[i * inc] = -v[i * inc];
}

static void round_to_f32(float *dst, const double *src, int64_t len)
{
    for (int64_t i = 0; i < len; i++)
        dst[i] = (float)src[i];
}

/* Reports LAPACK's info for matrix `which` (0-based) of `batch`; returns -1. */
static int lapack_error(const char *fn, const char *routine, lapack_int info, int64_t which,
                        int64_t batch)
{
    if (info > 0)
        return err_set("%s: LAPACK %s did not converge (matrix %lld of %lld)", fn, routine,
                       (long long)which + 1, (long long)batch);
    return err_set("%s: LAPACK %s failed (info %d)", fn, routine, (int)info);
}

/* -1 with an error unless LAPACK's workspace of about `need` doubles (computed here in 64
 * bits: LAPACK's own query computes it in 32-bit ints and wraps around silently) fits
 * Debian's LP64 LAPACK. */
static int check_fits(const char *fn, const struct tensor *a, int64_t need)
{
    if (need <= INT_MAX)
        return 0;
    return err_set("%s: matrices of %s are too large for LAPACK (workspace of %.3g elements, "
                   "at most 2^31)", fn, tshape(a), (double)need);
}

/* dgesdd's workspace for an [m, n] matrix, an upper bound of its documented minimums (JOBZ
 * 'N': 3k + max(mx, 7k); 'S'/'A': 4k^2 + 6k + mx; 'O': 3k + max(mx, 5k^2 + 4k)) plus the
 * m*n copy some of its paths make, k = min and mx = max of m and n. */
static int64_t gesdd_need(int64_t m, int64_t n, bool vectors)
{
    int64_t k = m < n ? m : n, mx = m < n ? n : m;
    return vectors ? m * n + 5 * k * k + 7 * k + mx : 10 * k + mx;
}

/* Checks a workspace query (run only once check_fits has passed): -1 with an error if it
 * failed. */
static int check_query(const char *fn, const char *routine, lapack_int info, double lwork)
{
    if (info != 0)
        return lapack_error(fn, routine, info, 0, 1);
    if (!(lwork >= 1 && lwork <= (double)INT_MAX))
        return err_set("%s: LAPACK %s asked for a workspace of %g elements", fn, routine, lwork);
    return 0;
}

/* Per-thread scratch of `slot` doubles for each of `team` threads, plus one LAPACK status per
 * matrix (read after the parallel region). */
struct scratch {
    double *mem;
    size_t bytes, slot;
    lapack_int *info;
    int64_t batch;
    int team;
};

static int scratch_init(struct scratch *sc, const char *fn, size_t slot, int64_t batch)
{
    sc->team = team_size(batch);
    sc->slot = slot;
    sc->batch = batch;
    sc->bytes = slot * sizeof(double) * (size_t)sc->team;
    char what[32];
    snprintf(what, sizeof what, "%s workspace", fn);
    sc->mem = core_alloc(sc->bytes, what);
    sc->info = sc->mem ? core_calloc(sizeof(lapack_int) * (size_t)batch, what) : NULL;
    return sc->info ? 0 : -1;
}

static double *scratch_slot(const struct scratch *sc)
{
    return sc->mem + sc->slot * (size_t)omp_get_thread_num();
}

/* 0 if every matrix succeeded, else -1 with the first failure's error, or "interrupted"
 * when Ctrl-C made the loop skip the rest of the batch. */
static int scratch_status(const struct scratch *sc, const char *fn, const char *routine)
{
    if (core_interrupted())
        return err_set("%s: interrupted", fn);
    for (int64_t b = 0; b < sc->batch; b++)
        if (sc->info[b] != 0)
            return lapack_error(fn, routine, sc->info[b], b, sc->batch);
    return 0;
}

static void scratch_free(struct scratch *sc)
{
    if (sc->info)
        core_free(sc->info, sizeof(lapack_int) * (size_t)sc->batch);
    core_free(sc->mem, sc->bytes);
}

/* Doubles needed to hold n lapack_ints. */
static size_t ints_as_doubles(int64_t n) { return ((size_t)n * sizeof(lapack_int) + 7) / 8; }

/* ---- eigh ---- */

int linalg_eigh(struct tensor *a, bool upper, struct tensor **values, struct tensor **vectors)
{
    const char *fn = vectors ? "eigh" : "eigvalsh";
    *values = NULL;
    if (vectors)
        *vectors = NULL;
    int64_t batch, n, m;
    if (check_matrices(fn, a, true, &batch, &m, &n) < 0)
        return -1;
    /* column-major view of row-major A is A^T: its upper triangle is A's lower one */
    char jobz = vectors ? 'V' : 'N', uplo = upper ? 'L' : 'U';
    lapack_int ni = (lapack_int)n, lda = n > 0 ? ni : 1, liwork = 0;
    double dummy = 0, wq = 0;
    if (check_fits(fn, a, vectors ? 1 + 6 * n + 2 * n * n : 2 * n + 1) < 0)
        return -1;
    lapack_int info = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, uplo, ni, &dummy, lda, &dummy,
                                          &wq, -1, &liwork, -1);
    if (check_query(fn, "dsyevd", info, wq) < 0)
        return -1;
    lapack_int lwork = (lapack_int)wq;

    struct scratch sc = {0};
    struct tensor *w = new_out(a, 1, n, 0);
    struct tensor *v = vectors ? new_out(a, 2, n, n) : NULL;
    struct tensor *ac = w && (v || !vectors) ? tensor_contiguous(a) : NULL;
    if (!ac)
        goto fail;
    if (batch > 0 && n > 0) {
        const float *src = tensor_f32(ac);
        if (check_finite(fn, src, batch, n, n, upper ? -1 : 1) < 0)
            goto fail;
        /* per thread: matrix, eigenvalues, work, iwork */
        if (scratch_init(&sc, fn, (size_t)(n * n + n + lwork) + ints_as_doubles(liwork),
                         batch) < 0)
            goto fail;
        float *wout = tensor_f32(w), *vout = v ? tensor_f32(v) : NULL;
        int threads = sc.team > 1 ? 0 : lapack_serial_begin();
        PARALLEL_FOR(sc.team > 1, b, batch, {
            if (core_interrupted())
                continue;
            double *ad = scratch_slot(&sc), *wd = ad + n * n, *work = wd + n;
            const float *ab = src + b * n * n;
            for (int64_t i = 0; i < n * n; i++)
                ad[i] = ab[i];
            sc.info[b] = LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, jobz, uplo, ni, ad, ni, wd, work,
                                             lwork, (lapack_int *)(work + lwork), liwork);
            if (sc.info[b] == 0) {
                round_to_f32(wout + b * n, wd, n);
                for (int64_t j = 0; vout && j < n; j++) { /* eigenvector j: contiguous here */
                    double *col = ad + j * n;
                    if (pivot_negative(col, n, 1))
                        negate(col, n, 1);
                    float *vb = vout + b * n * n;
                    for (int64_t i = 0; i < n; i++)
                        vb[i * n + j] = (float)col[i];
                }
            }
        });
        if (sc.team == 1)
            lapack_serial_end(threads);
        if (scratch_status(&sc, fn, "dsyevd") < 0)
            goto fail;
        scratch_free(&sc);
    }
    tensor_release(ac);
    *values = w;
    if (vectors)
        *vectors = v;
    return 0;
fail:
    scratch_free(&sc);
    tensor_release(ac);
    tensor_release(w);
    tensor_release(v);
    return -1;
}

/* ---- svd ---- */

/* Identity in every [rows, rows] matrix of t (full_matrices U or Vh of an empty matrix, as
 * torch returns). */
static void fill_identity(struct tensor *t, int64_t rows)
{
    float *p = tensor_f32(t);
    int64_t count = rows ? tensor_numel(t) / (rows * rows) : 0;
    memset(p, 0, sizeof(float) * (size_t)tensor_numel(t));
    for (int64_t b = 0; b < count; b++)
        for (int64_t i = 0; i < rows; i++)
            p[b * rows * rows + i * rows + i] = 1;
}

int linalg_svd(struct tensor *a, bool full_matrices, struct tensor **u, struct tensor **s,
               struct tensor **vh)
{
    bool vecs = u != NULL;
    const char *fn = vecs ? "svd" : "svdvals";
    *s = NULL;
    if (vecs)
        *u = *vh = NULL;
    int64_t batch, m, n;
    if (check_matrices(fn, a, false, &batch, &m, &n) < 0)
        return -1;
    int64_t k = m < n ? m : n;
    int64_t ucols = full_matrices ? m : k, vrows = full_matrices ? n : k;
    /* LAPACK sees A^T [n, m] = V S U^T: its U [n, vrows] is our Vh, its VT [ucols, m] our U */
    char jobz = !vecs ? 'N' : full_matrices ? 'A' : 'S';
    lapack_int mi = (lapack_int)n, ni = (lapack_int)m, lda = n > 0 ? mi : 1;
    lapack_int ldvt = vecs && ucols > 0 ? (lapack_int)ucols : 1, iwdummy = 0;
    double dummy = 0, wq = 0;
    if (check_fits(fn, a, gesdd_need(m, n, vecs)) < 0)
        return -1;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, mi, ni, &dummy, lda, &dummy,
                                          &dummy, lda, &dummy, ldvt, &wq, -1, &iwdummy);
    if (check_query(fn, "dgesdd", info, wq) < 0)
        return -1;
    lapack_int lwork = (lapack_int)wq;

    struct scratch sc = {0};
    struct tensor *so = new_out(a, 1, k, 0);
    struct tensor *uo = vecs ? new_out(a, 2, m, ucols) : NULL;
    struct tensor *vo = vecs ? new_out(a, 2, vrows, n) : NULL;
    struct tensor *ac = so && (!vecs || (uo && vo)) ? tensor_contiguous(a) : NULL;
    if (!ac)
        goto fail;
    if (vecs && k == 0 && full_matrices) {
        fill_identity(uo, m);
        fill_identity(vo, n);
    }
    if (batch > 0 && k > 0) {
        const float *src = tensor_f32(ac);
        if (check_finite(fn, src, batch, m, n, 0) < 0)
            goto fail;
        int64_t lv = vecs ? n * vrows : 0, lu = vecs ? m * ucols : 0;
        /* per thread: matrix, singular values, LAPACK's U and VT, work, iwork */
        if (scratch_init(&sc, fn, (size_t)(m * n + k + lv + lu + lwork) + ints_as_doubles(8 * k),
                         batch) < 0)
            goto fail;
        float *sout = tensor_f32(so), *uout = vecs ? tensor_f32(uo) : NULL;
        float *vout = vecs ? tensor_f32(vo) : NULL;
        int threads = sc.team > 1 ? 0 : lapack_serial_begin();
        PARALLEL_FOR(sc.team > 1, b, batch, {
            if (core_interrupted())
                continue;
            double *ad = scratch_slot(&sc), *sd = ad + m * n, *vd = sd + k, *ud = vd + lv;
            double *work = ud + lu;
            const float *ab = src + b * m * n;
            for (int64_t i = 0; i < m * n; i++)
                ad[i] = ab[i];
            sc.info[b] = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, jobz, mi, ni, ad, mi, sd,
                                             vecs ? vd : &dummy, mi, vecs ? ud : &dummy, ldvt,
                                             work, lwork, (lapack_int *)(work + lwork));
            if (sc.info[b] == 0) {
                round_to_f32(sout + b * k, sd, k);
                if (vecs) {
                    /* pairs (row i of Vh, column i of U) flip together; unpaired ones alone */
                    for (int64_t i = 0; i < vrows; i++)
                        if (pivot_negative(vd + i * n, n, 1)) {
                            negate(vd + i * n, n, 1);
                            if (i < k)
                                negate(ud + i, m, ucols);
                        }
                    for (int64_t i = k; i < ucols; i++)
                        if (pivot_negative(ud + i, m, ucols))
                            negate(ud + i, m, ucols);
                    round_to_f32(uout + b * lu, ud, lu);
                    round_to_f32(vout + b * lv, vd, lv);
                }
            }
        });
        if (sc.team == 1)
            lapack_serial_end(threads);
        if (scratch_status(&sc, fn, "dgesdd") < 0)
            goto fail;
        scratch_free(&sc);
    }
    tensor_release(ac);
    *s = so;
    if (vecs) {
        *u = uo;
        *vh = vo;
    }
    return 0;
fail:
    scratch_free(&sc);
    tensor_release(ac);
    tensor_release(so);
    tensor_release(uo);
    tensor_release(vo);
    return -1;
}

/* ---- pca ---- */

void linalg_pca_free(struct linalg_pca *p)
{
    struct tensor **all[] = {&p->components, &p->explained_variance,
                             &p->explained_variance_ratio, &p->singular_values, &p->mean,
                             &p->scores};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        tensor_release(*all[i]);
        *all[i] = NULL;
    }
}

/* One thin SVD of the centred data in double, with JOBZ='O' so LAPACK overwrites the data
 * with whichever factor has its size (the N*D doubles are the memory that matters here).
 * Column-major, the data is A^T [D, N] = V S U^T, as in linalg_svd. */
int linalg_pca(struct tensor *x, int64_t k, bool center, struct linalg_pca *out)
{
    memset(out, 0, sizeof *out);
    int64_t batch, N, D;
    if (check_matrices("pca", x, false, &batch, &N, &D) < 0)
        return -1;
    if (x->ndim != 2)
        return err_set("pca: expected a 2-D tensor [N, D] (samples as rows), got %s", tshape(x));
    if (N < 2)
        return err_set("pca: need at least 2 samples (rows), got %s", tshape(x));
    int64_t kk = N < D ? N : D;
    if (k < 0 || k > kk)
        return err_set("pca: %lld components requested, but %s has at most %lld",
                       (long long)k, tshape(x), (long long)kk);
    /* D >= N: LAPACK's U (our Vh) overwrites the data and its VT (our U [N, N]) goes to the
     * workspace; D < N: its U (our Vh [D, D]) goes to the workspace and its VT (our U [N, D])
     * overwrites the data. */
    lapack_int mi = (lapack_int)D, ni = (lapack_int)N;
    lapack_int lda = D > 0 ? mi : 1, ldu = D >= N ? 1 : lda, ldvt = D >= N ? ni : 1;
    double dummy = 0, wq = 0;
    lapack_int iwdummy = 0;
    if (check_fits("pca", x, gesdd_need(N, D, true)) < 0)
        return -1;
    lapack_int info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'O', mi, ni, &dummy, lda, &dummy,
                                          &dummy, ldu, &dummy, ldvt, &wq, -1, &iwdummy);
    if (check_query("pca", "dgesdd", info, wq) < 0)
        return -1;
    lapack_int lwork = (lapack_int)wq;

    /* ad: the data [N, D]; wd: the other factor [kk, kk], S [kk], work, iwork */
    size_t abytes = sizeof(double) * (size_t)(N * D);
    size_t wbytes = sizeof(double) * ((size_t)(kk * kk + kk + lwork) + ints_as_doubles(8 * kk));
    double *ad = NULL, *wd = NULL;
    struct tensor *xc = tensor_contiguous(x);
    if (!xc)
        return -1;
    const float *src = tensor_f32(xc);
    if (check_finite("pca", src, 1, N, D, 0) < 0)
        goto fail;
    out->mean = tensor_zeros(DT_FLOAT32, 1, (int64_t[]){D});
    out->components = tensor_new(DT_FLOAT32, 2, (int64_t[]){k, D});
    out->explained_variance = tensor_new(DT_FLOAT32, 1, (int64_t[]){k});
    out->explained_variance_ratio = tensor_new(DT_FLOAT32, 1, (int64_t[]){k});
    out->singular_values = tensor_new(DT_FLOAT32, 1, (int64_t[]){k});
    out->scores = tensor_new(DT_FLOAT32, 2, (int64_t[]){N, k});
    if (!out->mean || !out->components || !out->explained_variance ||
        !out->explained_variance_ratio || !out->singular_values || !out->scores)
        goto fail;
    ad = core_alloc(abytes, "pca data");
    wd = ad ? core_alloc(wbytes, "pca workspace") : NULL;
    if (!wd)
        goto fail;
    double *fd = wd, *sd = fd + kk * kk, *work = sd + kk;

    /* ad = x - mean, in double; the mean lives in ad's first row until that row is written,
     * last (fd may be smaller than D) */
    for (int64_t j = 0; j < D; j++)
        ad[j] = 0;
    for (int64_t i = 0; center && i < N; i++)
        for (int64_t j = 0; j < D; j++)
            ad[j] += src[i * D + j];
    for (int64_t j = 0; j < D; j++) {
        ad[j] /= (double)N;
        tensor_f32(out->mean)[j] = (float)ad[j];
    }
    for (int64_t i = N - 1; i >= 0; i--)
        for (int64_t j = 0; j < D; j++)
            ad[i * D + j] = (double)src[i * D + j] - ad[j];

    int threads = lapack_serial_begin();
    info = LAPACKE_dgesdd_work(LAPACK_COL_MAJOR, 'O', mi, ni, ad, lda, sd, fd, ldu, fd, ldvt,
                               work, lwork, (lapack_int *)(work + lwork));
    lapack_serial_end(threads);
    if (info != 0) {
        lapack_error("pca", "dgesdd", info, 0, 1);
        goto fail;
    }
    double *vh = D >= N ? ad : fd, *uu = D >= N ? fd : ad; /* [kk, D] and [N, kk] */

    double total = 0;
    for (int64_t i = 0; i < kk; i++)
        total += sd[i] * sd[i];
    for (int64_t i = 0; i < k; i++) {
        if (pivot_negative(vh + i * D, D, 1)) {
            negate(vh + i * D, D, 1);
            negate(uu + i, N, kk);
        }
        double var = sd[i] * sd[i] / (double)(N - 1);
        tensor_f32(out->explained_variance)[i] = (float)var;
        /* constant data has no variance to share out: ratio 0 rather than 0/0 */
        tensor_f32(out->explained_variance_ratio)[i] =
            total > 0 ? (float)(sd[i] * sd[i] / total) : 0.0f;
        tensor_f32(out->singular_values)[i] = (float)sd[i];
    }
    round_to_f32(tensor_f32(out->components), vh, k * D);
    float *scores = tensor_f32(out->scores);
    for (int64_t r = 0; r < N; r++)
        for (int64_t i = 0; i < k; i++)
            scores[r * k + i] = (float)(uu[r * kk + i] * sd[i]);
    core_free(wd, wbytes);
    core_free(ad, abytes);
    tensor_release(xc);
    return 0;
fail:
    core_free(wd, wbytes);
    core_free(ad, abytes);
    tensor_release(xc);
    linalg_pca_free(out);
    return -1;
}
