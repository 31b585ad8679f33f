/* l_nn.c — the layer primitives as loupe.functional.* (the Lua nn modules are built on these):
 *
 *   F.linear(x, w [, b])                 F.bilinear(x, w [, b])
 *   F.conv2d(x, w [, b] [, {stride=1, padding=0, dilation=1, groups=1}])
 *   F.batch_norm(x, running_mean, running_var [, weight] [, bias]
 *                [, {training=false, momentum=0.1, eps=1e-5}])
 *   F.max_pool2d(x, kernel [, {stride=kernel, padding=0, dilation=1, ceil_mode=false}])
 *   F.avg_pool2d(x, kernel [, {stride=kernel, padding=0, ceil_mode=false,
 *                              count_include_pad=true}])
 *   F.adaptive_avg_pool2d(x, size)       F.adaptive_max_pool2d(x, size [, return_indices])
 *   F.dropout(x [, p=0.5] [, training=true])
 *
 * kernel, stride, padding, dilation and size are a number or {h, w}; conv2d's padding may
 * also be "valid" (0) or "same" (stride 1, an even dilated kernel extent per axis). conv and
 * pooling accept [C, H, W] as a batch of one, as PyTorch does. adaptive_max_pool2d's indices
 * are 1-based positions h*W + w + 1 within each plane. Unknown option names are errors: a
 * misspelt `ceil_mod` must not silently pool differently. */
#include "loupe/lbind.h"

#include "loupe/nn.h"
#include "loupe/ops.h"

#include <limits.h>
#include <string.h>

/* ---- argument helpers (they may raise, so bindings call them before taking references) ---- */


static int check_int(lua_State *L, int i, const char *fn, const char *what)
{
    if (!lua_isinteger(L, i))
        luaL_error(L, "%s: %s must be an integer or {h, w}, got %s", fn, what,
                   luaL_typename(L, i));
    lua_Integer v = lua_tointeger(L, i);
    if (v < INT_MIN || v > INT_MAX)
        luaL_error(L, "%s: %s %I is out of range", fn, what, v);
    return (int)v;
}

/* The value at stack index i as a pair: a number n -> {n, n}, or a table {h, w}. */
static void check_pair(lua_State *L, int i, const char *fn, const char *what, int out[2])
{
    i = lua_absindex(L, i);
    if (lua_istable(L, i)) {
        if (luaL_len(L, i) != 2)
            luaL_error(L, "%s: %s must be a number or {h, w}", fn, what);
        for (int k = 0; k < 2; k++) {
            lua_rawgeti(L, i, k + 1);
            out[k] = check_int(L, -1, fn, what);
            lua_pop(L, 1);
        }
    } else {
        out[0] = out[1] = check_int(L, i, fn, what);
    }
}

/* Option `key` of the table at t as a pair; def when absent. Returns whether it was given. */
static bool opt_pair(lua_State *L, int t, const char *key, const char *fn, const int def[2],
                     int out[2])
{
    out[0] = def[0];
    out[1] = def[1];
    if (!lua_istable(L, t))
        return false;
    lua_getfield(L, t, key);
    bool given = !lua_isnil(L, -1);
    if (given)
        check_pair(L, -1, fn, key, out);
    lua_pop(L, 1);
    return given;
}

/* Argument i: a tensor, or NULL for nil/none. Borrowed. */
static struct tensor *opt_tensor_arg(lua_State *L, int i, const char *fn)
{
    if (lua_isnoneornil(L, i))
        return NULL;
    struct tensor *t = lb_to_tensor(L, i);
    if (!t)
        luaL_error(L, "%s: expected a tensor or nil for argument %d, got %s", fn, i,
                   luaL_typename(L, i));
    return t;
}

/* A [C, H, W] input as [1, C, H, W] (a new reference either way), or NULL with err_set. */
static struct tensor *as_batch(struct tensor *x)
{
    return x->ndim == 3 ? op_unsqueeze(x, 0) : tensor_retain(x);
}

/* Drops the batch dim again for an unbatched input; takes y. */
static struct tensor *unbatch(struct tensor *y, bool unbatched)
{
    if (!y || !unbatched)
        return y;
    struct tensor *s = op_squeeze(y, 0);
    tensor_release(y);
    return s;
}

/* ---- linear layers ---- */

static int affine(lua_State *L, struct tensor *(*op)(struct tensor *, struct tensor *,
                                                     struct tensor *),
                  const char *fn)
{
    struct tensor *x = lb_check_tensor(L, 1), *w = lb_check_tensor(L, 2);
    struct tensor *b = opt_tensor_arg(L, 3, fn);
    lb_push_tensor(L, op(x, w, b));
    return 1;
}

static int l_linear(lua_State *L) { return affine(L, op_linear, "linear"); }
static int l_bilinear(lua_State *L) { return affine(L, op_bilinear, "bilinear"); }

/* ---- conv2d ---- */

static int l_conv2d(lua_State *L)
{
    static const char *const allowed[] = {"stride", "padding", "dilation", "groups", NULL};
    static const int one[2] = {1, 1}, zero[2] = {0, 0};
    struct tensor *x = lb_check_tensor(L, 1), *w = lb_check_tensor(L, 2);
    int t = lua_istable(L, 3) ? 3 : 4; /* conv2d(x, w, opts) or conv2d(x, w, b, opts) */
    struct tensor *b = t == 4 ? opt_tensor_arg(L, 3, "conv2d") : NULL;
    lb_check_options(L, t, "conv2d", allowed);
    struct conv2d_params p;
    opt_pair(L, t, "stride", "conv2d", one, p.stride);
    opt_pair(L, t, "dilation", "conv2d", one, p.dilation);
    lua_Integer groups = lb_opt_integer(L, t, "groups", 1);
    if (groups < 1 || groups > INT_MAX)
        return luaL_error(L, "conv2d: groups must be a positive integer, got %I", groups);
    p.groups = (int)groups;
    const char *mode = NULL;
    if (lua_istable(L, t)) {
        lua_getfield(L, t, "padding");
        mode = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        lua_pop(L, 1); /* the options table keeps the string alive */
    }
    if (!mode) {
        opt_pair(L, t, "padding", "conv2d", zero, p.padding);
    } else if (!strcmp(mode, "valid")) {
        p.padding[0] = p.padding[1] = 0;
    } else if (!strcmp(mode, "same")) {
        if (p.stride[0] != 1 || p.stride[1] != 1)
            return luaL_error(L, "conv2d: padding='same' needs stride 1, got %dx%d", p.stride[0],
                              p.stride[1]);
        for (int d = 0; d < 2; d++) {
            int64_t total = p.dilation[d] * ((w->ndim == 4 ? w->shape[2 + d] : 1) - 1);
            if (total % 2)
                return luaL_error(L, "conv2d: padding='same' with weight %s and dilation %dx%d "
                                  "would need uneven padding, which is not supported",
                                  tshape(w), p.dilation[0], p.dilation[1]);
            p.padding[d] = (int)(total / 2);
        }
    } else {
        return luaL_error(L, "conv2d: padding must be a number, {h, w}, 'same' or 'valid', got "
                          "'%s'", mode);
    }
    bool unbatched = x->ndim == 3;
    struct tensor *xb = as_batch(x);
    if (!xb)
        return lb_fail(L);
    struct tensor *y = op_conv2d(xb, w, b, &p);
    tensor_release(xb);
    lb_push_tensor(L, unbatch(y, unbatched));
    return 1;
}

/* ---- batch_norm ---- */

static int l_batch_norm(lua_State *L)
{
    static const char *const allowed[] = {"training", "momentum", "eps", NULL};
    struct tensor *x = lb_check_tensor(L, 1);
    struct tensor *rm = opt_tensor_arg(L, 2, "batch_norm"), *rv = opt_tensor_arg(L, 3, "batch_norm");
    int t = 4; /* the options table follows weight and bias, which may be left out */
    while (t <= 6 && !lua_istable(L, t) && !lua_isnone(L, t))
        t++;
    struct tensor *w = t > 4 ? opt_tensor_arg(L, 4, "batch_norm") : NULL;
    struct tensor *b = t > 5 ? opt_tensor_arg(L, 5, "batch_norm") : NULL;
    if (t > 6)
        return luaL_error(L, "batch_norm: expected an options table for argument 6, got %s",
                          luaL_typename(L, 6));
    lb_check_options(L, t, "batch_norm", allowed);
    bool training = lb_opt_boolean(L, t, "training", 0);
    double momentum = lb_opt_number(L, t, "momentum", 0.1);
    double eps = lb_opt_number(L, t, "eps", 1e-5);
    lb_push_tensor(L, op_batch_norm(x, w, b, rm, rv, training, momentum, eps));
    return 1;
}

/* ---- pooling ---- */

static int pool(lua_State *L, bool is_max)
{
    static const char *const max_allowed[] = {"stride", "padding", "dilation", "ceil_mode",
                                              NULL};
    static const char *const avg_allowed[] = {"stride", "padding", "ceil_mode",
                                              "count_include_pad", NULL};
    static const int one[2] = {1, 1}, zero[2] = {0, 0};
    const char *fn = is_max ? "max_pool2d" : "avg_pool2d";
    struct tensor *x = lb_check_tensor(L, 1);
    struct pool2d_params p;
    luaL_checkany(L, 2);
    check_pair(L, 2, fn, "kernel", p.kernel);
    lb_check_options(L, 3, fn, is_max ? max_allowed : avg_allowed);
    opt_pair(L, 3, "stride", fn, p.kernel, p.stride);
    opt_pair(L, 3, "padding", fn, zero, p.padding);
    opt_pair(L, 3, "dilation", fn, one, p.dilation);
    p.ceil_mode = lb_opt_boolean(L, 3, "ceil_mode", 0);
    p.count_include_pad = lb_opt_boolean(L, 3, "count_include_pad", 1);
    bool unbatched = x->ndim == 3;
    struct tensor *xb = as_batch(x);
    if (!xb)
        return lb_fail(L);
    struct tensor *y = is_max ? op_max_pool2d(xb, &p) : op_avg_pool2d(xb, &p);
    tensor_release(xb);
    lb_push_tensor(L, unbatch(y, unbatched));
    return 1;
}

static int l_max_pool2d(lua_State *L) { return pool(L, true); }
static int l_avg_pool2d(lua_State *L) { return pool(L, false); }

static int adaptive(lua_State *L, bool is_max)
{
    const char *fn = is_max ? "adaptive_max_pool2d" : "adaptive_avg_pool2d";
    struct tensor *x = lb_check_tensor(L, 1);
    int size[2];
    luaL_checkany(L, 2);
    check_pair(L, 2, fn, "size", size);
    bool want_idx = is_max && lua_toboolean(L, 3);
    bool unbatched = x->ndim == 3;
    struct tensor *xb = as_batch(x);
    if (!xb)
        return lb_fail(L);
    struct tensor *idx = NULL;
    struct tensor *y = is_max ? op_adaptive_max_pool2d(xb, size[0], size[1],
                                                       want_idx ? &idx : NULL, 1)
                              : op_adaptive_avg_pool2d(xb, size[0], size[1]);
    tensor_release(xb);
    y = unbatch(y, unbatched);
    idx = y ? unbatch(idx, unbatched) : idx;
    if (y && want_idx && !idx) {
        tensor_release(y);
        y = NULL;
    }
    if (!y)
        tensor_release(idx);
    lb_push_tensor(L, y);
    if (!want_idx)
        return 1;
    lb_push_tensor(L, idx);
    return 2;
}

static int l_adaptive_avg_pool2d(lua_State *L) { return adaptive(L, false); }
static int l_adaptive_max_pool2d(lua_State *L) { return adaptive(L, true); }

/* ---- dropout ---- */

static int l_dropout(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    double p = luaL_optnumber(L, 2, 0.5);
    bool training = lua_isnoneornil(L, 3) ? true : lua_toboolean(L, 3);
    lb_push_tensor(L, op_dropout(x, p, training));
    return 1;
}

void lb_open_nn(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"linear", l_linear}, {"bilinear", l_bilinear}, {"conv2d", l_conv2d},
        {"batch_norm", l_batch_norm}, {"max_pool2d", l_max_pool2d},
        {"avg_pool2d", l_avg_pool2d}, {"adaptive_avg_pool2d", l_adaptive_avg_pool2d},
        {"adaptive_max_pool2d", l_adaptive_max_pool2d}, {"dropout", l_dropout}, {NULL, NULL}};
    /* loupe.functional is shared with l_loss.c: create it only if it is not there yet */
    lua_pushliteral(L, "functional");
    if (lua_rawget(L, -2) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setfield(L, -3, "functional");
    }
    luaL_setfuncs(L, fns, 0);
    lb_register_names(L, -1);
    lua_pop(L, 1);
}
