/* test_batch.c — batch gathering and the epoch iterator (batch.h): conversion values, index
 * checks, batch counts, the prefetching iterator handing out exactly what the synchronous one
 * does, being freed in the middle of an epoch (the thread is joined), a strided dataset. */
#include "check.h"

#include "loupe/batch.h"
#include "loupe/rng.h"

/* uint8 [n, 2, 3] with x[i, :, :] = i * 6 + k (mod 256), labels i + 1 */
static void make_dataset(int64_t n, struct tensor **x, struct tensor **y)
{
    int64_t xs[3] = {n, 2, 3};
    *x = tensor_new(DT_UINT8, 3, xs);
    *y = tensor_new(DT_INT64, 1, &n);
    assert_non_null(*x);
    assert_non_null(*y);
    for (int64_t i = 0; i < n * 6; i++)
        tensor_u8(*x)[i] = (uint8_t)(i % 256);
    for (int64_t i = 0; i < n; i++)
        tensor_i64(*y)[i] = i + 1;
}

static void test_gather_values(void **state)
{
    struct tensor *x, *y;
    make_dataset(50, &x, &y);
    int64_t idx[3] = {40, 3, 40};
    struct tensor *b = batch_gather(x, idx, 3, 0, true);
    assert_non_null(b);
    assert_int_equal(b->dtype, DT_FLOAT32);
    assert_int_equal(b->shape[0], 3);
    assert_int_equal(b->shape[2], 3);
    for (int k = 0; k < 6; k++) {
        assert_true(tensor_f32(b)[k] == (float)((40 * 6 + k) % 256) / 255.0f);
        assert_true(tensor_f32(b)[6 + k] == (float)(3 * 6 + k) / 255.0f);
    }
    struct tensor *l = batch_gather_labels(y, idx, 3, 0);
    assert_int_equal(tensor_i64(l)[0], 41);
    assert_int_equal(tensor_i64(l)[1], 4);
    tensor_release(b);
    tensor_release(l);
    /* 1-based indices and an out-of-range one */
    int64_t bad[2] = {1, 51};
    assert_null(batch_gather(x, bad, 2, 1, false));
    assert_err_contains("index 51 out of range for 50 samples");
    tensor_release(x);
    tensor_release(y);
}

/* Every batch of an epoch over perm, concatenated labels into out; returns the batch count. */
static int64_t run_epoch(struct batch_iter *it, int64_t *labels, int64_t *sizes)
{
    struct tensor *xb, *yb;
    int64_t k = 0, pos = 0;
    int rc;
    while ((rc = batch_iter_next(it, &xb, &yb)) == 1) {
        sizes[k++] = yb->shape[0];
        for (int64_t i = 0; i < yb->shape[0]; i++) {
            labels[pos++] = tensor_i64(yb)[i];
            /* the sample's first byte is (label - 1) * 6 mod 256 */
            assert_true(tensor_f32(xb)[i * 6] ==
                        (float)(((tensor_i64(yb)[i] - 1) * 6) % 256) / 255.0f);
        }
        tensor_release(xb);
        tensor_release(yb);
    }
    assert_int_equal(rc, 0);
    assert_int_equal(batch_iter_next(it, &xb, &yb), 0); /* stays at the end */
    return k;
}

static void test_iter_prefetch_matches(void **state)
{
    struct tensor *x, *y;
    make_dataset(103, &x, &y);
    struct tensor *perm = rng_randperm_at(103, 1, rng_key_of(5), 0);
    for (int drop = 0; drop < 2; drop++) {
        int64_t la[103], lb[103], sa[20], sb[20];
        struct batch_iter *a = batch_iter_new(x, y, perm, 1, 103, 10, drop, false);
        struct batch_iter *b = batch_iter_new(x, y, perm, 1, 103, 10, drop, true);
        assert_non_null(a);
        assert_non_null(b);
        assert_int_equal(batch_iter_count(a), drop ? 10 : 11);
        int64_t na = run_epoch(a, la, sa), nb = run_epoch(b, lb, sb);
        assert_int_equal(na, batch_iter_count(a));
        assert_int_equal(nb, na);
        assert_memory_equal(sa, sb, sizeof(int64_t) * (size_t)na);
        assert_memory_equal(la, lb, sizeof(int64_t) * (size_t)(drop ? 100 : 103));
        assert_int_equal(sa[na - 1], drop ? 10 : 3);
        for (int64_t i = 0; i < (drop ? 100 : 103); i++)
            assert_int_equal(la[i], tensor_i64(perm)[i]);
        batch_iter_free(a);
        batch_iter_free(b);
    }
    tensor_release(perm);
    tensor_release(x);
    tensor_release(y);
}

/* Freed after one batch, and right after creation: the thread is stopped and joined, and the
 * batch it had made ahead is released (ASan's leak check sees the rest). */
static void test_iter_free_mid_epoch(void **state)
{
    struct tensor *x, *y, *xb, *yb;
    make_dataset(64, &x, &y);
    struct batch_iter *it = batch_iter_new(x, y, NULL, 0, 64, 8, false, true);
    assert_int_equal(batch_iter_next(it, &xb, &yb), 1);
    assert_int_equal(tensor_i64(yb)[0], 1); /* in order */
    tensor_release(xb);
    tensor_release(yb);
    batch_iter_free(it);
    batch_iter_free(batch_iter_new(x, y, NULL, 0, 64, 8, false, true));
    tensor_release(x);
    tensor_release(y);
}

static void test_iter_errors_and_strided(void **state)
{
    struct tensor *x, *y;
    make_dataset(10, &x, &y);
    assert_null(batch_iter_new(x, y, NULL, 0, 10, 0, false, false));
    assert_err_contains("batch_size must be positive");
    assert_null(batch_iter_new(x, y, NULL, 0, 11, 2, false, false));
    assert_err_contains("11 samples asked for");
    int64_t pn = 10;
    struct tensor *perm = tensor_zeros(DT_INT64, 1, &pn); /* 0 is out of range 1-based */
    assert_null(batch_iter_new(x, y, perm, 1, 10, 2, false, true));
    assert_err_contains("index 0 out of range");
    tensor_release(perm);
    /* samples that are not contiguous (x viewed [10, 3, 2] transposed) are copied once */
    int64_t shape[3] = {10, 3, 2}, stride[3] = {6, 1, 3};
    struct tensor *t = tensor_alias(x, 3, shape, stride, 0), *xb, *yb;
    struct batch_iter *it = batch_iter_new(t, y, NULL, 0, 10, 4, false, false);
    assert_non_null(it);
    assert_int_equal(batch_iter_next(it, &xb, &yb), 1);
    assert_true(tensor_f32(xb)[1] == 3.0f / 255.0f); /* element [0, 0, 1] = x[0, 1, 0] */
    tensor_release(xb);
    tensor_release(yb);
    batch_iter_free(it);
    tensor_release(t);
    tensor_release(x);
    tensor_release(y);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gather_values),
        cmocka_unit_test(test_iter_prefetch_matches),
        cmocka_unit_test(test_iter_free_mid_epoch),
        cmocka_unit_test(test_iter_errors_and_strided),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
