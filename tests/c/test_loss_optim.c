/* test_loss_optim.c — the loss and optimizer kernels of src/nn/ without Lua: values worked out
 * by hand for tiny inputs, the errors they report (NULL / -1 with a message, nothing held),
 * the in-place contract of the optimizer steps (leaves that require grad are updated, the
 * storage version moves), and that every test releases what it made. PyTorch comparisons
 * are in tests/lua/test_torch_optim.lua. */
#include "check.h"

#include "loupe/autograd.h"
#include "loupe/nn.h"

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

static struct tensor *f32(int ndim, const int64_t *shape, const float *v)
{
    struct tensor *t = tensor_from_f32(ndim, shape, v);
    assert_non_null(t);
    return t;
}

static struct tensor *labels(int64_t n, const int64_t *v)
{
    struct tensor *t = tensor_new(DT_INT64, 1, &n);
    assert_non_null(t);
    for (int64_t i = 0; i < n; i++)
        tensor_i64(t)[i] = v[i];
    return t;
}

/* logits [[0, ln 3], [ln 2, 0]], targets (1-based) {2, 1}: losses ln(4/3) and ln(3/2); with
 * label smoothing eps each adds eps/2 * (sum over classes of -log p) - eps/2 * (-log p_t). */
static void test_cross_entropy_by_hand(void **state)
{
    (void)state;
    int64_t shape[] = {2, 2};
    float v[] = {0, logf(3), logf(2), 0};
    struct tensor *x = f32(2, shape, v), *t = labels(2, (int64_t[]){2, 1});
    struct tensor *l = op_cross_entropy(x, t, 1, NULL, RED_MEAN, 0);
    assert_non_null(l);
    assert_int_equal(l->ndim, 0);
    double want = (log(4.0 / 3) + log(3.0 / 2)) / 2;
    assert_close(tensor_f32(l)[0], want, 1e-6);
    tensor_release(l);
    l = op_cross_entropy(x, t, 1, NULL, RED_NONE, 0.2);
    assert_non_null(l);
    double a = -log(3.0 / 4), b = -log(1.0 / 4); /* sample 1: -log p_2, -log p_1 */
    assert_close(tensor_f32(l)[0], 0.8 * a + 0.1 * (a + b), 1e-6);
    tensor_release(l);
    /* the 0-based spelling of the same targets */
    struct tensor *t0 = labels(2, (int64_t[]){1, 0});
    l = op_cross_entropy(x, t0, 0, NULL, RED_MEAN, 0);
    assert_non_null(l);
    assert_close(tensor_f32(l)[0], want, 1e-6);
    tensor_release(l);
    tensor_release(t0);
    tensor_release(t);
    tensor_release(x);
}

/* d/dx of the mean loss is (softmax - onehot) / N. */
static void test_cross_entropy_gradient(void **state)
{
    (void)state;
    int64_t shape[] = {2, 2};
    float v[] = {0, logf(3), logf(2), 0};
    struct tensor *x = f32(2, shape, v), *t = labels(2, (int64_t[]){2, 1});
    x->requires_grad = true;
    struct tensor *l = op_cross_entropy(x, t, 1, NULL, RED_MEAN, 0);
    assert_non_null(l);
    assert_string_equal(l->grad_fn->name, "CrossEntropyBackward");
    assert_int_equal(ag_backward(l, NULL, false), 0);
    assert_non_null(x->grad);
    const float *g = tensor_f32(x->grad);
    assert_close(g[0], 0.25 / 2, 1e-6);
    assert_close(g[1], (0.75 - 1) / 2, 1e-6);
    assert_close(g[2], (2.0 / 3 - 1) / 2, 1e-6);
    assert_close(g[3], (1.0 / 3) / 2, 1e-6);
    tensor_release(l);
    tensor_release(t);
    tensor_release(x);
}

static void test_class_loss_errors(void **state)
{
    (void)state;
    int64_t shape[] = {2, 3};
    struct tensor *x = tensor_zeros(DT_FLOAT32, 2, shape);
    struct tensor *bad = labels(2, (int64_t[]){1, 4}), *ok = labels(2, (int64_t[]){1, 3});
    assert_null(op_cross_entropy(x, bad, 1, NULL, RED_MEAN, 0));
    assert_err_contains("cross_entropy: target 4 is out of range for 3 classes "
                        "(valid labels are 1..3)");
    struct tensor *zero = labels(2, (int64_t[]){0, 1});
    assert_null(op_nll_loss(x, zero, 1, NULL, RED_SUM));
    assert_err_contains("nll_loss: target 0 is out of range for 3 classes");
    struct tensor *short_t = labels(1, (int64_t[]){1});
    assert_null(op_cross_entropy(x, short_t, 1, NULL, RED_MEAN, 0));
    assert_err_contains("target [1] does not match input [2,3] (expected target [2])");
    struct tensor *w = tensor_zeros(DT_FLOAT32, 1, (int64_t[]){2});
    assert_null(op_cross_entropy(x, ok, 1, w, RED_MEAN, 0));
    assert_err_contains("cross_entropy: weight [2] does not match 3 classes (expected [3])");
    assert_null(op_cross_entropy(x, x, 1, NULL, RED_MEAN, 0));
    assert_err_contains("target must hold int64 class labels, got float32 [2,3]");
    assert_null(op_cross_entropy(x, ok, 1, NULL, (enum reduction)7, 0));
    assert_err_contains("cross_entropy: unknown reduction 7");
    struct tensor *objs[] = {x, bad, ok, zero, short_t, w};
    for (size_t i = 0; i < sizeof objs / sizeof *objs; i++)
        tensor_release(objs[i]);
}

/* mse of {1, 2} vs {0, 0}: (1 + 4) / 2; bce_with_logits at x = 0 is log 2 whatever y. */
static void test_elementwise_losses(void **state)
{
    (void)state;
    int64_t n = 2;
    struct tensor *a = f32(1, &n, (float[]){1, 2}), *z = tensor_zeros(DT_FLOAT32, 1, &n);
    struct tensor *y = f32(1, &n, (float[]){0.25f, 1});
    struct tensor *l = op_mse_loss(a, z, RED_MEAN);
    assert_non_null(l);
    assert_close(tensor_f32(l)[0], 2.5, 1e-7);
    tensor_release(l);
    l = op_bce_with_logits(z, y, NULL, RED_SUM);
    assert_non_null(l);
    assert_close(tensor_f32(l)[0], 2 * log(2.0), 1e-6);
    tensor_release(l);
    struct tensor *three = tensor_zeros(DT_FLOAT32, 1, (int64_t[]){3});
    assert_null(op_mse_loss(a, three, RED_MEAN));
    assert_err_contains("mse_loss: input [2] and target [3] must have the same shape");
    assert_null(op_bce_with_logits(a, y, three, RED_MEAN));
    assert_err_contains("pos_weight [3] does not broadcast to input [2]");
    tensor_release(three);
    tensor_release(y);
    tensor_release(z);
    tensor_release(a);
}

/* SGD with momentum 0.5 and weight decay 0.1 on p = 1, g = 1 for two steps:
 * d1 = 1.1, buf = 1.1, p = 1 - 0.1 * 1.1 = 0.89;
 * d2 = 1 + 0.089 = 1.089, buf = 0.55 + 1.089 = 1.639, p = 0.89 - 0.1639 = 0.7261. */
static void test_sgd_step(void **state)
{
    (void)state;
    int64_t n = 1;
    struct tensor *p = f32(1, &n, (float[]){1}), *g = f32(1, &n, (float[]){1});
    struct tensor *buf = tensor_zeros(DT_FLOAT32, 1, &n);
    p->requires_grad = true; /* a leaf parameter: the step writes it all the same */
    uint32_t v0 = p->storage->version;
    assert_int_equal(optim_sgd_step(p, g, buf, 0.1, 0.5, 0, 0.1, false, 1), 0);
    assert_close(tensor_f32(p)[0], 0.89, 1e-6);
    assert_int_equal(optim_sgd_step(p, g, buf, 0.1, 0.5, 0, 0.1, false, 2), 0);
    assert_close(tensor_f32(buf)[0], 1.639, 1e-6);
    assert_close(tensor_f32(p)[0], 0.7261, 1e-6);
    assert_int_equal(p->storage->version, v0 + 2);
    assert_int_equal(optim_sgd_step(p, g, NULL, 0.1, 0.5, 0, 0, false, 3), -1);
    assert_err_contains("sgd_step: momentum 0.5 needs a momentum buffer");
    assert_int_equal(optim_sgd_step(p, g, buf, 0.1, 0.5, 0.1, 0, true, 3), -1);
    assert_err_contains("nesterov momentum requires a momentum and zero dampening");
    tensor_release(buf);
    tensor_release(g);
    tensor_release(p);
}

/* Adam's first step moves each element by lr * g / (|g| + eps), about lr * sign(g), after the
 * bias corrections; AdamW first scales p by 1 - lr * wd. */
static void test_adam_step(void **state)
{
    (void)state;
    int64_t n = 2;
    struct tensor *p = f32(1, &n, (float[]){1, -1}), *g = f32(1, &n, (float[]){0.5f, -2});
    struct tensor *m = tensor_zeros(DT_FLOAT32, 1, &n), *v = tensor_zeros(DT_FLOAT32, 1, &n);
    assert_int_equal(optim_adam_step(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0.5, true, 1), 0);
    assert_close(tensor_f32(p)[0], 1 * 0.95 - 0.1, 1e-6);
    assert_close(tensor_f32(p)[1], -1 * 0.95 + 0.1, 1e-6);
    assert_close(tensor_f32(m)[0], 0.05, 1e-6);
    assert_close(tensor_f32(v)[1], 0.004, 1e-6);
    assert_int_equal(optim_adam_step(p, g, m, v, 0.1, 0.9, 1.0, 1e-8, 0, false, 2), -1);
    assert_err_contains("adam_step: betas must be in [0, 1), got (0.9, 1)");
    struct tensor *m3 = tensor_zeros(DT_FLOAT32, 1, (int64_t[]){3});
    assert_int_equal(optim_adam_step(p, g, m3, v, 0.1, 0.9, 0.999, 1e-8, 0, true, 2), -1);
    assert_err_contains("adamw_step: exp_avg [3] does not match the parameter [2]");
    tensor_release(m3);
    tensor_release(v);
    tensor_release(m);
    tensor_release(g);
    tensor_release(p);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_cross_entropy_by_hand), T(test_cross_entropy_gradient), T(test_class_loss_errors),
        T(test_elementwise_losses), T(test_sgd_step), T(test_adam_step)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
