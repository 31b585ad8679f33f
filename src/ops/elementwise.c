/* elementwise.c — binary and unary float32 math with NumPy broadcasting, comparisons, where,
 * and the in-place variants. One strided kernel per arity; the operator is a switch outside
 * the inner loop so each case compiles to its own vectorised loop. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"
#include "../strided.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>

static const char *binop_name[] = {"add", "sub", "mul", "div", "pow", "maximum", "minimum"};
static const char *unop_name[] = {"neg", "abs", "exp", "log", "sqrt", "tanh", "sigmoid",
                                  "relu", "sign", "sin", "cos", "square", "rsqrt", "reciprocal"};

static int require_f32(const char *op, const struct tensor *t)
{
    if (t->dtype != DT_FLOAT32)
        return err_set("%s: expected a float32 tensor, got %s (convert with :float())", op,
                       dtype_name(t->dtype));
    return 0;
}

/* ---- work splitting ----
 * A task is a slice of one row: rows are split into chunks so that a single long row (the
 * fully contiguous case) still spreads over all threads. */
struct split {
    int64_t chunk, nchunks, ntasks;
};

static struct split split_plan(const struct plan *p)
{
    struct split s = {p->inner, 1, p->rows};
    int64_t total = p->rows * p->inner;
    int threads = omp_get_max_threads();
    if (total > PAR_MIN_ELEMS && p->rows < 4 * threads) {
        int64_t want = 4 * threads / (p->rows ? p->rows : 1) + 1;
        s.chunk = (p->inner + want - 1) / want;
        s.chunk = (s.chunk + 15) / 16 * 16;
        s.nchunks = (p->inner + s.chunk - 1) / s.chunk;
        s.ntasks = p->rows * s.nchunks;
    }
    return s;
}

/* ---- binary kernel: o = a op b over a 3-operand plan ---- */

static inline float pow_f(float a, float b) { return powf(a, b); }
static inline float max_f(float a, float b) { return (a > b || isnan(a)) ? a : b; }
static inline float min_f(float a, float b) { return (a < b || isnan(a)) ? a : b; }

#define BIN_LOOP(E)                                                                          \
    do {                                                                                     \
        if (sa == 1 && sb == 1) {                                                            \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                            \
                float x = a[i], y = b[i];                                                    \
                o[i * so] = (E);                                                             \
            }                                                                                \
        } else if (sa == 1 && sb == 0) {                                                     \
            float y = b[0];                                                                  \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                            \
                float x = a[i];                                                              \
                o[i * so] = (E);                                                             \
            }                                                                                \
        } else if (sa == 0 && sb == 1) {                                                     \
            float x = a[0];                                                                  \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                            \
                float y = b[i];                                                              \
                o[i * so] = (E);                                                             \
            }                                                                                \
        } else {                                                                             \
            for (int64_t i = 0; i < n; i++) {                                                \
                float x = a[i * sa], y = b[i * sb];                                          \
                o[i * so] = (E);                                                             \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void binary_row(enum binop op, float *o, int64_t so, const float *a, int64_t sa,
                       const float *b, int64_t sb, int64_t n)
{
    switch (op) {
    case BIN_ADD: BIN_LOOP(x + y); break;
    case BIN_SUB: BIN_LOOP(x - y); break;
    case BIN_MUL: BIN_LOOP(x * y); break;
    case BIN_DIV: BIN_LOOP(x / y); break;
    case BIN_POW: BIN_LOOP(pow_f(x, y)); break;
    case BIN_MAXIMUM: BIN_LOOP(max_f(x, y)); break;
    case BIN_MINIMUM: BIN_LOOP(min_f(x, y)); break;
    }
}

/* o (shape `shape`, strides ostride) = a op b, a and b broadcast to shape. */
static void binary_apply(enum binop op, struct tensor *o, const struct tensor *a,
                         const struct tensor *b)
{
    int64_t as[TENSOR_MAXDIM], bs[TENSOR_MAXDIM];
    broadcast_strides(a, o->ndim, o->shape, as);
    broadcast_strides(b, o->ndim, o->shape, bs);
    const int64_t *strides[3] = {o->stride, as, bs};
    struct plan p;
    plan_init(&p, o->ndim, o->shape, 3, strides);
    struct split s = split_plan(&p);
    float *ob = tensor_f32(o);
    const float *ab = tensor_f32(a), *bb = tensor_f32(b);
    int last = p.ndim - 1;
    PARALLEL_FOR(s.ntasks > 1, task, s.ntasks, {
        int64_t off[3], r = task / s.nchunks, c0 = (task % s.nchunks) * s.chunk;
        int64_t n = p.inner - c0 < s.chunk ? p.inner - c0 : s.chunk;
        plan_offsets(&p, r, off);
        binary_row(op, ob + off[0] + c0 * p.stride[0][last], p.stride[0][last],
                   ab + off[1] + c0 * p.stride[1][last], p.stride[1][last],
                   bb + off[2] + c0 * p.stride[2][last], p.stride[2][last], n);
    });
}

static struct tensor *binary_forward(enum binop op, struct tensor *a, struct tensor *b)
{
    const char *name = binop_name[op];
    if (require_f32(name, a) < 0 || require_f32(name, b) < 0)
        return NULL;
    int64_t shape[TENSOR_MAXDIM];
    int nd = shape_broadcast(name, a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0)
        return NULL;
    struct tensor *o = tensor_new(DT_FLOAT32, nd, shape);
    if (o)
        binary_apply(op, o, a, b);
    return o;
}

/* ---- backward of binary ops ---- */

/* grad_in[i] = sum_to(g, shape of input i), taking ownership of g. */
static int reduce_into(struct ag_node *n, int i, struct tensor *g, struct tensor **grad_in)
{
    if (!g)
        return -1;
    grad_in[i] = op_sum_to(g, n->in[i].ndim, n->in[i].shape);
    tensor_release(g);
    return grad_in[i] ? 0 : -1;
}

static int add_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    if (ag_needs(n, 0) && reduce_into(n, 0, tensor_retain(g), gi) < 0)
        return -1;
    if (ag_needs(n, 1))
        return reduce_into(n, 1, n->iarg[0] ? op_unary(UN_NEG, g) : tensor_retain(g), gi);
    return 0;
}

static int mul_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1);
    if (!a || !b)
        return -1;
    if (ag_needs(n, 0) && reduce_into(n, 0, op_mul(g, b), gi) < 0)
        return -1;
    if (ag_needs(n, 1))
        return reduce_into(n, 1, op_mul(g, a), gi);
    return 0;
}

static int div_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1);
    if (!a || !b)
        return -1;
    struct tensor *ga = op_div(g, b);
    if (!ga)
        return -1;
    if (ag_needs(n, 1)) { /* d(a/b)/db = -(a/b)/b, so gb = -ga * a / b */
        struct tensor *t = op_mul(ga, a), *t2 = t ? op_div(t, b) : NULL;
        tensor_release(t);
        struct tensor *neg = t2 ? op_unary(UN_NEG, t2) : NULL;
        tensor_release(t2);
        if (reduce_into(n, 1, neg, gi) < 0) {
            tensor_release(ga);
            return -1;
        }
    }
    if (ag_needs(n, 0))
        return reduce_into(n, 0, ga, gi);
    tensor_release(ga);
    return 0;
}

static int pow_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1), *out = ag_saved(n, 2);
    if (!a || !b || !out)
        return -1;
    if (ag_needs(n, 0)) { /* b * a^(b-1) = b * out / a, but computed directly to survive a=0 */
        struct tensor *bm1 = op_binary_scalar(BIN_SUB, b, 1.0f);
        struct tensor *p = bm1 ? op_binary(BIN_POW, a, bm1) : NULL;
        struct tensor *t = p ? op_mul(p, b) : NULL;
        struct tensor *ga = t ? op_mul(g, t) : NULL;
        tensor_release(bm1);
        tensor_release(p);
        tensor_release(t);
        if (reduce_into(n, 0, ga, gi) < 0)
            return -1;
    }
    if (ag_needs(n, 1)) { /* out * log(a); PyTorch masks a == 0 (and b >= 0) to 0 */
        struct tensor *la = op_unary(UN_LOG, a);
        struct tensor *t = la ? op_mul(out, la) : NULL;
        struct tensor *z = op_compare_scalar(CMP_EQ, a, 0.0);
        struct tensor *zero = tensor_scalar(0.0f);
        struct tensor *masked = t && z && zero ? op_where(z, zero, t) : NULL;
        struct tensor *gb = masked ? op_mul(g, masked) : NULL;
        tensor_release(la);
        tensor_release(t);
        tensor_release(z);
        tensor_release(zero);
        tensor_release(masked);
        return reduce_into(n, 1, gb, gi);
    }
    return 0;
}

/* maximum/minimum: the gradient goes to the larger (smaller) input; ties split it in half,
 * as PyTorch does. */
static int minmax_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1);
    if (!a || !b)
        return -1;
    enum cmpop win = n->iarg[0] == BIN_MAXIMUM ? CMP_GT : CMP_LT;
    for (int i = 0; i < 2; i++) {
        if (!ag_needs(n, i))
            continue;
        struct tensor *x = i == 0 ? a : b, *y = i == 0 ? b : a;
        struct tensor *w = op_compare(win, x, y), *t = op_compare(CMP_EQ, x, y);
        struct tensor *wf = w ? op_to_dtype(w, DT_FLOAT32) : NULL;
        struct tensor *tf = t ? op_to_dtype(t, DT_FLOAT32) : NULL;
        struct tensor *half = tf ? op_binary_scalar(BIN_MUL, tf, 0.5f) : NULL;
        struct tensor *sel = wf && half ? op_add(wf, half) : NULL;
        struct tensor *gx = sel ? op_mul(g, sel) : NULL;
        tensor_release(w);
        tensor_release(t);
        tensor_release(wf);
        tensor_release(tf);
        tensor_release(half);
        tensor_release(sel);
        if (reduce_into(n, i, gx, gi) < 0)
            return -1;
    }
    return 0;
}

struct tensor *op_binary(enum binop op, struct tensor *a, struct tensor *b)
{
    struct tensor *out = binary_forward(op, a, b);
    struct tensor *ins[2] = {a, b};
    struct ag_node *n;
    switch (op) {
    case BIN_ADD:
    case BIN_SUB:
        n = ag_record(&out, op == BIN_ADD ? "AddBackward" : "SubBackward", add_backward, 2, ins);
        if (n)
            n->iarg[0] = op == BIN_SUB;
        break;
    case BIN_MUL:
        if ((n = ag_record(&out, "MulBackward", mul_backward, 2, ins))) {
            ag_save(n, a);
            ag_save(n, b);
        }
        break;
    case BIN_DIV:
        if ((n = ag_record(&out, "DivBackward", div_backward, 2, ins))) {
            ag_save(n, a);
            ag_save(n, b);
        }
        break;
    case BIN_POW:
        if ((n = ag_record(&out, "PowBackward", pow_backward, 2, ins))) {
            ag_save(n, a);
            ag_save(n, b);
            ag_save(n, out);
        }
        break;
    case BIN_MAXIMUM:
    case BIN_MINIMUM:
        n = ag_record(&out, op == BIN_MAXIMUM ? "MaximumBackward" : "MinimumBackward",
                      minmax_backward, 2, ins);
        if (n) {
            n->iarg[0] = op;
            ag_save(n, a);
            ag_save(n, b);
        }
        break;
    }
    return out;
}

struct tensor *op_binary_scalar(enum binop op, struct tensor *a, float s)
{
    struct tensor *b = tensor_scalar(s);
    if (!b)
        return NULL;
    struct tensor *out = op_binary(op, a, b);
    tensor_release(b);
    return out;
}

struct tensor *op_scalar_lhs(enum binop op, float s, struct tensor *a)
{
    struct tensor *b = tensor_scalar(s);
    if (!b)
        return NULL;
    struct tensor *out = op_binary(op, b, a);
    tensor_release(b);
    return out;
}

/* ---- unary ---- */

static inline float sigmoid_f(float x) { return 1.0f / (1.0f + expf(-x)); }
static inline float sign_f(float x) { return (float)((x > 0) - (x < 0)); }
static inline float relu_f(float x) { return x > 0 ? x : (isnan(x) ? x : 0.0f); }

#define UN_LOOP(E)                                                                           \
    do {                                                                                     \
        if (si == 1 && so == 1) {                                                            \
            _Pragma("omp simd") for (int64_t i = 0; i < n; i++) {                            \
                float x = in[i];                                                             \
                o[i] = (E);                                                                  \
            }                                                                                \
        } else {                                                                             \
            for (int64_t i = 0; i < n; i++) {                                                \
                float x = in[i * si];                                                        \
                o[i * so] = (E);                                                             \
            }                                                                                \
        }                                                                                    \
    } while (0)

static void unary_row(enum unop op, float lo, float hi, float *o, int64_t so, const float *in,
                      int64_t si, int64_t n)
{
    switch (op) {
    case UN_NEG: UN_LOOP(-x); break;
    case UN_ABS: UN_LOOP(fabsf(x)); break;
    case UN_EXP: UN_LOOP(expf(x)); break;
    case UN_LOG: UN_LOOP(logf(x)); break;
    case UN_SQRT: UN_LOOP(sqrtf(x)); break;
    case UN_TANH: UN_LOOP(tanhf(x)); break;
    case UN_SIGMOID: UN_LOOP(sigmoid_f(x)); break;
    case UN_RELU: UN_LOOP(relu_f(x)); break;
    case UN_SIGN: UN_LOOP(sign_f(x)); break;
    case UN_SIN: UN_LOOP(sinf(x)); break;
    case UN_COS: UN_LOOP(cosf(x)); break;
    case UN_SQUARE: UN_LOOP(x * x); break;
    case UN_RSQRT: UN_LOOP(1.0f / sqrtf(x)); break;
    case UN_RECIPROCAL: UN_LOOP(1.0f / x); break;
    }
    (void)lo;
    (void)hi;
}

/* clamp keeps NaN inputs as NaN, like torch.clamp */
static void clamp_row(float lo, float hi, float *o, int64_t so, const float *in, int64_t si,
                      int64_t n)
{
    bool has_lo = !isnan(lo), has_hi = !isnan(hi);
    if (has_lo && has_hi) /* max(x, lo) then min(., hi): with lo > hi everything is hi */
        UN_LOOP((x < lo ? lo : x) > hi ? hi : (x < lo ? lo : x));
    else if (has_lo)
        UN_LOOP(x < lo ? lo : x);
    else
        UN_LOOP(x > hi ? hi : x);
}

/* o = f(x) elementwise; o and x have the same shape. clamp uses lo/hi. */
static void unary_apply(int op, float lo, float hi, struct tensor *o, const struct tensor *x)
{
    const int64_t *strides[2] = {o->stride, x->stride};
    struct plan p;
    plan_init(&p, o->ndim, o->shape, 2, strides);
    struct split s = split_plan(&p);
    float *ob = tensor_f32(o);
    const float *xb = tensor_f32(x);
    int last = p.ndim - 1;
    PARALLEL_FOR(s.ntasks > 1, task, s.ntasks, {
        int64_t off[2], r = task / s.nchunks, c0 = (task % s.nchunks) * s.chunk;
        int64_t n = p.inner - c0 < s.chunk ? p.inner - c0 : s.chunk;
        plan_offsets(&p, r, off);
        float *orow = ob + off[0] + c0 * p.stride[0][last];
        const float *xrow = xb + off[1] + c0 * p.stride[1][last];
        if (op < 0)
            clamp_row(lo, hi, orow, p.stride[0][last], xrow, p.stride[1][last], n);
        else
            unary_row((enum unop)op, lo, hi, orow, p.stride[0][last], xrow, p.stride[1][last],
                      n);
    });
}

/* ReLU's gradient g·(x > 0) in one pass over contiguous g and x (as compare, convert and
 * multiply it took three passes and two temporaries: 3% of a ResNet-18 training step). */
static struct tensor *relu_grad(const struct tensor *g, const struct tensor *x)
{
    struct tensor *o = tensor_new(DT_FLOAT32, x->ndim, x->shape);
    if (!o)
        return NULL;
    const float *gp = tensor_f32(g), *xp = tensor_f32(x);
    float *op = tensor_f32(o);
    int64_t n = tensor_numel(x), chunk = 16384, tasks = (n + chunk - 1) / chunk;
    PARALLEL_FOR(n > PAR_MIN_ELEMS, t, tasks, {
        int64_t lo = t * chunk, hi = lo + chunk < n ? lo + chunk : n;
        _Pragma("omp simd") for (int64_t i = lo; i < hi; i++)
            op[i] = gp[i] * (xp[i] > 0 ? 1.0f : 0.0f);
    });
    return o;
}

static int unary_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    /* saved[0] is the input x, saved[1] the output y where the derivative uses it */
    struct tensor *x = ag_saved(n, 0);
    if (!x)
        return -1;
    struct tensor *d = NULL, *t = NULL, *y = NULL;
    switch ((enum unop)n->iarg[0]) {
    case UN_NEG: gi[0] = op_unary(UN_NEG, g); return gi[0] ? 0 : -1;
    case UN_ABS: d = op_unary(UN_SIGN, x); break;
    case UN_SIGN: /* piecewise constant: zero gradient, as PyTorch */
        gi[0] = tensor_zeros(DT_FLOAT32, x->ndim, x->shape);
        return gi[0] ? 0 : -1;
    case UN_EXP:
        if (!(y = ag_saved(n, 1)))
            return -1;
        gi[0] = op_mul(g, y);
        return gi[0] ? 0 : -1;
    case UN_LOG: gi[0] = op_div(g, x); return gi[0] ? 0 : -1;
    case UN_SQRT: /* g / (2 sqrt x) */
        if (!(y = ag_saved(n, 1)))
            return -1;
        t = op_binary_scalar(BIN_MUL, y, 2.0f);
        gi[0] = t ? op_div(g, t) : NULL;
        tensor_release(t);
        return gi[0] ? 0 : -1;
    case UN_TANH: /* 1 - y^2 */
        if (!(y = ag_saved(n, 1)))
            return -1;
        t = op_unary(UN_SQUARE, y);
        d = t ? op_scalar_lhs(BIN_SUB, 1.0f, t) : NULL;
        break;
    case UN_SIGMOID: /* y (1 - y) */
        if (!(y = ag_saved(n, 1)))
            return -1;
        t = op_scalar_lhs(BIN_SUB, 1.0f, y);
        d = t ? op_mul(y, t) : NULL;
        break;
    case UN_RELU: {
        if (tensor_is_contiguous(g) && tensor_is_contiguous(x)) {
            gi[0] = relu_grad(g, x);
            return gi[0] ? 0 : -1;
        }
        struct tensor *m = op_compare_scalar(CMP_GT, x, 0.0);
        d = m ? op_to_dtype(m, DT_FLOAT32) : NULL;
        tensor_release(m);
        break;
    }
    case UN_SIN: d = op_unary(UN_COS, x); break;
    case UN_COS:
        t = op_unary(UN_SIN, x);
        d = t ? op_unary(UN_NEG, t) : NULL;
        break;
    case UN_SQUARE: d = op_binary_scalar(BIN_MUL, x, 2.0f); break;
    case UN_RSQRT: /* -0.5 x^-1.5 = -0.5 y^3 */
        if (!(y = ag_saved(n, 1)))
            return -1;
        t = op_binary_scalar(BIN_POW, y, 3.0f);
        d = t ? op_binary_scalar(BIN_MUL, t, -0.5f) : NULL;
        break;
    case UN_RECIPROCAL: /* -y^2 */
        if (!(y = ag_saved(n, 1)))
            return -1;
        t = op_unary(UN_SQUARE, y);
        d = t ? op_unary(UN_NEG, t) : NULL;
        break;
    }
    tensor_release(t);
    if (!d)
        return -1;
    gi[0] = op_mul(g, d);
    tensor_release(d);
    return gi[0] ? 0 : -1;
}

static const char *unary_node_name[] = {
    "NegBackward", "AbsBackward", "ExpBackward", "LogBackward", "SqrtBackward",
    "TanhBackward", "SigmoidBackward", "ReluBackward", "SignBackward", "SinBackward",
    "CosBackward", "SquareBackward", "RsqrtBackward", "ReciprocalBackward"};

struct tensor *op_unary(enum unop op, struct tensor *x)
{
    if (require_f32(unop_name[op], x) < 0)
        return NULL;
    struct tensor *out = tensor_new(DT_FLOAT32, x->ndim, x->shape);
    if (!out)
        return NULL;
    unary_apply(op, NAN, NAN, out, x);
    struct ag_node *n = ag_record(&out, unary_node_name[op], unary_backward, 1, &x);
    if (n) {
        n->iarg[0] = op;
        ag_save(n, x);
        if (op == UN_EXP || op == UN_SQRT || op == UN_TANH || op == UN_SIGMOID ||
            op == UN_RSQRT || op == UN_RECIPROCAL)
            ag_save(n, out);
    }
    return out;
}

static int clamp_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    /* gradient flows where lo <= x <= hi (PyTorch's convention at the bounds) */
    struct tensor *x = ag_saved(n, 0);
    if (!x)
        return -1;
    float lo = (float)n->farg[0], hi = (float)n->farg[1];
    if (lo > hi) { /* no x has lo <= x <= hi */
        gi[0] = tensor_zeros(DT_FLOAT32, x->ndim, x->shape);
        return gi[0] ? 0 : -1;
    }
    struct tensor *in = op_clamp(x, lo, hi);
    struct tensor *m = in ? op_compare(CMP_EQ, in, x) : NULL;
    struct tensor *mf = m ? op_to_dtype(m, DT_FLOAT32) : NULL;
    gi[0] = mf ? op_mul(g, mf) : NULL;
    tensor_release(in);
    tensor_release(m);
    tensor_release(mf);
    return gi[0] ? 0 : -1;
}

struct tensor *op_clamp(struct tensor *x, float lo, float hi)
{
    if (require_f32("clamp", x) < 0)
        return NULL;
    if (isnan(lo) && isnan(hi)) {
        err_set("clamp: at least one of min and max must be given");
        return NULL;
    }
    struct tensor *out = tensor_new(DT_FLOAT32, x->ndim, x->shape);
    if (!out)
        return NULL;
    unary_apply(-1, lo, hi, out, x);
    struct ag_node *n = ag_record(&out, "ClampBackward", clamp_backward, 1, &x);
    if (n) {
        n->farg[0] = lo;
        n->farg[1] = hi;
        ag_save(n, x);
    }
    return out;
}

/* ---- comparisons and where (any dtype, compared as double) ---- */

static inline double load_as_double(const char *base, enum dtype dt, int64_t i)
{
    switch (dt) {
    case DT_FLOAT32: return ((const float *)base)[i];
    case DT_INT64: return (double)((const int64_t *)base)[i];
    case DT_UINT8: return ((const uint8_t *)base)[i];
    }
    return 0;
}

static inline bool compare(enum cmpop op, double x, double y)
{
    switch (op) {
    case CMP_EQ: return x == y;
    case CMP_NE: return x != y;
    case CMP_LT: return x < y;
    case CMP_LE: return x <= y;
    case CMP_GT: return x > y;
    case CMP_GE: return x >= y;
    }
    return false;
}

struct tensor *op_compare(enum cmpop op, struct tensor *a, struct tensor *b)
{
    static const char *names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    int64_t shape[TENSOR_MAXDIM], as[TENSOR_MAXDIM], bs[TENSOR_MAXDIM];
    int nd = shape_broadcast(names[op], a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0)
        return NULL;
    struct tensor *o = tensor_new(DT_UINT8, nd, shape);
    if (!o)
        return NULL;
    broadcast_strides(a, nd, shape, as);
    broadcast_strides(b, nd, shape, bs);
    const int64_t *strides[3] = {o->stride, as, bs};
    struct plan p;
    plan_init(&p, nd, shape, 3, strides);
    uint8_t *ob = tensor_u8(o);
    const char *ab = tensor_data(a), *bb = tensor_data(b);
    int last = p.ndim - 1;
    bool fast = a->dtype == DT_FLOAT32 && b->dtype == DT_FLOAT32;
    PARALLEL_FOR(p.rows * p.inner > PAR_MIN_ELEMS && p.rows > 1, r, p.rows, {
        int64_t off[3];
        plan_offsets(&p, r, off);
        int64_t so = p.stride[0][last], sa = p.stride[1][last], sb = p.stride[2][last];
        if (fast) {
            const float *x = (const float *)ab + off[1], *y = (const float *)bb + off[2];
            for (int64_t i = 0; i < p.inner; i++)
                ob[off[0] + i * so] = compare(op, x[i * sa], y[i * sb]);
        } else {
            for (int64_t i = 0; i < p.inner; i++)
                ob[off[0] + i * so] = compare(op, load_as_double(ab, a->dtype, off[1] + i * sa),
                                              load_as_double(bb, b->dtype, off[2] + i * sb));
        }
    });
    return o;
}

struct tensor *op_compare_scalar(enum cmpop op, struct tensor *a, double s)
{
    struct tensor *b = tensor_new(DT_FLOAT32, 0, NULL);
    if (!b)
        return NULL;
    struct tensor *out;
    if (a->dtype == DT_FLOAT32 || (double)(float)s == s) {
        *tensor_f32(b) = (float)s;
        out = op_compare(op, a, b);
    } else { /* keep integer comparisons exact beyond float precision */
        struct tensor *bi = tensor_new(DT_INT64, 0, NULL);
        if (!bi) {
            tensor_release(b);
            return NULL;
        }
        *tensor_i64(bi) = (int64_t)s;
        out = op_compare(op, a, bi);
        tensor_release(bi);
    }
    tensor_release(b);
    return out;
}

static int where_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *c = ag_saved(n, 0);
    if (!c)
        return -1;
    struct tensor *zero = tensor_scalar(0.0f);
    if (!zero)
        return -1;
    int rc = 0;
    if (ag_needs(n, 1))
        rc = reduce_into(n, 1, op_where(c, g, zero), gi);
    if (rc == 0 && ag_needs(n, 2))
        rc = reduce_into(n, 2, op_where(c, zero, g), gi);
    tensor_release(zero);
    return rc;
}

struct tensor *op_where(struct tensor *cond, struct tensor *a, struct tensor *b)
{
    if (require_f32("where", a) < 0 || require_f32("where", b) < 0)
        return NULL;
    int64_t s1[TENSOR_MAXDIM], shape[TENSOR_MAXDIM];
    int nd = shape_broadcast("where", a->ndim, a->shape, b->ndim, b->shape, s1);
    if (nd < 0 || (nd = shape_broadcast("where", cond->ndim, cond->shape, nd, s1, shape)) < 0)
        return NULL;
    struct tensor *o = tensor_new(DT_FLOAT32, nd, shape);
    if (!o)
        return NULL;
    int64_t cs[TENSOR_MAXDIM], as[TENSOR_MAXDIM], bs[TENSOR_MAXDIM];
    broadcast_strides(cond, nd, shape, cs);
    broadcast_strides(a, nd, shape, as);
    broadcast_strides(b, nd, shape, bs);
    const int64_t *strides[4] = {o->stride, cs, as, bs};
    struct plan p;
    plan_init(&p, nd, shape, 4, strides);
    float *ob = tensor_f32(o);
    const char *cb = tensor_data(cond);
    const float *ab = tensor_f32(a), *bb = tensor_f32(b);
    int last = p.ndim - 1;
    PARALLEL_FOR(p.rows * p.inner > PAR_MIN_ELEMS && p.rows > 1, r, p.rows, {
        int64_t off[4];
        plan_offsets(&p, r, off);
        for (int64_t i = 0; i < p.inner; i++) {
            bool c = load_as_double(cb, cond->dtype, off[1] + i * p.stride[1][last]) != 0;
            ob[off[0] + i * p.stride[0][last]] =
                c ? ab[off[2] + i * p.stride[2][last]] : bb[off[3] + i * p.stride[3][last]];
        }
    });
    struct tensor *ins[3] = {cond, a, b};
    struct ag_node *n = ag_record(&o, "WhereBackward", where_backward, 3, ins);
    if (n)
        ag_save(n, cond);
    return o;
}

/* ---- in place ---- */

int op_binary_(enum binop op, struct tensor *a, struct tensor *b)
{
    char name[16];
    snprintf(name, sizeof name, "%s_", binop_name[op]);
    if (ag_check_inplace(name, a) < 0 || require_f32(name, a) < 0 || require_f32(name, b) < 0)
        return -1;
    int64_t shape[TENSOR_MAXDIM];
    int nd = shape_broadcast(name, a->ndim, a->shape, b->ndim, b->shape, shape);
    if (nd < 0)
        return -1;
    bool fits = nd == a->ndim;
    for (int d = 0; d < nd && fits; d++)
        fits = shape[d] == a->shape[d];
    if (!fits)
        return err_set("%s: the result of shape %s does not fit the tensor of shape %s", name,
                       shape_fmt(nd, shape), tshape(a));
    /* b may alias a (x:add_(x)): elementwise reads precede writes at the same position, so
     * only a partial overlap with different strides could go wrong; copy b then. */
    struct tensor *bc = NULL;
    if (b->storage == a->storage && b != a &&
        !(b->offset == a->offset && tensor_same_shape(a, b) &&
          !memcmp(a->stride, b->stride, sizeof(int64_t) * (size_t)a->ndim))) {
        if (!(bc = tensor_copy(b)))
            return -1;
        b = bc;
    }
    binary_apply(op, a, a, b);
    tensor_release(bc);
    tensor_bump_version(a);
    return 0;
}

int op_binary_scalar_(enum binop op, struct tensor *a, float s)
{
    struct tensor *b = tensor_scalar(s);
    if (!b)
        return -1;
    int rc = op_binary_(op, a, b);
    tensor_release(b);
    return rc;
}

int op_add_scaled_(struct tensor *a, struct tensor *b, float alpha)
{
    if (alpha == 1.0f)
        return op_binary_(BIN_ADD, a, b);
    bool was = ag_set_grad_enabled(false);
    struct tensor *sb = op_binary_scalar(BIN_MUL, b, alpha);
    ag_set_grad_enabled(was);
    if (!sb)
        return -1;
    int rc = op_binary_(BIN_ADD, a, sb);
    tensor_release(sb);
    return rc;
}

int op_unary_(enum unop op, struct tensor *x)
{
    char name[16];
    snprintf(name, sizeof name, "%s_", unop_name[op]);
    if (ag_check_inplace(name, x) < 0 || require_f32(name, x) < 0)
        return -1;
    unary_apply(op, NAN, NAN, x, x);
    tensor_bump_version(x);
    return 0;
}

int op_clamp_(struct tensor *x, float lo, float hi)
{
    if (ag_check_inplace("clamp_", x) < 0 || require_f32("clamp_", x) < 0)
        return -1;
    if (isnan(lo) && isnan(hi))
        return err_set("clamp_: at least one of min and max must be given");
    unary_apply(-1, lo, hi, x, x);
    tensor_bump_version(x);
    return 0;
}

int op_copy_(struct tensor *dst, struct tensor *src)
{
    if (ag_check_inplace("copy_", dst) < 0)
        return -1;
    struct tensor *sc = NULL;
    if (src->storage == dst->storage && !(sc = tensor_copy(src)))
        return -1;
    int rc = tensor_copy_into(dst, sc ? sc : src);
    tensor_release(sc);
    if (rc == 0)
        tensor_bump_version(dst);
    return rc;
}

int op_fill_(struct tensor *dst, double v)
{
    if (ag_check_inplace("fill_", dst) < 0)
        return -1;
    int rc = tensor_fill(dst, v);
    if (rc == 0)
        tensor_bump_version(dst);
    return rc;
}

int op_masked_fill_(struct tensor *dst, struct tensor *mask, double v)
{
    if (ag_check_inplace("masked_fill_", dst) < 0)
        return -1;
    int64_t shape[TENSOR_MAXDIM], ms[TENSOR_MAXDIM];
    int nd = shape_broadcast("masked_fill_", dst->ndim, dst->shape, mask->ndim, mask->shape,
                             shape);
    if (nd < 0)
        return -1;
    for (int d = 0; d < nd; d++)
        if (nd != dst->ndim || shape[d] != dst->shape[d])
            return err_set("masked_fill_: mask of shape %s does not fit a tensor of shape %s",
                           tshape(mask), tshape(dst));
    broadcast_strides(mask, nd, shape, ms);
    int64_t n = tensor_numel(dst);
    char *db = tensor_data(dst);
    const char *mb = tensor_data(mask);
    size_t es = dtype_size(dst->dtype);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, od = 0, om = 0;
        for (int d = nd - 1; d >= 0; d--) {
            int64_t k = rem % shape[d];
            rem /= shape[d];
            od += k * dst->stride[d];
            om += k * ms[d];
        }
        if (load_as_double(mb, mask->dtype, om) == 0)
            continue;
        char *p = db + od * (int64_t)es;
        switch (dst->dtype) {
        case DT_FLOAT32: *(float *)p = (float)v; break;
        case DT_INT64: *(int64_t *)p = (int64_t)v; break;
        case DT_UINT8: *(uint8_t *)p = (uint8_t)(int64_t)v; break;
        }
    }
    tensor_bump_version(dst);
    return 0;
}
