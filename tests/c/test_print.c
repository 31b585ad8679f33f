/* test_print.c — tensor_format() against the strings PyTorch 1.13 prints.
 *
 * Every expected string below was produced by torch 1.13's repr() of the same tensor (Debian's
 * python3-torch), then respelled the loupe way: requires_grad=true, dtype=uint8, size=[0,3],
 * grad_fn names without PyTorch's trailing digit, and the `size=[..]` suffix that loupe adds
 * to summarised tensors (placed with torch._tensor_str._add_suffixes). */
#include "check.h"

#include "loupe/autograd.h"
#include "loupe/print.h"

static const char *want_ints_as_floats =
        "tensor([1., 2., 3.])";
static const char *want_matrix =
        "tensor([[1.0000, 2.5000],\n"
        "        [3.0000, 4.0000]])";
static const char *want_sci =
        "tensor([1.0000e-05, 1.0000e+05])";
static const char *want_nonfinite =
        "tensor([   nan,    inf,   -inf, 1.5000])";
static const char *want_nonfinite_int =
        "tensor([nan, -inf, 2.])";
static const char *want_only_nan =
        "tensor([nan])";
static const char *want_scalar =
        "tensor(3.5000)";
static const char *want_scalar_int =
        "tensor(3.)";
static const char *want_scalar_neg_zero =
        "tensor(-0.)";
static const char *want_scalar_requires_grad =
        "tensor(0.2500, requires_grad=true)";
static const char *want_int64 =
        "tensor([1, 2, 3])";
static const char *want_int64_wide =
        "tensor([ -10,    5, 1000])";
static const char *want_int64_big =
        "tensor([-4611686018427387905,  4611686018427387905])";
static const char *want_uint8 =
        "tensor([1, 2], dtype=uint8)";
static const char *want_uint8_matrix =
        "tensor([[  0, 255],\n"
        "        [  7,   8]], dtype=uint8)";
static const char *want_empty =
        "tensor([])";
static const char *want_empty_2d =
        "tensor([], size=[0,3])";
static const char *want_empty_int64 =
        "tensor([], dtype=int64)";
static const char *want_arange_2000 =
        "tensor([0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 1.9970e+03, 1.9980e+03,\n"
        "        1.9990e+03], size=[2000])";
static const char *want_arange_2000_i64 =
        "tensor([   0,    1,    2,  ..., 1997, 1998, 1999], size=[2000])";
static const char *want_arange_2000_u8 =
        "tensor([  0,   1,   2,  ..., 205, 206, 207], size=[2000], dtype=uint8)";
static const char *want_big_matrix =
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 9.9700e+02, 9.9800e+02,\n"
        "         9.9900e+02],\n"
        "        [1.0000e+03, 1.0010e+03, 1.0020e+03,  ..., 1.9970e+03, 1.9980e+03,\n"
        "         1.9990e+03],\n"
        "        [2.0000e+03, 2.0010e+03, 2.0020e+03,  ..., 2.9970e+03, 2.9980e+03,\n"
        "         2.9990e+03],\n"
        "        ...,\n"
        "        [9.9700e+05, 9.9700e+05, 9.9700e+05,  ..., 9.9800e+05, 9.9800e+05,\n"
        "         9.9800e+05],\n"
        "        [9.9800e+05, 9.9800e+05, 9.9800e+05,  ..., 9.9900e+05, 9.9900e+05,\n"
        "         9.9900e+05],\n"
        "        [9.9900e+05, 9.9900e+05, 9.9900e+05,  ..., 1.0000e+06, 1.0000e+06,\n"
        "         1.0000e+06]], size=[1000,1000])";
static const char *want_cube =
        "tensor([[[0.0000, 0.2500, 0.5000, 0.7500],\n"
        "         [1.0000, 1.2500, 1.5000, 1.7500],\n"
        "         [2.0000, 2.2500, 2.5000, 2.7500]],\n"
        "\n"
        "        [[3.0000, 3.2500, 3.5000, 3.7500],\n"
        "         [4.0000, 4.2500, 4.5000, 4.7500],\n"
        "         [5.0000, 5.2500, 5.5000, 5.7500]]])";
static const char *want_cube_summ =
        "tensor([[[   0,    1,    2,  ...,   17,   18,   19],\n"
        "         [  20,   21,   22,  ...,   37,   38,   39],\n"
        "         [  40,   41,   42,  ...,   57,   58,   59],\n"
        "         ...,\n"
        "         [ 140,  141,  142,  ...,  157,  158,  159],\n"
        "         [ 160,  161,  162,  ...,  177,  178,  179],\n"
        "         [ 180,  181,  182,  ...,  197,  198,  199]],\n"
        "\n"
        "        [[ 200,  201,  202,  ...,  217,  218,  219],\n"
        "         [ 220,  221,  222,  ...,  237,  238,  239],\n"
        "         [ 240,  241,  242,  ...,  257,  258,  259],\n"
        "         ...,\n"
        "         [ 340,  341,  342,  ...,  357,  358,  359],\n"
        "         [ 360,  361,  362,  ...,  377,  378,  379],\n"
        "         [ 380,  381,  382,  ...,  397,  398,  399]],\n"
        "\n"
        "        [[ 400,  401,  402,  ...,  417,  418,  419],\n"
        "         [ 420,  421,  422,  ...,  437,  438,  439],\n"
        "         [ 440,  441,  442,  ...,  457,  458,  459],\n"
        "         ...,\n"
        "         [ 540,  541,  542,  ...,  557,  558,  559],\n"
        "         [ 560,  561,  562,  ...,  577,  578,  579],\n"
        "         [ 580,  581,  582,  ...,  597,  598,  599]],\n"
        "\n"
        "        ...,\n"
        "\n"
        "        [[1400, 1401, 1402,  ..., 1417, 1418, 1419],\n"
        "         [1420, 1421, 1422,  ..., 1437, 1438, 1439],\n"
        "         [1440, 1441, 1442,  ..., 1457, 1458, 1459],\n"
        "         ...,\n"
        "         [1540, 1541, 1542,  ..., 1557, 1558, 1559],\n"
        "         [1560, 1561, 1562,  ..., 1577, 1578, 1579],\n"
        "         [1580, 1581, 1582,  ..., 1597, 1598, 1599]],\n"
        "\n"
        "        [[1600, 1601, 1602,  ..., 1617, 1618, 1619],\n"
        "         [1620, 1621, 1622,  ..., 1637, 1638, 1639],\n"
        "         [1640, 1641, 1642,  ..., 1657, 1658, 1659],\n"
        "         ...,\n"
        "         [1740, 1741, 1742,  ..., 1757, 1758, 1759],\n"
        "         [1760, 1761, 1762,  ..., 1777, 1778, 1779],\n"
        "         [1780, 1781, 1782,  ..., 1797, 1798, 1799]],\n"
        "\n"
        "        [[1800, 1801, 1802,  ..., 1817, 1818, 1819],\n"
        "         [1820, 1821, 1822,  ..., 1837, 1838, 1839],\n"
        "         [1840, 1841, 1842,  ..., 1857, 1858, 1859],\n"
        "         ...,\n"
        "         [1940, 1941, 1942,  ..., 1957, 1958, 1959],\n"
        "         [1960, 1961, 1962,  ..., 1977, 1978, 1979],\n"
        "         [1980, 1981, 1982,  ..., 1997, 1998, 1999]]], size=[10,10,20])";
static const char *want_long_row =
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n"
        "        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n"
        "        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n"
        "        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000])";
static const char *want_long_row_2d =
        "tensor([[-7.0000, -5.7500, -4.5000, -3.2500, -2.0000, -0.7500,  0.5000,  1.7500,\n"
        "          3.0000,  4.2500,  5.5000,  6.7500,  8.0000,  9.2500, 10.5000, 11.7500,\n"
        "         13.0000, 14.2500, 15.5000, 16.7500],\n"
        "        [18.0000, 19.2500, 20.5000, 21.7500, 23.0000, 24.2500, 25.5000, 26.7500,\n"
        "         28.0000, 29.2500, 30.5000, 31.7500, 33.0000, 34.2500, 35.5000, 36.7500,\n"
        "         38.0000, 39.2500, 40.5000, 41.7500]])";
static const char *want_requires_grad =
        "tensor([1., 2.], requires_grad=true)";
static const char *want_transposed =
        "tensor([[1., 4.],\n"
        "        [2., 5.],\n"
        "        [3., 6.]])";
static const char *want_int_sci =
        "tensor([1.0000e+09, 1.0000e+00])";
static const char *want_int_ratio_sci =
        "tensor([1.0000e+00, 2.0000e+03])";
static const char *want_negatives =
        "tensor([-1.5000,  2.2500])";
static const char *want_tiny =
        "tensor([1.0000e-04])";
static const char *want_tiny_and_one =
        "tensor([0.0010, 1.0000])";
static const char *want_zeros =
        "tensor([0., 0.])";
static const char *want_zero_half =
        "tensor([0.0000, 0.5000])";
static const char *want_four_d =
        "tensor([[[[0., 1.]],\n"
        "\n"
        "         [[2., 3.]]]])";
static const char *want_wide_summ =
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 5.9700e+02, 5.9800e+02,\n"
        "         5.9900e+02],\n"
        "        [6.0000e+02, 6.0100e+02, 6.0200e+02,  ..., 1.1970e+03, 1.1980e+03,\n"
        "         1.1990e+03]], size=[2,600])";
static const char *want_sines =
        "tensor([[ 0.0000,  0.8415,  0.9093,  0.1411],\n"
        "        [-0.7568, -0.9589, -0.2794,  0.6570],\n"
        "        [ 0.9894,  0.4121, -0.5440, -1.0000]])";
static const char *want_suffix_newline =
        "tensor([-123.4567, -123.4567, -123.4567, -123.4567, -123.4567, -123.4567],\n"
        "       requires_grad=true)";
static const char *want_suffix_wrap =
        "tensor([-123.4567, -123.4567, -123.4567, -123.4567, -123.4567, -123.4567,\n"
        "        -123.4567], requires_grad=true)";
static const char *want_long_int_row =
        "tensor([    0,  1000,  2000,  3000,  4000,  5000,  6000,  7000,  8000,  9000,\n"
        "        10000, 11000, 12000, 13000, 14000, 15000, 16000, 17000, 18000, 19000,\n"
        "        20000, 21000, 22000, 23000, 24000, 25000, 26000, 27000, 28000, 29000,\n"
        "        30000, 31000, 32000, 33000, 34000, 35000, 36000, 37000, 38000, 39000])";
static const char *want_sci_nan =
        "tensor([1.0000e-08,        nan, 1.0000e+00])";
static const char *want_big_float =
        "tensor([1.5000e+08, 1.0000e+00])";
static const char *want_summ_sci =
        "tensor([0.0000e+00, 1.0000e-06, 2.0000e-06,  ..., 1.9970e-03, 1.9980e-03,\n"
        "        1.9990e-03], size=[2000])";
static const char *want_summ_requires_grad =
        "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.], size=[1001],\n"
        "       requires_grad=true)";
static const char *want_strided_summ =
        "tensor([1.0000e+00, 3.0000e+00, 5.0000e+00,  ..., 3.9950e+03, 3.9970e+03,\n"
        "        3.9990e+03], size=[2000])";
static const char *want_deep_narrow =
        "tensor([[[[[[[[ 0.5000,  1.5000,  2.5000,  3.5000,  4.5000,  5.5000,  6.5000,\n"
        "                7.5000,  8.5000,  9.5000, 10.5000, 11.5000, 12.5000, 13.5000,\n"
        "               14.5000, 15.5000, 16.5000, 17.5000, 18.5000, 19.5000, 20.5000,\n"
        "               21.5000, 22.5000, 23.5000, 24.5000, 25.5000, 26.5000, 27.5000,\n"
        "               28.5000, 29.5000, 30.5000, 31.5000, 32.5000, 33.5000, 34.5000,\n"
        "               35.5000, 36.5000, 37.5000, 38.5000, 39.5000, 40.5000, 41.5000,\n"
        "               42.5000, 43.5000, 44.5000, 45.5000, 46.5000, 47.5000, 48.5000,\n"
        "               49.5000, 50.5000, 51.5000, 52.5000, 53.5000, 54.5000, 55.5000,\n"
        "               56.5000, 57.5000, 58.5000, 59.5000, 60.5000, 61.5000, 62.5000,\n"
        "               63.5000, 64.5000, 65.5000, 66.5000, 67.5000, 68.5000, 69.5000,\n"
        "               70.5000, 71.5000, 72.5000, 73.5000, 74.5000, 75.5000, 76.5000,\n"
        "               77.5000, 78.5000, 79.5000, 80.5000, 81.5000, 82.5000, 83.5000,\n"
        "               84.5000, 85.5000, 86.5000, 87.5000, 88.5000, 89.5000, 90.5000,\n"
        "               91.5000, 92.5000, 93.5000, 94.5000, 95.5000, 96.5000, 97.5000,\n"
        "               98.5000, 99.5000]]]]]]]])";
static const char *want_grad_fn =
        "tensor([2., 4.], grad_fn=<MulBackward>)";
static const char *want_scalar_grad_fn =
        "tensor(6., grad_fn=<SumBackward>)";

/* Formats t, compares with want, and releases t. */
static void expect(struct tensor *t, const char *want)
{
    assert_non_null(t);
    char *got = tensor_format(t);
    assert_non_null(got);
    if (strcmp(got, want) != 0)
        fail_msg("tensor_format gave\n%s\nexpected\n%s", got, want);
    free(got);
    tensor_release(t);
}

static struct tensor *f32(int ndim, const int64_t *shape, const float *v)
{
    return tensor_from_f32(ndim, shape, v);
}

#define VEC(...) f32(1, (int64_t[]){sizeof((float[]){__VA_ARGS__}) / sizeof(float)},         \
                     (float[]){__VA_ARGS__})

static struct tensor *i64(int ndim, const int64_t *shape, const int64_t *v)
{
    struct tensor *t = tensor_new(DT_INT64, ndim, shape);
    if (t)
        memcpy(tensor_i64(t), v, sizeof(int64_t) * (size_t)tensor_numel(t));
    return t;
}

static struct tensor *u8(int ndim, const int64_t *shape, const uint8_t *v)
{
    struct tensor *t = tensor_new(DT_UINT8, ndim, shape);
    if (t)
        memcpy(tensor_u8(t), v, (size_t)tensor_numel(t));
    return t;
}

/* start + step * i, as float32, in the given shape (like torch.arange(...).reshape(...)). */
static struct tensor *arange_f(int ndim, const int64_t *shape, double start, double step)
{
    struct tensor *t = tensor_new(DT_FLOAT32, ndim, shape);
    if (t)
        for (int64_t i = 0; i < tensor_numel(t); i++)
            tensor_f32(t)[i] = (float)(start + step * (double)i);
    return t;
}

static struct tensor *arange_i(int ndim, const int64_t *shape, int64_t step)
{
    struct tensor *t = tensor_new(DT_INT64, ndim, shape);
    if (t)
        for (int64_t i = 0; i < tensor_numel(t); i++)
            tensor_i64(t)[i] = i * step;
    return t;
}

static void test_floats(void **state)
{
    (void)state;
    expect(VEC(1, 2, 3), want_ints_as_floats);
    expect(f32(2, (int64_t[]){2, 2}, (float[]){1, 2.5f, 3, 4}), want_matrix);
    expect(VEC(1e-5f, 1e5f), want_sci);
    expect(VEC(-1.5f, 2.25f), want_negatives);
    expect(VEC(0.0001f), want_tiny);
    expect(VEC(0.001f, 1), want_tiny_and_one);
    expect(VEC(0, 0), want_zeros);
    expect(VEC(0, 0.5f), want_zero_half);
    expect(VEC(1e9f, 1), want_int_sci);
    expect(VEC(1, 2000), want_int_ratio_sci);
    expect(VEC(1.5e8f, 1), want_big_float);
    float s[12];
    for (int i = 0; i < 12; i++)
        s[i] = (float)sin((double)i);
    expect(f32(2, (int64_t[]){3, 4}, s), want_sines);
    expect(arange_f(3, (int64_t[]){2, 3, 4}, 0, 0.25), want_cube);
    expect(arange_f(4, (int64_t[]){1, 2, 1, 2}, 0, 1), want_four_d);
    expect(arange_f(8, (int64_t[]){1, 1, 1, 1, 1, 1, 1, 100}, 0.5, 1), want_deep_narrow);
}

static void test_nonfinite(void **state)
{
    (void)state;
    expect(VEC(NAN, INFINITY, -INFINITY, 1.5f), want_nonfinite);
    expect(VEC(-NAN, -INFINITY, 2), want_nonfinite_int);
    expect(VEC(NAN), want_only_nan);
    expect(VEC(1e-8f, NAN, 1), want_sci_nan);
}

static void test_scalars(void **state)
{
    (void)state;
    expect(tensor_scalar(3.5f), want_scalar);
    expect(tensor_scalar(3), want_scalar_int);
    expect(tensor_scalar(-0.0f), want_scalar_neg_zero);
    struct tensor *t = tensor_scalar(0.25f);
    t->requires_grad = true;
    expect(t, want_scalar_requires_grad);
}

static void test_integers(void **state)
{
    (void)state;
    expect(i64(1, (int64_t[]){3}, (int64_t[]){1, 2, 3}), want_int64);
    expect(i64(1, (int64_t[]){3}, (int64_t[]){-10, 5, 1000}), want_int64_wide);
    /* beyond 2^53: must not go through double */
    expect(i64(1, (int64_t[]){2}, (int64_t[]){-(INT64_C(1) << 62) - 1, (INT64_C(1) << 62) + 1}),
           want_int64_big);
    expect(u8(1, (int64_t[]){2}, (uint8_t[]){1, 2}), want_uint8);
    expect(u8(2, (int64_t[]){2, 2}, (uint8_t[]){0, 255, 7, 8}), want_uint8_matrix);
    expect(arange_i(1, (int64_t[]){40}, 1000), want_long_int_row);
}

static void test_empty(void **state)
{
    (void)state;
    expect(tensor_new(DT_FLOAT32, 1, (int64_t[]){0}), want_empty);
    expect(tensor_new(DT_FLOAT32, 2, (int64_t[]){0, 3}), want_empty_2d);
    expect(tensor_new(DT_INT64, 1, (int64_t[]){0}), want_empty_int64);
}

static void test_wrapping(void **state)
{
    (void)state;
    expect(arange_f(1, (int64_t[]){30}, 0, 1.5), want_long_row);
    expect(arange_f(2, (int64_t[]){2, 20}, -7, 1.25), want_long_row_2d);
    float v[7];
    for (int i = 0; i < 7; i++)
        v[i] = -123.4567f;
    struct tensor *t = f32(1, (int64_t[]){6}, v);
    t->requires_grad = true;
    expect(t, want_suffix_newline);
    t = f32(1, (int64_t[]){7}, v);
    t->requires_grad = true;
    expect(t, want_suffix_wrap);
}

static void test_summarised(void **state)
{
    (void)state;
    expect(arange_f(1, (int64_t[]){2000}, 0, 1), want_arange_2000);
    expect(arange_i(1, (int64_t[]){2000}, 1), want_arange_2000_i64);
    struct tensor *t = tensor_new(DT_UINT8, 1, (int64_t[]){2000});
    for (int i = 0; i < 2000; i++)
        tensor_u8(t)[i] = (uint8_t)(i % 256);
    expect(t, want_arange_2000_u8);
    expect(arange_f(2, (int64_t[]){1000, 1000}, 0, 1), want_big_matrix);
    expect(arange_i(3, (int64_t[]){10, 10, 20}, 1), want_cube_summ);
    expect(arange_f(2, (int64_t[]){2, 600}, 0, 1), want_wide_summ);
    expect(arange_f(1, (int64_t[]){2000}, 0, 1e-6), want_summ_sci);
    t = arange_f(1, (int64_t[]){1001}, 0, 1);
    t->requires_grad = true;
    expect(t, want_summ_requires_grad);
}

static void test_views(void **state)
{
    (void)state;
    struct tensor *base = f32(2, (int64_t[]){2, 3}, (float[]){1, 2, 3, 4, 5, 6});
    /* the transpose: shape [3,2], strides [1,3] */
    expect(tensor_alias(base, 2, (int64_t[]){3, 2}, (int64_t[]){1, 3}, 0), want_transposed);
    tensor_release(base);
    /* every second element starting at 1 of arange(4000): x:view(2000,2)[{{}, 2}] */
    base = arange_f(1, (int64_t[]){4000}, 0, 1);
    expect(tensor_alias(base, 1, (int64_t[]){2000}, (int64_t[]){2}, 1), want_strided_summ);
    tensor_release(base);
}

static int no_backward(struct ag_node *node, struct tensor *grad_out, struct tensor **grad_in)
{
    return 0;
}

static void test_autograd_suffixes(void **state)
{
    (void)state;
    struct tensor *leaf = VEC(1, 2);
    leaf->requires_grad = true;
    expect(tensor_retain(leaf), want_requires_grad);

    struct tensor *out = VEC(2, 4);
    assert_non_null(ag_record(&out, "MulBackward", no_backward, 1, &leaf));
    expect(out, want_grad_fn);

    out = tensor_scalar(6);
    assert_non_null(ag_record(&out, "SumBackward", no_backward, 1, &leaf));
    expect(out, want_scalar_grad_fn);
    tensor_release(leaf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_floats),     cmocka_unit_test(test_nonfinite),
        cmocka_unit_test(test_scalars),    cmocka_unit_test(test_integers),
        cmocka_unit_test(test_empty),      cmocka_unit_test(test_wrapping),
        cmocka_unit_test(test_summarised), cmocka_unit_test(test_views),
        cmocka_unit_test(test_autograd_suffixes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
