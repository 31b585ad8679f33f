/* l_loss.c — the losses as loupe.functional.* and the optimizer kernels as loupe._optim.*
 * (the latter are the fused steps behind lua/loupe/optim; scripts use loupe.optim).
 *
 *   F.cross_entropy(logits, target [, {reduction="mean", label_smoothing=0, weight=}])
 *   F.nll_loss(logp, target [, {reduction="mean", weight=}])
 *   F.mse_loss(input, target [, {reduction="mean"}])
 *   F.binary_cross_entropy_with_logits(x, y [, {reduction="mean", pos_weight=}])
 *   loupe._optim.sgd_step(p, g, buf, {lr, momentum, dampening, weight_decay, nesterov, step})
 *   loupe._optim.adam_step(p, g, m, v, {lr, beta1, beta2, eps, weight_decay, decoupled, step})
 *
 * Class labels are 1-based, as everywhere in Lua. An option name the function does not know
 * is an error naming it: a misspelt `label_smothing` must not silently train without it. */
#include "loupe/lbind.h"

#include "loupe/nn.h"

#include <string.h>


static enum reduction opt_reduction(lua_State *L, int t, const char *fn)
{
    if (!lua_istable(L, t))
        return RED_MEAN;
    lua_getfield(L, t, "reduction");
    enum reduction r = RED_MEAN;
    if (!lua_isnil(L, -1)) {
        const char *s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
        if (s && !strcmp(s, "none"))
            r = RED_NONE;
        else if (s && !strcmp(s, "sum"))
            r = RED_SUM;
        else if (!s || strcmp(s, "mean"))
            luaL_error(L, "%s: reduction must be 'none', 'mean' or 'sum', got %s", fn,
                       luaL_tolstring(L, -1, NULL));
    }
    lua_pop(L, 1);
    return r;
}

/* An optional tensor option (borrowed: the options table at t keeps it alive). */
static struct tensor *opt_tensor(lua_State *L, int t, const char *key, const char *fn)
{
    if (!lua_istable(L, t))
        return NULL;
    lua_getfield(L, t, key);
    struct tensor *x = lb_to_tensor(L, -1);
    if (!x && !lua_isnil(L, -1))
        luaL_error(L, "%s: option '%s' must be a tensor, got %s", fn, key, luaL_typename(L, -1));
    lua_pop(L, 1);
    return x;
}

/* ---- losses ---- */

static int l_cross_entropy(lua_State *L)
{
    static const char *const opts[] = {"reduction", "label_smoothing", "weight", NULL};
    const char *fn = "cross_entropy";
    struct tensor *x = lb_check_tensor(L, 1), *t = lb_check_tensor(L, 2);
    lb_check_options(L, 3, fn, opts);
    enum reduction red = opt_reduction(L, 3, fn);
    double eps = lb_opt_number(L, 3, "label_smoothing", 0);
    struct tensor *w = opt_tensor(L, 3, "weight", fn);
    lb_push_tensor(L, op_cross_entropy(x, t, 1, w, red, eps));
    return 1;
}

static int l_nll_loss(lua_State *L)
{
    static const char *const opts[] = {"reduction", "weight", NULL};
    const char *fn = "nll_loss";
    struct tensor *x = lb_check_tensor(L, 1), *t = lb_check_tensor(L, 2);
    lb_check_options(L, 3, fn, opts);
    enum reduction red = opt_reduction(L, 3, fn);
    struct tensor *w = opt_tensor(L, 3, "weight", fn);
    lb_push_tensor(L, op_nll_loss(x, t, 1, w, red));
    return 1;
}

static int l_mse_loss(lua_State *L)
{
    static const char *const opts[] = {"reduction", NULL};
    const char *fn = "mse_loss";
    struct tensor *a = lb_check_tensor(L, 1), *b = lb_check_tensor(L, 2);
    lb_check_options(L, 3, fn, opts);
    lb_push_tensor(L, op_mse_loss(a, b, opt_reduction(L, 3, fn)));
    return 1;
}

static int l_bce_with_logits(lua_State *L)
{
    static const char *const opts[] = {"reduction", "pos_weight", NULL};
    const char *fn = "binary_cross_entropy_with_logits";
    struct tensor *x = lb_check_tensor(L, 1), *y = lb_check_tensor(L, 2);
    lb_check_options(L, 3, fn, opts);
    enum reduction red = opt_reduction(L, 3, fn);
    struct tensor *pw = opt_tensor(L, 3, "pos_weight", fn);
    lb_push_tensor(L, op_bce_with_logits(x, y, pw, red));
    return 1;
}

/* ---- optimizer kernels ---- */

static lua_Number req_number(lua_State *L, int t, const char *key, const char *fn)
{
    lua_getfield(L, t, key);
    if (lua_type(L, -1) != LUA_TNUMBER)
        luaL_error(L, "%s: option '%s' must be a number, got %s", fn, key, luaL_typename(L, -1));
    lua_Number v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

static lua_Integer req_integer(lua_State *L, int t, const char *key, const char *fn)
{
    lua_getfield(L, t, key);
    if (!lua_isinteger(L, -1))
        luaL_error(L, "%s: option '%s' must be an integer, got %s", fn, key, luaL_typename(L, -1));
    lua_Integer v = lua_tointeger(L, -1);
    lua_pop(L, 1);
    return v;
}

static int l_sgd_step(lua_State *L)
{
    static const char *const opts[] = {"lr", "momentum", "dampening", "weight_decay",
                                       "nesterov", "step", NULL};
    const char *fn = "sgd_step";
    struct tensor *p = lb_check_tensor(L, 1), *g = lb_check_tensor(L, 2);
    struct tensor *buf = lua_isnoneornil(L, 3) ? NULL : lb_check_tensor(L, 3);
    luaL_checktype(L, 4, LUA_TTABLE);
    lb_check_options(L, 4, fn, opts);
    int rc = optim_sgd_step(p, g, buf, req_number(L, 4, "lr", fn),
                            lb_opt_number(L, 4, "momentum", 0), lb_opt_number(L, 4, "dampening", 0),
                            lb_opt_number(L, 4, "weight_decay", 0),
                            lb_opt_boolean(L, 4, "nesterov", 0), req_integer(L, 4, "step", fn));
    return rc < 0 ? lb_fail(L) : 0;
}

static int l_adam_step(lua_State *L)
{
    static const char *const opts[] = {"lr", "beta1", "beta2", "eps", "weight_decay",
                                       "decoupled", "step", NULL};
    const char *fn = "adam_step";
    struct tensor *p = lb_check_tensor(L, 1), *g = lb_check_tensor(L, 2);
    struct tensor *m = lb_check_tensor(L, 3), *v = lb_check_tensor(L, 4);
    luaL_checktype(L, 5, LUA_TTABLE);
    lb_check_options(L, 5, fn, opts);
    int rc = optim_adam_step(p, g, m, v, req_number(L, 5, "lr", fn),
                             lb_opt_number(L, 5, "beta1", 0.9), lb_opt_number(L, 5, "beta2", 0.999),
                             lb_opt_number(L, 5, "eps", 1e-8),
                             lb_opt_number(L, 5, "weight_decay", 0),
                             lb_opt_boolean(L, 5, "decoupled", 0), req_integer(L, 5, "step", fn));
    return rc < 0 ? lb_fail(L) : 0;
}

/* loupe[name], created empty if absent (other binding files add to the same tables). */
static void get_subtable(lua_State *L, const char *name)
{
    lua_pushstring(L, name);
    if (lua_rawget(L, -2) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushstring(L, name);
        lua_pushvalue(L, -2);
        lua_rawset(L, -4);
    }
}

void lb_open_loss(lua_State *L)
{
    static const luaL_Reg losses[] = {
        {"cross_entropy", l_cross_entropy}, {"nll_loss", l_nll_loss}, {"mse_loss", l_mse_loss},
        {"binary_cross_entropy_with_logits", l_bce_with_logits}, {NULL, NULL}};
    static const luaL_Reg optim[] = {
        {"sgd_step", l_sgd_step}, {"adam_step", l_adam_step}, {NULL, NULL}};
    get_subtable(L, "functional");
    luaL_setfuncs(L, losses, 0);
    lb_register_names(L, -1);
    lua_pop(L, 1);
    get_subtable(L, "_optim");
    luaL_setfuncs(L, optim, 0);
    lb_register_names(L, -1);
    lua_pop(L, 1);
}
