/* test_linalg.c — the LAPACK-backed core (src/ops/linalg.c) without Lua, on matrices whose
 * decompositions are known in closed form: eigenvalues and sign-normalised eigenvectors
 * (including an exact tie in magnitude, which the sign rule settles by the first entry), a
 * batch, SVD and PCA of tiny examples, and the error paths (every result pointer NULL, nothing
 * leaked: each test checks the core's live bytes, and `make SANITIZE=1 test` runs this under
 * AddressSanitizer/LeakSanitizer). */
#include "check.h"

#include "loupe/linalg.h"

static size_t live_at_start;

static int setup(void **state)
{
    (void)state;
    live_at_start = core_mem_live();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (core_mem_live() != live_at_start) {
        fprintf(stderr, "leak: %zu bytes live after the test, %zu before\n", core_mem_live(),
                live_at_start);
        return -1;
    }
    return 0;
}

#define SHAPE(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

static struct tensor *matrix(int ndim, const int64_t *shape, const float *v)
{
    struct tensor *t = tensor_from_f32(ndim, shape, v);
    assert_non_null(t);
    return t;
}

/* [[2,1],[1,2]]: eigenvalues 1 and 3, eigenvectors (1,-1)/sqrt2 and (1,1)/sqrt2. Both entries
 * of the first tie in magnitude: the sign rule makes the first one positive. */
static void test_eigh_2x2(void **state)
{
    (void)state;
    struct tensor *a = matrix(SHAPE(2, 2), (float[]){2, 1, 1, 2});
    struct tensor *w, *v;
    assert_int_equal(linalg_eigh(a, false, &w, &v), 0);
    float r = (float)M_SQRT1_2;
    assert_close(tensor_f32(w)[0], 1, 1e-6);
    assert_close(tensor_f32(w)[1], 3, 1e-6);
    const float *p = tensor_f32(v); /* columns are eigenvectors */
    assert_close(p[0], r, 1e-6);
    assert_close(p[2], -r, 1e-6);
    assert_close(p[1], r, 1e-6);
    assert_close(p[3], r, 1e-6);
    assert_false(v->requires_grad);
    tensor_release(w);
    tensor_release(v);
    tensor_release(a);
}

/* A batch of diagonal matrices: sorted diagonals, eigenvectors +e_i. */
static void test_eigh_batch_diagonal(void **state)
{
    (void)state;
    struct tensor *a = matrix(SHAPE(2, 3, 3), (float[]){3, 0, 0, 0, 1, 0, 0, 0, 2,
                                                        -1, 0, 0, 0, -3, 0, 0, 0, -2});
    struct tensor *w, *v;
    assert_int_equal(linalg_eigh(a, false, &w, &v), 0);
    const float expect_w[] = {1, 2, 3, -3, -2, -1};
    for (int i = 0; i < 6; i++)
        assert_close(tensor_f32(w)[i], expect_w[i], 1e-6);
    /* first matrix: eigenvalue 1 is e_2, 2 is e_3, 3 is e_1 */
    const float expect_v0[] = {0, 0, 1, 1, 0, 0, 0, 1, 0};
    for (int i = 0; i < 9; i++)
        assert_close(tensor_f32(v)[i], expect_v0[i], 1e-6);
    struct tensor *w2;
    assert_int_equal(linalg_eigh(a, true, &w2, NULL), 0); /* eigvalsh, upper triangle */
    for (int i = 0; i < 6; i++)
        assert_close(tensor_f32(w2)[i], expect_w[i], 1e-6);
    tensor_release(w2);
    tensor_release(w);
    tensor_release(v);
    tensor_release(a);
}

/* [[3,0],[0,-2],[0,0]]: S = (3, 2); with the sign rule Vh = I and U's second column is -e_2. */
static void test_svd_known(void **state)
{
    (void)state;
    struct tensor *a = matrix(SHAPE(3, 2), (float[]){3, 0, 0, -2, 0, 0});
    struct tensor *u, *s, *vh;
    assert_int_equal(linalg_svd(a, true, &u, &s, &vh), 0);
    assert_int_equal(u->shape[0], 3);
    assert_int_equal(u->shape[1], 3);
    assert_int_equal(vh->shape[0], 2);
    assert_close(tensor_f32(s)[0], 3, 1e-6);
    assert_close(tensor_f32(s)[1], 2, 1e-6);
    const float eye2[] = {1, 0, 0, 1}, u_exp[] = {1, 0, 0, 0, -1, 0, 0, 0, 1};
    for (int i = 0; i < 4; i++)
        assert_close(tensor_f32(vh)[i], eye2[i], 1e-6);
    for (int i = 0; i < 9; i++)
        assert_close(tensor_f32(u)[i], u_exp[i], 1e-6);
    tensor_release(u);
    tensor_release(s);
    tensor_release(vh);
    struct tensor *s2;
    assert_int_equal(linalg_svd(a, false, NULL, &s2, NULL), 0);
    assert_close(tensor_f32(s2)[1], 2, 1e-6);
    tensor_release(s2);
    tensor_release(a);
}

/* Four points (±1, 0) + (5, 5) and (0, ±0.5) + (5, 5): mean (5, 5), axes x then y, variances
 * 2/3 and 1/6 (ratio 0.8, 0.2). */
static void test_pca_known(void **state)
{
    (void)state;
    struct tensor *x = matrix(SHAPE(4, 2), (float[]){6, 5, 4, 5, 5, 5.5f, 5, 4.5f});
    struct linalg_pca p;
    assert_int_equal(linalg_pca(x, 2, true, &p), 0);
    assert_close(tensor_f32(p.mean)[0], 5, 1e-6);
    assert_close(tensor_f32(p.mean)[1], 5, 1e-6);
    const float comps[] = {1, 0, 0, 1};
    for (int i = 0; i < 4; i++)
        assert_close(tensor_f32(p.components)[i], comps[i], 1e-6);
    assert_close(tensor_f32(p.explained_variance)[0], 2.0 / 3, 1e-6);
    assert_close(tensor_f32(p.explained_variance)[1], 1.0 / 6, 1e-6);
    assert_close(tensor_f32(p.explained_variance_ratio)[0], 0.8, 1e-6);
    assert_close(tensor_f32(p.scores)[0], 1, 1e-6); /* first point: (1, 0) */
    assert_close(tensor_f32(p.scores)[1], 0, 1e-6);
    linalg_pca_free(&p);
    assert_null(p.components);
    tensor_release(x);
}

/* Errors: -1, every result NULL, a message naming the function, nothing leaked. */
static void test_errors(void **state)
{
    (void)state;
    struct tensor *w = (struct tensor *)1, *v = (struct tensor *)1;
    struct tensor *nan = matrix(SHAPE(2, 2), (float[]){1, 0, NAN, 1});
    assert_int_equal(linalg_eigh(nan, false, &w, &v), -1);
    assert_err_contains("eigh: input contains NaN or Inf");
    assert_null(w);
    assert_null(v);
    /* NaN in the triangle that is not read is fine */
    assert_int_equal(linalg_eigh(nan, true, &w, &v), 0);
    tensor_release(w);
    tensor_release(v);

    struct tensor *rect = tensor_zeros(DT_FLOAT32, SHAPE(2, 3));
    assert_int_equal(linalg_eigh(rect, false, &w, NULL), -1);
    assert_err_contains("eigvalsh: expected square matrices [..., n, n], got [2,3]");
    struct tensor *ints = tensor_zeros(DT_INT64, SHAPE(2, 2));
    struct tensor *u, *s, *vh;
    assert_int_equal(linalg_svd(ints, true, &u, &s, &vh), -1);
    assert_err_contains("svd: expected a float32 tensor, got int64");
    assert_null(u);
    assert_null(s);
    assert_null(vh);
    struct linalg_pca p;
    assert_int_equal(linalg_pca(rect, 3, true, &p), -1);
    assert_err_contains("pca: 3 components requested, but [2,3] has at most 2");
    assert_null(p.components);
    tensor_release(ints);
    tensor_release(rect);
    tensor_release(nan);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {T(test_eigh_2x2), T(test_eigh_batch_diagonal),
                                       T(test_svd_known), T(test_pca_known), T(test_errors)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
