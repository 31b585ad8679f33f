/* l_tensor.c — the tensor metatable, creation functions, shape and view methods, indexing
 * with 1-based integers, ranges and masks, conversions, item and totable. */
#include "loupe/lbind.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"
#include "loupe/print.h"
#include "loupe/rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *fn_name(lua_State *L) { return lb_function_name(L); }

/* Most Lua values that totable creates, and most pieces (boxed views, ~250 bytes each) that
 * split and chunk create: an empty [2^40,0] tensor would otherwise ask for 2^40 of them, and
 * the process would be killed for memory rather than raise an error. */
#define MAX_LUA_VALUES ((int64_t)1 << 27)
#define MAX_PIECES ((int64_t)1 << 22)

/* ---- dtype names ---- */

static enum dtype check_dtype_name(lua_State *L, const char *name)
{
    if (!strcmp(name, "float32") || !strcmp(name, "float"))
        return DT_FLOAT32;
    if (!strcmp(name, "int64") || !strcmp(name, "long"))
        return DT_INT64;
    if (!strcmp(name, "uint8") || !strcmp(name, "byte"))
        return DT_UINT8;
    luaL_error(L, "%s: unknown dtype '%s' (expected float32, int64 or uint8)", fn_name(L), name);
    return DT_FLOAT32;
}

/* dtype from an options table {dtype=...} or a dtype string at index i. */
static enum dtype opt_dtype(lua_State *L, int i, enum dtype def)
{
    if (lua_type(L, i) == LUA_TSTRING)
        return check_dtype_name(L, lua_tostring(L, i));
    if (!lua_istable(L, i) || lb_to_tensor(L, i))
        return def;
    lua_getfield(L, i, "dtype");
    enum dtype dt = lua_isnil(L, -1) ? def : check_dtype_name(L, luaL_checkstring(L, -1));
    lua_pop(L, 1);
    return dt;
}

/* Applies {requires_grad=true} from an options table to a freshly pushed tensor at -1. */
static void apply_requires_grad(lua_State *L, int opts)
{
    if (!lb_opt_boolean(L, opts, "requires_grad", 0))
        return;
    struct tensor *t = lb_to_tensor(L, -1);
    if (t->dtype != DT_FLOAT32)
        luaL_error(L, "requires_grad: only float32 tensors can require gradients");
    t->requires_grad = true;
}

/* ---- loupe.tensor{...} from nested tables ---- */

static void nested_shape(lua_State *L, int idx, int depth, int64_t *shape, int *ndim)
{
    if (lua_type(L, idx) == LUA_TNUMBER || lua_isboolean(L, idx)) {
        *ndim = depth;
        return;
    }
    if (!lua_istable(L, idx))
        luaL_error(L, "tensor: expected numbers or nested tables, got %s", luaL_typename(L, idx));
    if (depth >= TENSOR_MAXDIM)
        luaL_error(L, "tensor: nesting deeper than %d dimensions", TENSOR_MAXDIM);
    shape[depth] = (int64_t)lua_rawlen(L, idx);
    if (shape[depth] == 0) {
        *ndim = depth + 1;
        return;
    }
    lua_rawgeti(L, idx, 1);
    nested_shape(L, lua_gettop(L), depth + 1, shape, ndim);
    lua_pop(L, 1);
}

static void nested_fill(lua_State *L, int idx, int depth, int ndim, const int64_t *shape,
                        struct tensor *t, int64_t *pos)
{
    if (depth == ndim) {
        if (lua_type(L, idx) != LUA_TNUMBER && !lua_isboolean(L, idx))
            luaL_error(L, "tensor: expected a number at depth %d, got %s%s", depth + 1,
                       luaL_typename(L, idx), lua_istable(L, idx) ? " (ragged nested table)" : "");
        double v = lua_isboolean(L, idx) ? lua_toboolean(L, idx) : lua_tonumber(L, idx);
        /* converting NaN, an infinity or a value beyond int64 to an integer is undefined
         * behaviour in C; PyTorch raises too */
        bool fits = lua_isinteger(L, idx) || (v >= -0x1p63 && v < 0x1p63); /* NaN: no */
        if (t->dtype != DT_FLOAT32 && !fits) {
            char value[32]; /* lua_pushfstring has no %g */
            snprintf(value, sizeof value, "%g", v);
            luaL_error(L, "tensor: element %I (%s) cannot be converted to %s without overflow",
                       (lua_Integer)*pos + 1, value, dtype_name(t->dtype));
        }
        switch (t->dtype) {
        case DT_FLOAT32: tensor_f32(t)[*pos] = (float)v; break;
        case DT_INT64:
            tensor_i64(t)[*pos] = lua_isinteger(L, idx) ? (int64_t)lua_tointeger(L, idx) : (int64_t)v;
            break;
        case DT_UINT8: tensor_u8(t)[*pos] = (uint8_t)(int64_t)v; break;
        }
        (*pos)++;
        return;
    }
    if (!lua_istable(L, idx) || (int64_t)lua_rawlen(L, idx) != shape[depth])
        luaL_error(L, "tensor: ragged nested table: expected %d elements at depth %d, got %d",
                   (int)shape[depth], depth + 1,
                   lua_istable(L, idx) ? (int)lua_rawlen(L, idx) : 1);
    luaL_checkstack(L, 2, "tensor: nesting too deep");
    for (int64_t k = 1; k <= shape[depth]; k++) {
        lua_rawgeti(L, idx, k);
        nested_fill(L, lua_gettop(L), depth + 1, ndim, shape, t, pos);
        lua_pop(L, 1);
    }
}

static int l_tensor(lua_State *L)
{
    if (lb_to_tensor(L, 1)) { /* loupe.tensor(t) copies, like torch.tensor */
        struct tensor *src = lb_to_tensor(L, 1);
        lb_push_tensor(L, tensor_to_dtype(src, opt_dtype(L, 2, src->dtype)));
        return 1;
    }
    int64_t shape[TENSOR_MAXDIM];
    int ndim = 0;
    nested_shape(L, 1, 0, shape, &ndim);
    struct tensor *t = tensor_new(opt_dtype(L, 2, DT_FLOAT32), ndim, shape);
    if (!t)
        return lb_fail(L);
    lb_push_tensor(L, t); /* boxed first, so an error while filling leaks nothing */
    int64_t pos = 0;
    if (tensor_numel(t) > 0)
        nested_fill(L, 1, 0, ndim, shape, t, &pos);
    apply_requires_grad(L, 2);
    return 1;
}

/* ---- constant and random creation ---- */

/* shape from args starting at 1, the options table (if any) after it */
static int shape_and_opts(lua_State *L, int64_t *shape, int *opts)
{
    int n = lb_check_shape(L, 1, shape);
    *opts = lua_istable(L, 1) ? 2 : n + 1;
    return n;
}

static int push_full(lua_State *L, double v)
{
    int64_t shape[TENSOR_MAXDIM];
    int opts, n = shape_and_opts(L, shape, &opts);
    lb_push_tensor(L, op_full(n, shape, v, opt_dtype(L, opts, DT_FLOAT32)));
    apply_requires_grad(L, opts);
    return 1;
}

static int l_zeros(lua_State *L) { return push_full(L, 0); }
static int l_ones(lua_State *L) { return push_full(L, 1); }

/* full({sizes}, v [, opts]) or full(size1, ..., sizeN, v [, opts]): with sizes as varargs the
 * last number is the value */
static int l_full(lua_State *L)
{
    int64_t shape[TENSOR_MAXDIM];
    int k = 0;
    while (lua_type(L, k + 1) == LUA_TNUMBER)
        k++;
    if (k > 0) { /* varargs: the sizes before the value become a table {sizes} */
        lua_createtable(L, k - 1, 0);
        for (int i = 1; i < k; i++) {
            lua_pushvalue(L, i);
            lua_rawseti(L, -2, i);
        }
        lua_insert(L, 1);
        for (int i = 1; i < k; i++)
            lua_remove(L, 2);
    }
    int n = lb_check_shape(L, 1, shape);
    int vi = lua_istable(L, 1) ? 2 : n + 1;
    double v = luaL_checknumber(L, vi);
    lb_push_tensor(L, op_full(n, shape, v, opt_dtype(L, vi + 1, DT_FLOAT32)));
    apply_requires_grad(L, vi + 1);
    return 1;
}

static int l_arange(lua_State *L)
{
    int nargs = 0;
    while (lua_type(L, nargs + 1) == LUA_TNUMBER)
        nargs++;
    if (nargs == 0)
        return luaL_error(L, "arange: expected (end), (start, end) or (start, end, step)");
    double start = nargs >= 2 ? lua_tonumber(L, 1) : 0;
    double end = nargs >= 2 ? lua_tonumber(L, 2) : lua_tonumber(L, 1);
    double step = nargs >= 3 ? lua_tonumber(L, 3) : 1;
    bool all_int = true;
    for (int i = 1; i <= nargs; i++)
        all_int &= lua_isinteger(L, i);
    enum dtype dt = opt_dtype(L, nargs + 1, all_int ? DT_INT64 : DT_FLOAT32);
    lb_push_tensor(L, op_arange(start, end, step, dt));
    return 1;
}

static int l_linspace(lua_State *L)
{
    lb_push_tensor(L, op_linspace(luaL_checknumber(L, 1), luaL_checknumber(L, 2),
                                  (int64_t)luaL_checkinteger(L, 3)));
    return 1;
}

static int l_eye(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1), m = luaL_optinteger(L, 2, n);
    if (n < 0 || m < 0)
        return luaL_error(L, "eye: sizes must be non-negative, got %I and %I", n, m);
    lb_push_tensor(L, op_eye(n, m));
    return 1;
}

static int push_random(lua_State *L, int kind, int64_t lo, int64_t hi, int first, int64_t *shape,
                       int n, int opts)
{
    (void)first;
    enum dtype dt = opt_dtype(L, opts, kind == 2 ? DT_INT64 : DT_FLOAT32);
    if (kind != 2 && dt != DT_FLOAT32)
        return luaL_error(L, "%s: only float32 is supported", kind ? "randn" : "rand");
    struct tensor *t = tensor_new(dt, n, shape);
    if (!t)
        return lb_fail(L);
    int rc = kind == 0 ? rng_fill_uniform(t, 0, 1)
           : kind == 1 ? rng_fill_normal(t, 0, 1)
                       : rng_fill_randint(t, lo, hi);
    if (rc < 0) {
        tensor_release(t);
        return lb_fail(L);
    }
    lb_push_tensor(L, t);
    apply_requires_grad(L, opts);
    return 1;
}

static int l_rand(lua_State *L)
{
    int64_t shape[TENSOR_MAXDIM];
    int opts, n = shape_and_opts(L, shape, &opts);
    return push_random(L, 0, 0, 0, 1, shape, n, opts);
}

static int l_randn(lua_State *L)
{
    int64_t shape[TENSOR_MAXDIM];
    int opts, n = shape_and_opts(L, shape, &opts);
    return push_random(L, 1, 0, 0, 1, shape, n, opts);
}

/* randint(low, high, shape...) with high exclusive, as torch.randint */
static int l_randint(lua_State *L)
{
    lua_Integer lo = luaL_checkinteger(L, 1), hi = luaL_checkinteger(L, 2);
    int64_t shape[TENSOR_MAXDIM];
    lua_remove(L, 1);
    lua_remove(L, 1);
    int opts, n = shape_and_opts(L, shape, &opts);
    return push_random(L, 2, lo, hi, 1, shape, n, opts);
}

/* randperm(n): a random permutation of 1..n (1-based positions, for indexing) */
static int l_randperm(lua_State *L)
{
    lb_push_tensor(L, rng_randperm((int64_t)luaL_checkinteger(L, 1), 1));
    return 1;
}

/* zeros_like(x [, opts]) and friends: x's shape and dtype */
static int like(lua_State *L, int kind)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int64_t shape[TENSOR_MAXDIM];
    memcpy(shape, x->shape, sizeof shape);
    int nd = x->ndim, opts = kind == 4 ? 3 : 2;
    lua_settop(L, opts);
    if (kind == 4) { /* full_like(x, v) */
        double v = luaL_checknumber(L, 2);
        lb_push_tensor(L, op_full(nd, shape, v, opt_dtype(L, opts, x->dtype)));
        apply_requires_grad(L, opts);
        return 1;
    }
    if (kind <= 1) {
        lb_push_tensor(L, op_full(nd, shape, kind, opt_dtype(L, opts, x->dtype)));
        apply_requires_grad(L, opts);
        return 1;
    }
    return push_random(L, kind - 2, 0, 0, 0, shape, nd, opts);
}

static int l_zeros_like(lua_State *L) { return like(L, 0); }
static int l_ones_like(lua_State *L) { return like(L, 1); }
static int l_rand_like(lua_State *L) { return like(L, 2); }
static int l_randn_like(lua_State *L) { return like(L, 3); }
static int l_full_like(lua_State *L) { return like(L, 4); }

/* ---- shape queries ---- */

static void push_shape(lua_State *L, const struct tensor *t)
{
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->shape[d]);
        lua_rawseti(L, -2, d + 1);
    }
}

static int m_shape(lua_State *L)
{
    push_shape(L, lb_check_tensor(L, 1));
    return 1;
}

static int m_size(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (lua_isnoneornil(L, 2)) {
        push_shape(L, t);
        return 1;
    }
    if (t->ndim == 0)
        return luaL_error(L, "size: a 0-d tensor has no dimensions");
    lua_pushinteger(L, t->shape[lb_check_dim(L, 2, t->ndim)]);
    return 1;
}

static int m_dim(lua_State *L)
{
    lua_pushinteger(L, lb_check_tensor(L, 1)->ndim);
    return 1;
}

static int m_numel(lua_State *L)
{
    lua_pushinteger(L, tensor_numel(lb_check_tensor(L, 1)));
    return 1;
}

static int m_dtype(lua_State *L)
{
    lua_pushstring(L, dtype_name(lb_check_tensor(L, 1)->dtype));
    return 1;
}

static int m_stride(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lua_createtable(L, t->ndim, 0);
    for (int d = 0; d < t->ndim; d++) {
        lua_pushinteger(L, t->stride[d]);
        lua_rawseti(L, -2, d + 1);
    }
    return 1;
}

static int m_is_contiguous(lua_State *L)
{
    lua_pushboolean(L, tensor_is_contiguous(lb_check_tensor(L, 1)));
    return 1;
}

/* ---- views ---- */

/* The target shape of view/reshape/expand at argument 2: integers or one table. */
static int check_target_shape(lua_State *L, int64_t *shape)
{
    int ty = lua_type(L, 2);
    if (ty != LUA_TNUMBER && ty != LUA_TTABLE)
        luaL_error(L, "%s: expected sizes (integers or a table of them), got %s", fn_name(L),
                   luaL_typename(L, 2));
    return lb_check_shape(L, 2, shape);
}

static int m_view(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int64_t shape[TENSOR_MAXDIM];
    int n = check_target_shape(L, shape);
    lb_push_tensor(L, op_view(t, n, shape));
    return 1;
}

static int m_reshape(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int64_t shape[TENSOR_MAXDIM];
    int n = check_target_shape(L, shape);
    lb_push_tensor(L, op_reshape(t, n, shape));
    return 1;
}

static int m_permute(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int perm[TENSOR_MAXDIM];
    int from_table = lua_istable(L, 2), n = from_table ? (int)lua_rawlen(L, 2) : lua_gettop(L) - 1;
    if (n != t->ndim)
        return luaL_error(L, "permute: %d dimensions given for a tensor with %d", n, t->ndim);
    for (int d = 0; d < n; d++) {
        if (from_table) {
            lua_rawgeti(L, 2, d + 1);
            perm[d] = lb_check_dim(L, -1, t->ndim);
            lua_pop(L, 1);
        } else {
            perm[d] = lb_check_dim(L, d + 2, t->ndim);
        }
    }
    lb_push_tensor(L, op_permute(t, perm));
    return 1;
}

static int m_transpose(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d0 = lb_check_dim(L, 2, t->ndim), d1 = lb_check_dim(L, 3, t->ndim);
    lb_push_tensor(L, op_transpose(t, d0, d1));
    return 1;
}

static int m_t(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (t->ndim > 2)
        return luaL_error(L, "t: expects a tensor with at most 2 dimensions, got %s", tshape(t));
    lb_push_tensor(L, t->ndim < 2 ? op_view(t, t->ndim, t->shape) : op_transpose(t, 0, 1));
    return 1;
}

static int m_narrow(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d = lb_check_dim(L, 2, t->ndim);
    lua_Integer start = luaL_checkinteger(L, 3), len = luaL_checkinteger(L, 4);
    if (start == 0)
        return luaL_error(L, "narrow: start 0 is invalid (indices are 1-based)");
    if (len < 0)
        return luaL_error(L, "narrow: length must be non-negative, got %I", len);
    if (start < 0 && t->ndim > 0)
        start += t->shape[d] + 1;
    lb_push_tensor(L, op_narrow(t, d, start - 1, len));
    return 1;
}

/* Lua index i (1-based, negative from the end) to the core's 0-based index (negatives kept
 * for the core to check and report). */
static int64_t lua_index(lua_Integer i)
{
    if (i == 0)
        return INT64_MIN;
    return i > 0 ? i - 1 : i;
}

static struct tensor *select_checked(lua_State *L, struct tensor *t, int d, lua_Integer i)
{
    if (i == 0)
        luaL_error(L, "index 0 is invalid (indices are 1-based)");
    return op_select(t, d, lua_index(i));
}

static int m_select(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d = lb_check_dim(L, 2, t->ndim);
    lb_push_tensor(L, select_checked(L, t, d, luaL_checkinteger(L, 3)));
    return 1;
}

static int m_squeeze(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d = lua_isnoneornil(L, 2) ? DIM_ALL : lb_check_dim(L, 2, t->ndim);
    lb_push_tensor(L, op_squeeze(t, d));
    return 1;
}

static int m_unsqueeze(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lb_push_tensor(L, op_unsqueeze(t, lb_check_dim(L, 2, t->ndim + 1)));
    return 1;
}

static int m_expand(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int64_t shape[TENSOR_MAXDIM];
    int n = check_target_shape(L, shape);
    lb_push_tensor(L, op_expand(t, n, shape));
    return 1;
}

static int m_expand_as(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1), *o = lb_check_tensor(L, 2);
    lb_push_tensor(L, op_expand(t, o->ndim, o->shape));
    return 1;
}

static int m_view_as(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1), *o = lb_check_tensor(L, 2);
    lb_push_tensor(L, op_view(t, o->ndim, o->shape));
    return 1;
}

static int m_flatten(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int s = lua_isnoneornil(L, 2) ? 0 : lb_check_dim(L, 2, t->ndim);
    int e = lua_isnoneornil(L, 3) ? -1 : lb_check_dim(L, 3, t->ndim);
    lb_push_tensor(L, op_flatten(t, s, e));
    return 1;
}

static int m_contiguous(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (tensor_is_contiguous(t)) {
        lua_settop(L, 1);
        return 1;
    }
    lb_push_tensor(L, op_contiguous(t));
    return 1;
}

static int m_clone(lua_State *L)
{
    lb_push_tensor(L, op_clone(lb_check_tensor(L, 1)));
    return 1;
}

/* list of tensors from a table argument */
static struct tensor **check_tensor_list(lua_State *L, int i, int *n, const char *op)
{
    luaL_checktype(L, i, LUA_TTABLE);
    *n = (int)lua_rawlen(L, i);
    struct tensor **xs = lua_newuserdatauv(L, sizeof *xs * (size_t)(*n ? *n : 1), 0);
    for (int k = 0; k < *n; k++) {
        lua_rawgeti(L, i, k + 1);
        xs[k] = lb_to_tensor(L, -1);
        if (!xs[k])
            luaL_error(L, "%s: expected a tensor at position %d of the list, got %s", op, k + 1,
                       luaL_typename(L, -1));
        lua_pop(L, 1); /* still referenced by the table, which the caller keeps */
    }
    return xs;
}

static int join(lua_State *L, bool stack)
{
    int n;
    lua_settop(L, 2); /* the list's scratch userdata goes above the optional dim */
    struct tensor **xs = check_tensor_list(L, 1, &n, stack ? "stack" : "cat");
    if (n == 0)
        return luaL_error(L, "%s: expected a non-empty list of tensors", stack ? "stack" : "cat");
    int nd = xs[0]->ndim + (stack ? 1 : 0);
    int d = lua_isnoneornil(L, 2) ? 0 : lb_check_dim(L, 2, nd);
    lb_push_tensor(L, stack ? op_stack(n, xs, d) : op_cat(n, xs, d));
    return 1;
}

static int l_cat(lua_State *L) { return join(L, false); }
static int l_stack(lua_State *L) { return join(L, true); }

/* split(size, dim) -> table of views of `size` along dim (the last may be smaller) */
static int m_split(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lua_Integer size = luaL_checkinteger(L, 2);
    int d = lua_isnoneornil(L, 3) ? 0 : lb_check_dim(L, 3, t->ndim);
    if (t->ndim == 0)
        return luaL_error(L, "split: cannot split a 0-d tensor");
    if (size <= 0)
        return luaL_error(L, "split: size must be positive, got %I", size);
    int64_t total = t->shape[d];
    if (total / size > MAX_PIECES)
        return luaL_error(L, "%s: %I pieces requested, at most %I supported", fn_name(L),
                          (lua_Integer)(total / size), (lua_Integer)MAX_PIECES);
    lua_newtable(L);
    lua_Integer k = 1;
    for (int64_t s = 0; s < total || (total == 0 && k == 1); s += size, k++) {
        int64_t len = total - s < size ? total - s : size;
        lb_push_tensor(L, op_narrow(t, d, s, len));
        lua_rawseti(L, -2, k);
        if (total == 0)
            break;
    }
    return 1;
}

/* chunk(n, dim): n pieces of ceil(size/n) (fewer if that runs out), as torch.chunk */
static int m_chunk(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    int d = lua_isnoneornil(L, 3) ? 0 : lb_check_dim(L, 3, t->ndim);
    if (n <= 0)
        return luaL_error(L, "chunk: number of chunks must be positive, got %I", n);
    if (t->ndim == 0)
        return luaL_error(L, "chunk: cannot chunk a 0-d tensor");
    int64_t size = t->shape[d] / n + (t->shape[d] % n != 0); /* ceil, without overflow */
    lua_settop(L, 1);
    lua_pushinteger(L, size > 0 ? size : 1);
    lua_pushinteger(L, d + 1);
    return m_split(L);
}

static int m_index_select(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d = lb_check_dim(L, 2, t->ndim);
    lb_push_tensor(L, op_index_select(t, d, lb_check_tensor(L, 3), 1));
    return 1;
}

static int m_gather(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int d = lb_check_dim(L, 2, t->ndim);
    lb_push_tensor(L, op_gather(t, d, lb_check_tensor(L, 3), 1));
    return 1;
}

static int m_masked_select(lua_State *L)
{
    lb_push_tensor(L, op_masked_select(lb_check_tensor(L, 1), lb_check_tensor(L, 2)));
    return 1;
}

/* ---- conversions and values ---- */

static int convert(lua_State *L, enum dtype dt)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (t->dtype == dt) {
        lua_settop(L, 1);
        return 1;
    }
    lb_push_tensor(L, op_to_dtype(t, dt));
    return 1;
}

static int m_float(lua_State *L) { return convert(L, DT_FLOAT32); }
static int m_long(lua_State *L) { return convert(L, DT_INT64); }
static int m_byte(lua_State *L) { return convert(L, DT_UINT8); }

static int m_to(lua_State *L)
{
    lb_check_tensor(L, 1);
    return convert(L, check_dtype_name(L, luaL_checkstring(L, 2)));
}

static void push_element(lua_State *L, const struct tensor *t, int64_t i)
{
    double v = tensor_get_flat(t, i);
    if (t->dtype == DT_FLOAT32)
        lua_pushnumber(L, v);
    else if (t->dtype == DT_INT64) {
        int64_t off = 0, r = i;
        for (int d = t->ndim - 1; d >= 0; d--) {
            off += (r % t->shape[d]) * t->stride[d];
            r /= t->shape[d];
        }
        lua_pushinteger(L, tensor_i64(t)[off]); /* exact beyond 2^53 */
    } else
        lua_pushinteger(L, (lua_Integer)v);
}

static int m_item(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (tensor_numel(t) != 1)
        return luaL_error(L, "item: expected a tensor with one element, got shape %s",
                          tshape(t));
    push_element(L, t, 0);
    return 1;
}

static void push_nested(lua_State *L, const struct tensor *t, int depth, int64_t *pos)
{
    if (depth == t->ndim) {
        push_element(L, t, (*pos)++);
        return;
    }
    luaL_checkstack(L, 3, "totable");
    lua_createtable(L, (int)t->shape[depth], 0);
    for (int64_t k = 1; k <= t->shape[depth]; k++) {
        push_nested(L, t, depth + 1, pos);
        lua_rawseti(L, -2, k);
    }
}

static int m_totable(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    int64_t values = 0, level = 1; /* tables at each depth, then the numbers */
    for (int d = 0; d <= t->ndim && values <= MAX_LUA_VALUES; d++) {
        values += level;
        if (d < t->ndim && __builtin_mul_overflow(level, t->shape[d], &level))
            values = MAX_LUA_VALUES + 1;
    }
    if (values > MAX_LUA_VALUES)
        return luaL_error(L, "totable: a tensor of shape %s needs more than %I Lua values",
                          tshape(t), (lua_Integer)MAX_LUA_VALUES);
    int64_t pos = 0;
    push_nested(L, t, 0, &pos);
    return 1;
}

static int m_tostring(lua_State *L)
{
    struct tensor **box = lua_touserdata(L, 1);
    if (box && !*box) {
        lua_pushliteral(L, "tensor(freed)");
        return 1;
    }
    char *s = tensor_format(lb_check_tensor(L, 1));
    if (!s)
        return lb_fail(L);
    lua_pushstring(L, s);
    free(s);
    return 1;
}

static int m_len(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lua_pushinteger(L, t->ndim ? t->shape[0] : 0);
    return 1;
}

/* ---- indexing: x[i], x[{i, {a,b}, {}}], x[mask], x[idx] ---- */

/* The view x[key] for an integer or a table key; pushes it. Ranges {a, b} are inclusive,
 * {a} is a one-element range that keeps the dimension, {} or "all" keeps it whole. */
static struct tensor *index_view(lua_State *L, struct tensor *t, int key)
{
    if (lua_type(L, key) == LUA_TNUMBER) {
        if (t->ndim == 0)
            luaL_error(L, "cannot index a 0-d tensor (use item())");
        int isint;
        lua_Integer i = lua_tointegerx(L, key, &isint);
        if (!isint)
            luaL_error(L, "index %s is not an integer", lua_tostring(L, key));
        return select_checked(L, t, 0, i);
    }
    int n = (int)lua_rawlen(L, key);
    if (n > t->ndim)
        luaL_error(L, "too many indices (%d) for a tensor with %d dimensions", n, t->ndim);
    struct tensor *cur = tensor_retain(t);
    int d = 0; /* the dimension of cur the next index applies to */
    for (int k = 1; k <= n && cur; k++) {
        lua_rawgeti(L, key, k);
        struct tensor *next = NULL;
        if (lua_type(L, -1) == LUA_TNUMBER) {
            int isint;
            lua_Integer i = lua_tointegerx(L, -1, &isint);
            if (!isint) {
                tensor_release(cur);
                luaL_error(L, "index %s is not an integer", lua_tostring(L, -1));
            }
            if (i == 0) {
                tensor_release(cur);
                luaL_error(L, "index 0 is invalid (indices are 1-based)");
            }
            next = op_select(cur, d, lua_index(i));
            if (!next) { /* report the dimension in the caller's terms */
                tensor_release(cur);
                luaL_error(L, "index %I out of range for dimension %d of size %I", i, k,
                           (lua_Integer)t->shape[k - 1]);
            }
        } else if (lua_istable(L, -1)) {
            int64_t size = cur->shape[d];
            int m = (int)lua_rawlen(L, -1);
            lua_Integer a = 1, b = size;
            int ok_a = 1, ok_b = 1;
            if (m >= 1) {
                lua_rawgeti(L, -1, 1);
                b = a = lua_tointegerx(L, -1, &ok_a);
                lua_pop(L, 1);
            }
            if (m >= 2) {
                lua_rawgeti(L, -1, 2);
                b = lua_tointegerx(L, -1, &ok_b);
                lua_pop(L, 1);
            }
            if (!ok_a || !ok_b) {
                tensor_release(cur);
                luaL_error(L, "index %d: a range needs integer bounds", k);
            }
            if (a < 0)
                a += size + 1;
            if (b < 0)
                b += size + 1;
            if (m > 0 && (a < 1 || b > size || b < a - 1)) {
                tensor_release(cur);
                luaL_error(L, "range {%I, %I} out of range for dimension %d of size %I", a, b, k,
                           (lua_Integer)size);
            }
            next = op_narrow(cur, d, a - 1, b - a + 1);
            d++;
        } else {
            tensor_release(cur);
            luaL_error(L, "index %d: expected an integer or a {from, to} range, got %s", k,
                       luaL_typename(L, -1));
        }
        lua_pop(L, 1);
        tensor_release(cur);
        cur = next;
    }
    return cur;
}

static int m_index(lua_State *L)
{
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        if (lua_getfield(L, lua_upvalueindex(1), k) != LUA_TNIL) /* methods */
            return 1;
        lua_pop(L, 1);
        struct tensor *t = lb_check_tensor(L, 1);
        if (!strcmp(k, "grad")) {
            if (t->grad)
                lb_push_tensor(L, tensor_retain(t->grad));
            else
                lua_pushnil(L);
            return 1;
        }
        if (!strcmp(k, "requires_grad")) {
            lua_pushboolean(L, t->requires_grad);
            return 1;
        }
        lua_pushnil(L);
        return 1;
    }
    struct tensor *t = lb_check_tensor(L, 1);
    struct tensor *key = lb_to_tensor(L, 2);
    if (key) {
        if (key->dtype == DT_INT64)
            lb_push_tensor(L, op_index_select(t, 0, key, 1));
        else
            lb_push_tensor(L, op_masked_select(t, key));
        return 1;
    }
    if (lua_type(L, 2) != LUA_TNUMBER && !lua_istable(L, 2))
        return luaL_error(L, "cannot index a tensor with a %s", luaL_typename(L, 2));
    lb_push_tensor(L, index_view(L, t, 2));
    return 1;
}

static int set_grad(lua_State *L, struct tensor *t)
{
    if (lua_isnil(L, 3)) {
        tensor_release(t->grad);
        t->grad = NULL;
        return 0;
    }
    struct tensor *g = lb_to_tensor(L, 3);
    if (!g)
        return luaL_error(L, "grad: expected a tensor or nil, got %s", luaL_typename(L, 3));
    if (!tensor_same_shape(g, t) || g->dtype != DT_FLOAT32)
        return luaL_error(L, "grad: assigned gradient has shape %s %s, expected %s float32",
                          tshape(g), dtype_name(g->dtype), tshape(t));
    tensor_retain(g);
    tensor_release(t->grad);
    t->grad = g;
    return 0;
}

static int m_newindex(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (lua_type(L, 2) == LUA_TSTRING) {
        const char *k = lua_tostring(L, 2);
        if (!strcmp(k, "grad"))
            return set_grad(L, t);
        if (!strcmp(k, "requires_grad")) {
            if (t->grad_fn)
                return luaL_error(L, "requires_grad: only leaf tensors can be changed");
            if (lua_toboolean(L, 3) && t->dtype != DT_FLOAT32)
                return luaL_error(L, "requires_grad: only float32 tensors can require gradients");
            t->requires_grad = lua_toboolean(L, 3);
            return 0;
        }
        return luaL_error(L, "cannot set field '%s' of a tensor", k);
    }
    struct tensor *key = lb_to_tensor(L, 2);
    if (key) {
        if (key->dtype == DT_INT64)
            return luaL_error(L, "assignment through an index tensor is not supported; use a "
                                 "mask or ranges");
        if (lua_type(L, 3) != LUA_TNUMBER)
            return luaL_error(L, "masked assignment needs a number value, got %s",
                              luaL_typename(L, 3));
        if (op_masked_fill_(t, key, lua_tonumber(L, 3)) < 0)
            return lb_fail(L);
        return 0;
    }
    if (lua_type(L, 2) != LUA_TNUMBER && !lua_istable(L, 2))
        return luaL_error(L, "cannot index a tensor with a %s", luaL_typename(L, 2));
    if (lua_type(L, 3) != LUA_TNUMBER && !lb_to_tensor(L, 3))
        return luaL_error(L, "assignment: expected a number or a tensor as the value, got %s",
                          luaL_typename(L, 3));
    if (ag_check_inplace("assignment", t) < 0)
        return lb_fail(L);
    /* t needs no grad here (or grad mode is off), so the view records nothing */
    struct tensor *v = index_view(L, t, 2);
    lb_push_tensor(L, v); /* owned by Lua now: errors below leak nothing */
    int rc;
    if (lua_type(L, 3) == LUA_TNUMBER)
        rc = tensor_fill(v, lua_tonumber(L, 3));
    else
        rc = tensor_copy_into(v, lb_check_tensor(L, 3));
    if (rc < 0)
        return lb_fail(L);
    tensor_bump_version(v);
    return 0;
}

/* ---- registration ---- */

static const luaL_Reg creation[] = {
    {"tensor", l_tensor}, {"zeros", l_zeros}, {"ones", l_ones}, {"full", l_full},
    {"arange", l_arange}, {"linspace", l_linspace}, {"eye", l_eye}, {"rand", l_rand},
    {"randn", l_randn}, {"randint", l_randint}, {"randperm", l_randperm},
    {"zeros_like", l_zeros_like}, {"ones_like", l_ones_like}, {"rand_like", l_rand_like},
    {"randn_like", l_randn_like}, {"full_like", l_full_like}, {"cat", l_cat},
    {"stack", l_stack}, {NULL, NULL}};

static const luaL_Reg methods[] = {
    {"shape", m_shape}, {"size", m_size}, {"dim", m_dim}, {"numel", m_numel},
    {"dtype", m_dtype}, {"stride", m_stride}, {"is_contiguous", m_is_contiguous},
    {"view", m_view}, {"reshape", m_reshape}, {"permute", m_permute},
    {"transpose", m_transpose}, {"t", m_t}, {"narrow", m_narrow}, {"select", m_select},
    {"squeeze", m_squeeze}, {"unsqueeze", m_unsqueeze}, {"expand", m_expand},
    {"expand_as", m_expand_as}, {"view_as", m_view_as}, {"flatten", m_flatten},
    {"contiguous", m_contiguous}, {"clone", m_clone}, {"split", m_split}, {"chunk", m_chunk},
    {"index_select", m_index_select}, {"gather", m_gather},
    {"masked_select", m_masked_select}, {"float", m_float}, {"long", m_long},
    {"byte", m_byte}, {"to", m_to}, {"item", m_item}, {"totable", m_totable},
    {"free", lb_box_free}, {NULL, NULL}};

void lb_open_tensor(lua_State *L)
{
    /* metatable with a method table behind __index */
    lua_newtable(L);
    lua_newtable(L); /* methods */
    lua_pushvalue(L, -1);
    lua_setfield(L, -3, "__methods");
    lua_pushcclosure(L, m_index, 1);
    lua_setfield(L, -2, "__index");
    static const luaL_Reg meta[] = {{"__newindex", m_newindex}, {"__gc", lb_box_free},
                                    {"__close", lb_box_free}, {"__tostring", m_tostring},
                                    {"__len", m_len}, {NULL, NULL}};
    luaL_setfuncs(L, meta, 0);
    lua_pushliteral(L, "loupe.Tensor");
    lua_setfield(L, -2, "__name");
    lb_register_metatable(L);
    lua_getfield(L, -1, "__methods");
    lua_setfield(L, -3, "Tensor"); /* loupe.Tensor: the method table, extensible from Lua */
    lua_pop(L, 1);
    luaL_setfuncs(L, creation, 0);
    lb_add_methods(L, methods);
}
