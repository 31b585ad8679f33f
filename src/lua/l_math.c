/* l_math.c — arithmetic (metamethods and methods), unary functions, comparisons, where,
 * in-place updates, reductions, linear algebra and the nn functions. */
#include "loupe/lbind.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"

#include <math.h>
#include <string.h>

/* ---- binary arithmetic: tensor op tensor, tensor op number, number op tensor ---- */

static int binary(lua_State *L, enum binop op)
{
    struct tensor *a = lb_to_tensor(L, 1), *b = lb_to_tensor(L, 2);
    if (a && b) {
        lb_push_tensor(L, op_binary(op, a, b));
    } else if (a && lua_type(L, 2) == LUA_TNUMBER) {
        lb_push_tensor(L, op_binary_scalar(op, a, (float)lua_tonumber(L, 2)));
    } else if (b && lua_type(L, 1) == LUA_TNUMBER) {
        lb_push_tensor(L, op_scalar_lhs(op, (float)lua_tonumber(L, 1), b));
    } else {
        int bad = a ? 2 : 1;
        return luaL_error(L, "%s: expected a tensor or number for argument %d, got %s",
                          (const char *[]){"add", "sub", "mul", "div", "pow", "maximum",
                                           "minimum"}[op],
                          bad, luaL_typename(L, bad));
    }
    return 1;
}

static int m_add(lua_State *L)
{
    if (!lua_isnoneornil(L, 3)) { /* add(other, alpha) = self + alpha * other */
        struct tensor *a = lb_check_tensor(L, 1);
        float alpha = (float)luaL_checknumber(L, 3); /* before b holds a reference */
        struct tensor *b = lb_tensor_or_number(L, 2);
        struct tensor *sb = op_binary_scalar(BIN_MUL, b, alpha);
        tensor_release(b);
        struct tensor *r = sb ? op_add(a, sb) : NULL;
        tensor_release(sb);
        lb_push_tensor(L, r);
        return 1;
    }
    return binary(L, BIN_ADD);
}

static int m_sub(lua_State *L) { return binary(L, BIN_SUB); }
static int m_mul(lua_State *L) { return binary(L, BIN_MUL); }
static int m_div(lua_State *L) { return binary(L, BIN_DIV); }
static int m_pow(lua_State *L) { return binary(L, BIN_POW); }
static int m_maximum(lua_State *L) { return binary(L, BIN_MAXIMUM); }
static int m_minimum(lua_State *L) { return binary(L, BIN_MINIMUM); }


/* ---- unary ---- */

#define UNARY(name, op)                                                                     \
    static int m_##name(lua_State *L)                                                       \
    {                                                                                       \
        lb_push_tensor(L, op_unary(op, lb_check_tensor(L, 1)));                             \
        return 1;                                                                           \
    }
UNARY(neg, UN_NEG)
UNARY(abs, UN_ABS)
UNARY(exp, UN_EXP)
UNARY(log, UN_LOG)
UNARY(sqrt, UN_SQRT)
UNARY(tanh, UN_TANH)
UNARY(sigmoid, UN_SIGMOID)
UNARY(relu, UN_RELU)
UNARY(sign, UN_SIGN)
UNARY(sin, UN_SIN)
UNARY(cos, UN_COS)
UNARY(square, UN_SQUARE)
UNARY(rsqrt, UN_RSQRT)
UNARY(reciprocal, UN_RECIPROCAL)

static float opt_bound(lua_State *L, int i)
{
    return lua_isnoneornil(L, i) ? NAN : (float)luaL_checknumber(L, i);
}

static int m_clamp(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    lb_push_tensor(L, op_clamp(x, opt_bound(L, 2), opt_bound(L, 3)));
    return 1;
}

/* ---- comparisons ---- */

static int compare(lua_State *L, enum cmpop op)
{
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_to_tensor(L, 2);
    if (b)
        lb_push_tensor(L, op_compare(op, a, b));
    else
        lb_push_tensor(L, op_compare_scalar(op, a, luaL_checknumber(L, 2)));
    return 1;
}

static int m_eq(lua_State *L) { return compare(L, CMP_EQ); }
static int m_ne(lua_State *L) { return compare(L, CMP_NE); }
static int m_lt(lua_State *L) { return compare(L, CMP_LT); }
static int m_le(lua_State *L) { return compare(L, CMP_LE); }
static int m_gt(lua_State *L) { return compare(L, CMP_GT); }
static int m_ge(lua_State *L) { return compare(L, CMP_GE); }

/* where(cond, a, b): a and b may be numbers */
static int l_where(lua_State *L)
{
    struct tensor *c = lb_check_tensor(L, 1);
    /* check both before taking references: an error raised after a would leak it */
    for (int i = 2; i <= 3; i++)
        if (!lb_to_tensor(L, i) && lua_type(L, i) != LUA_TNUMBER)
            return luaL_error(L, "where: expected a tensor or number for argument %d, got %s",
                              i, luaL_typename(L, i));
    struct tensor *a = lb_tensor_or_number(L, 2), *b = lb_tensor_or_number(L, 3);
    struct tensor *r = op_where(c, a, b);
    tensor_release(a);
    tensor_release(b);
    lb_push_tensor(L, r);
    return 1;
}

static int m_allclose(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_check_tensor(L, 2);
    int rc = op_allclose(a, b, luaL_optnumber(L, 3, 1e-5), luaL_optnumber(L, 4, 1e-8));
    if (rc < 0)
        return lb_fail(L);
    lua_pushboolean(L, rc);
    return 1;
}

static int m_equal(lua_State *L)
{
    lua_pushboolean(L, op_equal(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
    return 1;
}

/* ---- in place: return self ---- */

static int inplace_done(lua_State *L, int rc)
{
    if (rc < 0)
        return lb_fail(L);
    lua_settop(L, 1);
    return 1;
}

static int inplace_binary(lua_State *L, enum binop op)
{
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_to_tensor(L, 2);
    if (b)
        return inplace_done(L, op_binary_(op, a, b));
    return inplace_done(L, op_binary_scalar_(op, a, (float)luaL_checknumber(L, 2)));
}

static int m_add_(lua_State *L)
{
    if (!lua_isnoneornil(L, 3)) {
        struct tensor *a = lb_check_tensor(L, 1);
        float alpha = (float)luaL_checknumber(L, 3); /* before b holds a reference */
        struct tensor *b = lb_tensor_or_number(L, 2);
        int rc = op_add_scaled_(a, b, alpha);
        tensor_release(b);
        return inplace_done(L, rc);
    }
    return inplace_binary(L, BIN_ADD);
}

static int m_sub_(lua_State *L) { return inplace_binary(L, BIN_SUB); }
static int m_mul_(lua_State *L) { return inplace_binary(L, BIN_MUL); }
static int m_div_(lua_State *L) { return inplace_binary(L, BIN_DIV); }
static int m_pow_(lua_State *L) { return inplace_binary(L, BIN_POW); }

static int m_copy_(lua_State *L)
{
    return inplace_done(L, op_copy_(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
}

static int m_fill_(lua_State *L)
{
    return inplace_done(L, op_fill_(lb_check_tensor(L, 1), luaL_checknumber(L, 2)));
}

static int m_zero_(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (ag_check_inplace("zero_", t) < 0) /* named as called, not as fill_ */
        return lb_fail(L);
    return inplace_done(L, op_fill_(t, 0));
}

static int m_clamp_(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    return inplace_done(L, op_clamp_(x, opt_bound(L, 2), opt_bound(L, 3)));
}

static int m_masked_fill_(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1), *m = lb_check_tensor(L, 2);
    return inplace_done(L, op_masked_fill_(x, m, luaL_checknumber(L, 3)));
}

static int m_relu_(lua_State *L) { return inplace_done(L, op_unary_(UN_RELU, lb_check_tensor(L, 1))); }

/* ---- reductions: x:f() over everything, x:f(dim [, keepdim]) over one dim ---- */

static int opt_dim(lua_State *L, int i, const struct tensor *t)
{
    return lua_isnoneornil(L, i) ? DIM_ALL : lb_check_dim(L, i, t->ndim);
}

#define REDUCE(name, call)                                                                  \
    static int m_##name(lua_State *L)                                                       \
    {                                                                                       \
        struct tensor *x = lb_check_tensor(L, 1);                                           \
        int dim = opt_dim(L, 2, x);                                                         \
        bool keep = lua_toboolean(L, 3);                                                    \
        lb_push_tensor(L, call);                                                            \
        return 1;                                                                           \
    }
REDUCE(sum, op_sum(x, dim, keep))
REDUCE(mean, op_mean(x, dim, keep))
REDUCE(prod, op_prod(x, dim, keep))
REDUCE(argmax, op_argmax(x, dim, keep, 1))
REDUCE(argmin, op_argmin(x, dim, keep, 1))

/* var/std(dim, keepdim, unbiased=true) */
static int var_std(lua_State *L, bool is_std)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int dim = opt_dim(L, 2, x);
    bool keep = lua_toboolean(L, 3);
    double corr = lua_isnoneornil(L, 4) || lua_toboolean(L, 4) ? 1.0 : 0.0;
    lb_push_tensor(L, is_std ? op_std(x, dim, corr, keep) : op_var(x, dim, corr, keep));
    return 1;
}

static int m_var(lua_State *L) { return var_std(L, false); }
static int m_std(lua_State *L) { return var_std(L, true); }

/* norm(p=2, dim, keepdim); p may be a number, "inf" or "fro" */
static int m_norm(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    double p = 2;
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *s = lua_tostring(L, 2);
        if (!strcmp(s, "inf"))
            p = INFINITY;
        else if (strcmp(s, "fro"))
            return luaL_error(L, "norm: p must be a number, 'inf' or 'fro', got '%s'", s);
    } else if (!lua_isnoneornil(L, 2)) {
        p = luaL_checknumber(L, 2);
    }
    int dim = opt_dim(L, 3, x);
    lb_push_tensor(L, op_norm(x, p, dim, lua_toboolean(L, 4)));
    return 1;
}

/* max() -> value; max(dim [, keepdim]) -> values, indices; max(other) -> elementwise */
static int max_min(lua_State *L, bool is_max)
{
    struct tensor *x = lb_check_tensor(L, 1);
    if (lb_to_tensor(L, 2))
        return binary(L, is_max ? BIN_MAXIMUM : BIN_MINIMUM);
    if (lua_isnoneornil(L, 2)) {
        lb_push_tensor(L, is_max ? op_max(x, DIM_ALL, false, NULL, 1)
                                 : op_min(x, DIM_ALL, false, NULL, 1));
        return 1;
    }
    int dim = lb_check_dim(L, 2, x->ndim);
    struct tensor *idx = NULL;
    struct tensor *v = is_max ? op_max(x, dim, lua_toboolean(L, 3), &idx, 1)
                              : op_min(x, dim, lua_toboolean(L, 3), &idx, 1);
    if (!v)
        return lb_fail(L);
    lb_push_tensor(L, v);
    lb_push_tensor(L, idx);
    return 2;
}

static int m_max(lua_State *L) { return max_min(L, true); }
static int m_min(lua_State *L) { return max_min(L, false); }

/* ---- linear algebra and nn functions ---- */

static int m_mm(lua_State *L)
{
    lb_push_tensor(L, op_mm(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
    return 1;
}

static int m_bmm(lua_State *L)
{
    lb_push_tensor(L, op_bmm(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
    return 1;
}

static int m_matmul(lua_State *L)
{
    lb_push_tensor(L, op_matmul(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
    return 1;
}

static int m_dot(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_check_tensor(L, 2);
    if (a->ndim != 1 || b->ndim != 1 || a->shape[0] != b->shape[0])
        return luaL_error(L, "dot: expected 1-D tensors of the same size, got %s and %s",
                          tshape(a), tshape(b));
    lb_push_tensor(L, op_matmul(a, b));
    return 1;
}

/* einsum(eq, a, b, ...) or einsum(eq, {a, b, ...}) */
static int l_einsum(lua_State *L)
{
    const char *eq = luaL_checkstring(L, 1);
    struct tensor *ops[8];
    int n = 0;
    if (lua_istable(L, 2) && !lb_to_tensor(L, 2)) {
        n = (int)lua_rawlen(L, 2);
        if (n > 8)
            return luaL_error(L, "einsum: at most 8 operands, got %d", n);
        for (int i = 0; i < n; i++) {
            lua_rawgeti(L, 2, i + 1);
            ops[i] = lb_to_tensor(L, -1);
            if (!ops[i])
                return luaL_error(L, "einsum: operand %d is not a tensor", i + 1);
            lua_pop(L, 1);
        }
    } else {
        n = lua_gettop(L) - 1;
        if (n > 8)
            return luaL_error(L, "einsum: at most 8 operands, got %d", n);
        for (int i = 0; i < n; i++)
            ops[i] = lb_check_tensor(L, i + 2);
    }
    lb_push_tensor(L, op_einsum(eq, n, ops));
    return 1;
}

static int m_softmax(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    lb_push_tensor(L, op_softmax(x, lb_check_dim(L, 2, x->ndim)));
    return 1;
}

static int m_log_softmax(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    lb_push_tensor(L, op_log_softmax(x, lb_check_dim(L, 2, x->ndim)));
    return 1;
}

/* cosine_similarity(a, b, dim=2 (PyTorch's dim=1; 1 for 1-D inputs), eps=1e-8) */
static int m_cosine_similarity(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_check_tensor(L, 2);
    int nd = a->ndim > b->ndim ? a->ndim : b->ndim;
    int dim = lua_isnoneornil(L, 3) ? (nd >= 2 ? 1 : 0) : lb_check_dim(L, 3, nd);
    lb_push_tensor(L, op_cosine_similarity(a, b, dim, luaL_optnumber(L, 4, 1e-8)));
    return 1;
}

static const luaL_Reg methods[] = {
    {"add", m_add}, {"sub", m_sub}, {"mul", m_mul}, {"div", m_div}, {"pow", m_pow},
    {"maximum", m_maximum}, {"minimum", m_minimum}, {"neg", m_neg}, {"abs", m_abs},
    {"exp", m_exp}, {"log", m_log}, {"sqrt", m_sqrt}, {"tanh", m_tanh},
    {"sigmoid", m_sigmoid}, {"relu", m_relu}, {"sign", m_sign}, {"sin", m_sin},
    {"cos", m_cos}, {"square", m_square}, {"rsqrt", m_rsqrt}, {"reciprocal", m_reciprocal},
    {"clamp", m_clamp}, {"eq", m_eq}, {"ne", m_ne}, {"lt", m_lt}, {"le", m_le}, {"gt", m_gt},
    {"ge", m_ge}, {"allclose", m_allclose}, {"equal", m_equal}, {"add_", m_add_},
    {"sub_", m_sub_}, {"mul_", m_mul_}, {"div_", m_div_}, {"pow_", m_pow_},
    {"copy_", m_copy_}, {"fill_", m_fill_}, {"zero_", m_zero_}, {"clamp_", m_clamp_},
    {"masked_fill_", m_masked_fill_}, {"relu_", m_relu_}, {"sum", m_sum}, {"mean", m_mean},
    {"prod", m_prod}, {"var", m_var}, {"std", m_std}, {"norm", m_norm}, {"max", m_max},
    {"min", m_min}, {"argmax", m_argmax}, {"argmin", m_argmin}, {"mm", m_mm},
    {"bmm", m_bmm}, {"matmul", m_matmul}, {"dot", m_dot}, {"softmax", m_softmax},
    {"log_softmax", m_log_softmax}, {"cosine_similarity", m_cosine_similarity},
    {NULL, NULL}};

/* functions also available as loupe.f(x, ...) */
static const luaL_Reg functions[] = {
    {"where", l_where}, {"einsum", l_einsum}, {"add", m_add}, {"sub", m_sub},
    {"mul", m_mul}, {"div", m_div}, {"pow", m_pow}, {"maximum", m_maximum},
    {"minimum", m_minimum}, {"abs", m_abs}, {"exp", m_exp}, {"log", m_log},
    {"sqrt", m_sqrt}, {"tanh", m_tanh}, {"sigmoid", m_sigmoid}, {"relu", m_relu},
    {"clamp", m_clamp}, {"sum", m_sum}, {"mean", m_mean}, {"max", m_max}, {"min", m_min},
    {"argmax", m_argmax}, {"mm", m_mm}, {"bmm", m_bmm}, {"matmul", m_matmul},
    {"softmax", m_softmax}, {"log_softmax", m_log_softmax},
    {"cosine_similarity", m_cosine_similarity}, {"allclose", m_allclose},
    {"equal", m_equal}, {NULL, NULL}};

void lb_open_math(lua_State *L)
{
    luaL_setfuncs(L, functions, 0);
    lb_add_methods(L, methods);
    /* arithmetic metamethods */
    lua_getfield(L, LUA_REGISTRYINDEX, LB_TENSOR_MT);
    static const luaL_Reg meta[] = {{"__add", m_add}, {"__sub", m_sub}, {"__mul", m_mul},
                                    {"__div", m_div}, {"__pow", m_pow}, {"__unm", m_neg},
                                    {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    lua_pop(L, 1);
}
