/* test_tensor.c — the tensor core without Lua: storage and views (strides, offsets, sharing),
 * broadcasting of shapes and strides, tensor_copy_into with dtype conversion, the error text of
 * op_view and friends, autograd of a tiny graph, and reference counts (every test checks that
 * the core's live bytes return to where they started, and `make SANITIZE=1 test` runs this
 * under AddressSanitizer/LeakSanitizer). */
#include "check.h"

#include "loupe/autograd.h"
#include "loupe/ops.h"
#include "loupe/rng.h"

static size_t live_at_start;

static int setup(void **state)
{
    (void)state;
    live_at_start = core_mem_live();
    return 0;
}

/* Every tensor a test made has been released. */
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

static struct tensor *arange_f32(int ndim, const int64_t *shape)
{
    struct tensor *t = tensor_new(DT_FLOAT32, ndim, shape);
    assert_non_null(t);
    for (int64_t i = 0, n = tensor_numel(t); i < n; i++)
        tensor_f32(t)[i] = (float)i;
    return t;
}

static struct tensor *vec_f32(int64_t n, const float *v)
{
    struct tensor *t = tensor_from_f32(1, &n, v);
    assert_non_null(t);
    return t;
}

#define SHAPE(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__}

/* ---- storage, strides and views ---- */

static void test_new_is_contiguous(void **state)
{
    (void)state;
    struct tensor *t = tensor_zeros(DT_FLOAT32, SHAPE(2, 3, 4));
    assert_non_null(t);
    assert_int_equal(t->ndim, 3);
    assert_int_equal(t->stride[0], 12);
    assert_int_equal(t->stride[1], 4);
    assert_int_equal(t->stride[2], 1);
    assert_int_equal(t->offset, 0);
    assert_int_equal(tensor_numel(t), 24);
    assert_true(tensor_is_contiguous(t));
    assert_int_equal(t->storage->nbytes, 24 * 4);
    assert_int_equal(t->refcount, 1);
    assert_int_equal(t->storage->refcount, 1);
    assert_true(((uintptr_t)tensor_data(t) & 63) == 0); /* 64-byte aligned data */
    for (int i = 0; i < 24; i++)
        assert_true(tensor_f32(t)[i] == 0.0f);
    struct tensor *s = tensor_scalar(2.5f);
    assert_int_equal(s->ndim, 0);
    assert_int_equal(tensor_numel(s), 1);
    assert_true(tensor_get_flat(s, 0) == 2.5);
    struct tensor *e = tensor_new(DT_INT64, SHAPE(0, 3));
    assert_int_equal(tensor_numel(e), 0);
    assert_true(tensor_is_contiguous(e));
    tensor_release(s);
    tensor_release(e);
    tensor_release(t);
}

static void test_transpose_and_permute_share_storage(void **state)
{
    (void)state;
    struct tensor *x = arange_f32(SHAPE(2, 3));
    struct tensor *t = op_transpose(x, 0, 1);
    assert_non_null(t);
    assert_ptr_equal(t->storage, x->storage);
    assert_int_equal(x->storage->refcount, 2);
    assert_int_equal(t->shape[0], 3);
    assert_int_equal(t->shape[1], 2);
    assert_int_equal(t->stride[0], 1);
    assert_int_equal(t->stride[1], 3);
    assert_false(tensor_is_contiguous(t));
    /* logical order of the transpose: x[0][0], x[1][0], x[0][1], ... */
    const double want[] = {0, 3, 1, 4, 2, 5};
    for (int i = 0; i < 6; i++)
        assert_true(tensor_get_flat(t, i) == want[i]);
    /* writing through the view changes the base */
    tensor_f32(t)[1 * t->stride[1]] = 42; /* t[0][1] = x[1][0] */
    assert_true(tensor_f32(x)[3] == 42);

    struct tensor *y = arange_f32(SHAPE(2, 3, 4));
    struct tensor *p = op_permute(y, (int[]){2, 0, 1});
    assert_int_equal(p->shape[0], 4);
    assert_int_equal(p->shape[1], 2);
    assert_int_equal(p->shape[2], 3);
    assert_int_equal(p->stride[0], 1);
    assert_int_equal(p->stride[1], 12);
    assert_int_equal(p->stride[2], 4);
    assert_null(op_permute(y, (int[]){0, 0, 1}));
    assert_err_contains("permute: the dimensions do not form a permutation of 1..3");
    tensor_release(p);
    tensor_release(y);
    tensor_release(t);
    assert_int_equal(x->storage->refcount, 1);
    tensor_release(x);
}

static void test_narrow_select_offsets(void **state)
{
    (void)state;
    struct tensor *x = arange_f32(SHAPE(3, 4));
    struct tensor *n = op_narrow(x, 1, 1, 2); /* columns 1..2 */
    assert_non_null(n);
    assert_int_equal(n->offset, 1);
    assert_int_equal(n->shape[0], 3);
    assert_int_equal(n->shape[1], 2);
    assert_int_equal(n->stride[0], 4);
    assert_true(tensor_get_flat(n, 2) == 5);
    struct tensor *r = op_select(n, 0, 2); /* row 2 of the narrowed view */
    assert_int_equal(r->ndim, 1);
    assert_int_equal(r->offset, 9);
    assert_true(tensor_get_flat(r, 0) == 9 && tensor_get_flat(r, 1) == 10);
    struct tensor *last = op_select(x, 0, -1); /* negative index from the end */
    assert_int_equal(last->offset, 8);
    assert_null(op_select(x, 0, 3));
    assert_err_contains("index 4 out of range for dimension 1 of size 3");
    assert_null(op_narrow(x, 1, 3, 2));
    assert_err_contains("narrow: range 4..5 out of range for dimension 2 of size 4");
    assert_null(op_narrow(x, 2, 0, 1));
    assert_err_contains("narrow: dimension 3 out of range for a tensor with 2 dimensions");
    assert_int_equal(x->storage->refcount, 4);
    tensor_release(last);
    tensor_release(r);
    tensor_release(n);
    tensor_release(x);
}

static void test_view_reshape_expand(void **state)
{
    (void)state;
    struct tensor *x = arange_f32(SHAPE(4, 4));
    struct tensor *v = op_view(x, SHAPE(2, -1));
    assert_non_null(v);
    assert_int_equal(v->shape[1], 8);
    assert_ptr_equal(v->storage, x->storage);

    /* the error text names the op, the shape and the element count */
    assert_null(op_view(x, SHAPE(3, 5)));
    assert_string_equal(err_msg(), "view: shape [3,5] is invalid for 16 elements");
    assert_null(op_view(x, SHAPE(-1, -1)));
    assert_string_equal(err_msg(), "view: only one dimension can be inferred (-1) in [-1,-1]");
    assert_null(op_view(x, SHAPE(-2, 8)));
    assert_string_equal(err_msg(), "view: invalid size -2 in shape [-2,8]");
    assert_null(op_reshape(x, SHAPE(5, -1)));
    assert_string_equal(err_msg(), "reshape: shape [5,-1] is invalid for 16 elements");

    /* a transpose cannot be viewed flat; reshape copies instead */
    struct tensor *t = op_transpose(x, 0, 1);
    assert_null(op_view(t, SHAPE(16)));
    assert_err_contains("view: a tensor of shape [4,4] with these strides cannot be viewed as [16]");
    struct tensor *r = op_reshape(t, SHAPE(16));
    assert_non_null(r);
    assert_ptr_not_equal(r->storage, x->storage);
    assert_true(tensor_get_flat(r, 1) == 4);
    /* but splitting a dimension of a transpose is a view */
    struct tensor *s = op_view(t, SHAPE(2, 2, 4));
    assert_non_null(s);
    assert_ptr_equal(s->storage, x->storage);
    assert_int_equal(s->stride[0], 2);
    assert_int_equal(s->stride[1], 1);
    assert_int_equal(s->stride[2], 4);

    struct tensor *c = arange_f32(SHAPE(3, 1));
    struct tensor *e = op_expand(c, SHAPE(2, 3, 4));
    assert_non_null(e);
    assert_int_equal(e->stride[0], 0);
    assert_int_equal(e->stride[1], 1);
    assert_int_equal(e->stride[2], 0);
    assert_true(tensor_get_flat(e, 13) == 0 && tensor_get_flat(e, 17) == 1);
    assert_null(op_expand(x, SHAPE(4, 5)));
    assert_err_contains("expand: cannot expand shape [4,4] to [4,5]");

    struct tensor *u = op_unsqueeze(x, -1);
    assert_int_equal(u->ndim, 3);
    assert_int_equal(u->shape[2], 1);
    struct tensor *q = op_squeeze(u, DIM_ALL);
    assert_int_equal(q->ndim, 2);

    tensor_release(q);
    tensor_release(u);
    tensor_release(e);
    tensor_release(c);
    tensor_release(s);
    tensor_release(r);
    tensor_release(t);
    tensor_release(v);
    tensor_release(x);
}

/* A view keeps the storage alive after its base is gone. */
static void test_view_outlives_base(void **state)
{
    (void)state;
    struct tensor *x = arange_f32(SHAPE(10));
    struct tensor *v = op_narrow(x, 0, 5, 5);
    tensor_release(x);
    assert_int_equal(v->storage->refcount, 1);
    assert_true(tensor_get_flat(v, 4) == 9);
    struct tensor *c = tensor_copy(v);
    assert_true(tensor_is_contiguous(c));
    assert_int_equal(c->offset, 0);
    assert_true(tensor_get_flat(c, 0) == 5);
    struct tensor *same = tensor_contiguous(v); /* already contiguous: retained */
    assert_ptr_equal(same, v);
    assert_int_equal(v->refcount, 2);
    tensor_release(same);
    tensor_release(c);
    tensor_release(v);
}

/* ---- broadcasting ---- */

static void test_shape_broadcast(void **state)
{
    (void)state;
    int64_t out[TENSOR_MAXDIM];
    assert_int_equal(shape_broadcast("add", SHAPE(3, 1), SHAPE(4), out), 2);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4);
    assert_int_equal(shape_broadcast("add", SHAPE(2, 1, 4), SHAPE(3, 1), out), 3);
    assert_int_equal(out[0], 2);
    assert_int_equal(out[1], 3);
    assert_int_equal(out[2], 4);
    assert_int_equal(shape_broadcast("mul", 0, NULL, SHAPE(5), out), 1);
    assert_int_equal(out[0], 5);
    assert_int_equal(shape_broadcast("mul", SHAPE(0, 3), SHAPE(1, 3), out), 2);
    assert_int_equal(out[0], 0);
    assert_int_equal(shape_broadcast("add", SHAPE(2, 3), SHAPE(4), out), -1);
    assert_string_equal(err_msg(), "add: shapes [2,3] and [4] cannot be broadcast together");

    struct tensor *b = tensor_zeros(DT_FLOAT32, SHAPE(3, 1));
    int64_t st[TENSOR_MAXDIM];
    broadcast_strides(b, 3, (int64_t[]){2, 3, 4}, st);
    assert_int_equal(st[0], 0); /* new leading dim */
    assert_int_equal(st[1], 1);
    assert_int_equal(st[2], 0); /* size 1 expanded */
    tensor_release(b);
}

static void test_broadcast_arithmetic(void **state)
{
    (void)state;
    struct tensor *col = vec_f32(3, (float[]){1, 2, 3});
    struct tensor *c = op_view(col, SHAPE(3, 1));
    struct tensor *row = vec_f32(2, (float[]){10, 20});
    struct tensor *s = op_add(c, row);
    assert_non_null(s);
    assert_int_equal(s->ndim, 2);
    assert_int_equal(s->shape[0], 3);
    assert_int_equal(s->shape[1], 2);
    const float want[] = {11, 21, 12, 22, 13, 23};
    for (int i = 0; i < 6; i++)
        assert_true(tensor_f32(s)[i] == want[i]);
    struct tensor *bad = op_add(row, col);
    assert_null(bad);
    assert_string_equal(err_msg(), "add: shapes [2] and [3] cannot be broadcast together");
    tensor_release(s);
    tensor_release(row);
    tensor_release(c);
    tensor_release(col);
}

/* ---- copy_into with conversion ---- */

static void test_copy_into_conversions(void **state)
{
    (void)state;
    struct tensor *f = vec_f32(6, (float[]){1.9f, -2.7f, 300.0f, -1.0f, NAN, INFINITY});
    struct tensor *l = tensor_new(DT_INT64, SHAPE(6));
    assert_int_equal(tensor_copy_into(l, f), 0);
    const int64_t wl[] = {1, -2, 300, -1, 0, 0}; /* truncation toward zero, non-finite -> 0 */
    for (int i = 0; i < 6; i++)
        assert_int_equal(tensor_i64(l)[i], wl[i]);
    struct tensor *u = tensor_new(DT_UINT8, SHAPE(6));
    assert_int_equal(tensor_copy_into(u, f), 0);
    const uint8_t wu[] = {1, 254, 44, 255, 0, 0}; /* modulo 256, like torch */
    for (int i = 0; i < 6; i++)
        assert_int_equal(tensor_u8(u)[i], wu[i]);
    struct tensor *back = tensor_to_dtype(u, DT_FLOAT32);
    assert_true(tensor_f32(back)[2] == 44.0f);
    struct tensor *li = tensor_to_dtype(u, DT_INT64);
    assert_int_equal(tensor_i64(li)[1], 254);
    struct tensor *big = tensor_new(DT_INT64, SHAPE(1));
    tensor_i64(big)[0] = ((int64_t)1 << 53) + 1;
    struct tensor *bigc = tensor_copy(big);
    assert_true(tensor_i64(bigc)[0] == ((int64_t)1 << 53) + 1); /* int64 copies are exact */
    tensor_release(bigc);
    tensor_release(big);
    tensor_release(li);
    tensor_release(back);
    tensor_release(u);
    tensor_release(l);
    tensor_release(f);
}

static void test_copy_into_broadcast_and_strided(void **state)
{
    (void)state;
    /* a row broadcast into every row of a transposed (non-contiguous) destination */
    struct tensor *base = tensor_zeros(DT_FLOAT32, SHAPE(3, 2));
    struct tensor *dst = op_transpose(base, 0, 1); /* [2,3] view */
    struct tensor *src = vec_f32(3, (float[]){1, 2, 3});
    assert_int_equal(tensor_copy_into(dst, src), 0);
    const float want[] = {1, 1, 2, 2, 3, 3}; /* base is [3,2]: base[i][j] = src[i] */
    for (int i = 0; i < 6; i++)
        assert_true(tensor_f32(base)[i] == want[i]);
    /* int64 source into a float32 strided destination */
    struct tensor *isrc = tensor_new(DT_INT64, SHAPE(2, 1));
    tensor_i64(isrc)[0] = 7;
    tensor_i64(isrc)[1] = -8;
    assert_int_equal(tensor_copy_into(dst, isrc), 0);
    assert_true(tensor_f32(base)[0] == 7 && tensor_f32(base)[1] == -8);
    /* a source that does not fit */
    struct tensor *wide = tensor_zeros(DT_FLOAT32, SHAPE(4));
    assert_int_equal(tensor_copy_into(dst, wide), -1);
    assert_string_equal(err_msg(), "copy_: shapes [2,3] and [4] cannot be broadcast together");
    struct tensor *bigger = tensor_zeros(DT_FLOAT32, SHAPE(2, 2, 3));
    assert_int_equal(tensor_copy_into(dst, bigger), -1);
    assert_string_equal(err_msg(),
                        "copy_: cannot copy a tensor of shape [2,2,3] into one of shape [2,3]");
    /* fill goes through the same path */
    assert_int_equal(tensor_fill(dst, 2.5), 0);
    for (int i = 0; i < 6; i++)
        assert_true(tensor_f32(base)[i] == 2.5f);
    tensor_release(bigger);
    tensor_release(wide);
    tensor_release(isrc);
    tensor_release(src);
    tensor_release(dst);
    tensor_release(base);
}

/* ---- errors from creation ---- */

static void test_creation_errors(void **state)
{
    (void)state;
    assert_null(tensor_new(DT_FLOAT32, SHAPE(-1, 2)));
    assert_string_equal(err_msg(), "tensor: negative size -1 in shape [-1,2]");
    assert_null(tensor_new(DT_FLOAT32, SHAPE(1000000000000LL, 1000000000000LL)));
    assert_err_contains("out of memory allocating tensor [1000000000000,1000000000000] float32");
    assert_null(tensor_zeros(DT_FLOAT32, SHAPE(1000000, 1000000)));
    assert_err_contains("out of memory allocating tensor [1000000,1000000] float32 (4.0 TB)");
    assert_null(tensor_new(DT_FLOAT32, 9, (int64_t[9]){1, 1, 1, 1, 1, 1, 1, 1, 1}));
    assert_err_contains("at most 8 supported");
    assert_int_equal(dim_wrap("sum", 2, 2), -1);
    assert_string_equal(err_msg(), "sum: dimension 3 out of range for a tensor with 2 dimensions");
    assert_int_equal(dim_wrap("sum", -1, 2), 1);
    assert_null(op_arange(0, 10, 0, DT_FLOAT32));
    assert_err_contains("arange: invalid range");
    assert_null(op_linspace(0, 1, -1));
    assert_err_contains("linspace: number of steps must be non-negative, got -1");
    struct tensor *i = op_arange(0, 3, 1, DT_INT64);
    struct tensor *f = op_unary(UN_EXP, i);
    assert_null(f);
    assert_string_equal(err_msg(), "exp: expected a float32 tensor, got int64 (convert with :float())");
    tensor_release(i);
}

/* ---- autograd of a tiny graph ---- */

static void test_autograd_tiny_graph(void **state)
{
    (void)state;
    /* s = sum(x*x + 3x), ds/dx = 2x + 3 */
    struct tensor *x = vec_f32(3, (float[]){1, 2, 3});
    x->requires_grad = true;
    struct tensor *xx = op_mul(x, x);
    struct tensor *x3 = op_binary_scalar(BIN_MUL, x, 3.0f);
    struct tensor *y = op_add(xx, x3);
    struct tensor *s = op_sum(y, DIM_ALL, false);
    assert_non_null(s);
    assert_true(s->requires_grad);
    assert_string_equal(s->grad_fn->name, "SumBackward");
    assert_string_equal(y->grad_fn->name, "AddBackward");
    assert_string_equal(xx->grad_fn->name, "MulBackward");
    assert_null(x->grad_fn);
    assert_true(tensor_f32(s)[0] == 1 + 4 + 9 + 3 * 6);
    /* the leaf is referenced by the two nodes that use it directly */
    assert_int_equal(x->refcount, 4); /* mul(x, x) holds it twice, mul(x, 3) once */

    assert_int_equal(ag_backward(s, NULL, true), 0);
    assert_non_null(x->grad);
    for (int i = 0; i < 3; i++)
        assert_true(tensor_f32(x->grad)[i] == 2 * (i + 1) + 3);
    /* retained: a second pass accumulates */
    assert_int_equal(ag_backward(s, NULL, false), 0);
    for (int i = 0; i < 3; i++)
        assert_true(tensor_f32(x->grad)[i] == 2 * (2 * (i + 1) + 3));
    /* not retained: a third pass is refused with a message naming the node */
    assert_int_equal(ag_backward(s, NULL, false), -1);
    assert_err_contains("trying to backward through the graph a second time");
    assert_err_contains("retain_graph");

    /* an in-place change of a saved input is detected */
    struct tensor *z = op_mul(x, x);
    bool was = ag_set_grad_enabled(false);
    assert_int_equal(op_binary_scalar_(BIN_ADD, x, 1.0f), 0); /* allowed: grad mode off */
    ag_set_grad_enabled(was);
    struct tensor *zs = op_sum(z, DIM_ALL, false);
    assert_int_equal(ag_backward(zs, NULL, false), -1);
    assert_string_equal(err_msg(), "MulBackward: a tensor needed for the gradient was modified "
                                   "by an in-place operation after it was used");
    /* with grad mode on, in-place on a leaf that requires grad is refused outright */
    assert_int_equal(op_binary_scalar_(BIN_ADD, x, 1.0f), -1);
    assert_err_contains("add_: in-place operation on a tensor that requires grad");

    /* no_grad: nothing is recorded */
    was = ag_set_grad_enabled(false);
    struct tensor *n = op_mul(x, x);
    ag_set_grad_enabled(was);
    assert_false(n->requires_grad);
    assert_null(n->grad_fn);

    tensor_release(n);
    tensor_release(zs);
    tensor_release(z);
    tensor_release(s);
    tensor_release(y);
    tensor_release(x3);
    tensor_release(xx);
    /* the graph is gone: only our reference to the leaf remains */
    assert_int_equal(x->refcount, 1);
    tensor_release(x);
}

/* Gradients reduce back over broadcast dims and flow through views. */
static void test_autograd_broadcast_and_views(void **state)
{
    (void)state;
    struct tensor *a = tensor_zeros(DT_FLOAT32, SHAPE(2, 3));
    struct tensor *b = vec_f32(3, (float[]){1, 2, 3});
    a->requires_grad = b->requires_grad = true;
    struct tensor *p = op_mul(a, b);           /* [2,3] */
    struct tensor *t = op_transpose(p, 0, 1);  /* [3,2] view */
    struct tensor *r = op_select(t, 1, 1);     /* column 1 of t = row 1 of p */
    struct tensor *s = op_sum(r, DIM_ALL, false);
    assert_int_equal(ag_backward(s, NULL, false), 0);
    const float ga[] = {0, 0, 0, 1, 2, 3};
    for (int i = 0; i < 6; i++)
        assert_true(tensor_f32(a->grad)[i] == ga[i]);
    assert_int_equal(b->grad->ndim, 1);
    for (int i = 0; i < 3; i++)
        assert_true(tensor_f32(b->grad)[i] == 0); /* a is all zeros */
    tensor_release(s);
    tensor_release(r);
    tensor_release(t);
    tensor_release(p);
    tensor_release(b);
    tensor_release(a);
}

/* A 100,000-node chain is built, differentiated and released without deep recursion. */
static void test_autograd_long_chain(void **state)
{
    (void)state;
    struct tensor *x = vec_f32(1, (float[]){1});
    x->requires_grad = true;
    struct tensor *y = tensor_retain(x);
    for (int i = 0; i < 100000; i++) {
        struct tensor *next = op_binary_scalar(BIN_ADD, y, 1.0f);
        tensor_release(y);
        y = next;
    }
    assert_true(tensor_f32(y)[0] == 100001);
    assert_int_equal(ag_backward(y, NULL, false), 0);
    assert_true(tensor_f32(x->grad)[0] == 1);
    tensor_release(y);
    assert_int_equal(x->refcount, 1);
    tensor_release(x);
}

/* ---- reference counts and accounting ---- */

static void test_refcounts(void **state)
{
    (void)state;
    size_t before = core_mem_live();
    struct tensor *x = arange_f32(SHAPE(64, 64));
    assert_true(core_mem_live() >= before + 64 * 64 * 4);
    struct tensor *views[5];
    views[0] = op_transpose(x, 0, 1);
    views[1] = op_view(x, SHAPE(4096));
    views[2] = op_narrow(x, 0, 3, 10);
    views[3] = op_select(x, 1, 7);
    views[4] = op_expand(views[3], SHAPE(5, 64));
    assert_int_equal(x->storage->refcount, 6);
    assert_int_equal(x->refcount, 1); /* views share the storage, not the header */
    tensor_release(x);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(views[i]->storage, views[0]->storage);
    for (int i = 0; i < 5; i++)
        tensor_release(views[i]);
    assert_int_equal(core_mem_live(), before);

    /* retain / release pairs; release of NULL is harmless */
    struct tensor *t = tensor_zeros(DT_UINT8, SHAPE(10));
    assert_ptr_equal(tensor_retain(t), t);
    assert_int_equal(t->refcount, 2);
    tensor_release(t);
    tensor_release(t);
    tensor_release(NULL);
    assert_int_equal(core_mem_live(), before);

    /* failed ops free what they made */
    struct tensor *a = arange_f32(SHAPE(2, 3)), *b = arange_f32(SHAPE(4, 5));
    assert_null(op_mm(a, b));
    assert_string_equal(err_msg(), "mm: shapes [2,3] and [4,5] do not match");
    assert_null(op_cat(2, (struct tensor *[]){a, b}, 0));
    assert_err_contains("cat: tensor 2 has shape [4,5] float32, expected [2,3] float32");
    tensor_release(a);
    tensor_release(b);
    assert_int_equal(core_mem_live(), before);
}

/* ---- the generator ---- */

static void test_rng_is_reproducible(void **state)
{
    (void)state;
    struct tensor *a = tensor_new(DT_FLOAT32, SHAPE(1001));
    struct tensor *b = tensor_new(DT_FLOAT32, SHAPE(1001));
    rng_seed(123);
    rng_fill_normal(a, 0, 1);
    rng_seed(123);
    rng_fill_normal(b, 0, 1);
    assert_memory_equal(tensor_data(a), tensor_data(b), 1001 * sizeof(float));
    rng_fill_normal(b, 0, 1); /* the stream moved on */
    assert_memory_not_equal(tensor_data(a), tensor_data(b), 1001 * sizeof(float));
    rng_seed(124);
    rng_fill_uniform(a, 0, 1);
    rng_seed(123);
    rng_fill_uniform(b, 0, 1);
    assert_memory_not_equal(tensor_data(a), tensor_data(b), 1001 * sizeof(float));
    struct tensor *p = rng_randperm(100, 1);
    int seen[101] = {0};
    for (int i = 0; i < 100; i++) {
        int64_t v = tensor_i64(p)[i];
        assert_true(v >= 1 && v <= 100);
        seen[v]++;
    }
    for (int v = 1; v <= 100; v++)
        assert_int_equal(seen[v], 1);
    tensor_release(p);
    tensor_release(a);
    tensor_release(b);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_new_is_contiguous),
        T(test_transpose_and_permute_share_storage),
        T(test_narrow_select_offsets),
        T(test_view_reshape_expand),
        T(test_view_outlives_base),
        T(test_shape_broadcast),
        T(test_broadcast_arithmetic),
        T(test_copy_into_conversions),
        T(test_copy_into_broadcast_and_strided),
        T(test_creation_errors),
        T(test_autograd_tiny_graph),
        T(test_autograd_broadcast_and_views),
        T(test_autograd_long_chain),
        T(test_refcounts),
        T(test_rng_is_reproducible),
    };
    return cmocka_run_group_tests_name("tensor", tests, NULL, NULL);
}
