/* l_autograd.c — requires_grad_, backward, detach, grad_fn, is_leaf, no_grad, enable_grad. */
#include "loupe/lbind.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"

#include <stdlib.h>

static int m_requires_grad_(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    bool on = lua_isnoneornil(L, 2) ? true : lua_toboolean(L, 2);
    if (t->grad_fn)
        return luaL_error(L, "requires_grad_: only leaf tensors can be marked; this one comes "
                             "from %s (use detach() first)", t->grad_fn->name);
    if (on && t->dtype != DT_FLOAT32)
        return luaL_error(L, "requires_grad_: only float32 tensors can require gradients, got %s",
                          dtype_name(t->dtype));
    t->requires_grad = on;
    lua_settop(L, 1);
    return 1;
}

/* backward([grad] [, {retain_graph=false}]) */
static int m_backward(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    struct tensor *g = lb_to_tensor(L, 2);
    int opts = g ? 3 : 2;
    if (!g && !lua_isnoneornil(L, 2) && !lua_istable(L, 2))
        return luaL_error(L, "backward: expected a gradient tensor or an options table, got %s",
                          luaL_typename(L, 2));
    bool retain = lb_opt_boolean(L, opts, "retain_graph", 0);
    if (ag_backward(t, g, retain) < 0)
        return lb_fail(L);
    if (!retain && t->grad_fn) {
        /* The graph is spent: let its memory go now (a loop that keeps every loss would
         * otherwise keep every graph), leaving an empty, released node with the same name, so that
         * grad_fn() still answers and a second backward reports "trying to backward through
         * the graph a second time" rather than "does not require grad". */
        struct ag_node *spent = calloc(1, sizeof *spent);
        if (spent) {
            spent->refcount = 1;
            spent->name = t->grad_fn->name;
            spent->released = true;
        }
        ag_node_release(t->grad_fn);
        t->grad_fn = spent;
        t->requires_grad = spent != NULL;
    }
    return 0;
}

static int m_detach(lua_State *L)
{
    lb_push_tensor(L, op_detach(lb_check_tensor(L, 1)));
    return 1;
}

static int m_detach_(lua_State *L)
{
    ag_detach_(lb_check_tensor(L, 1));
    lua_settop(L, 1);
    return 1;
}

static int m_grad_fn(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    if (t->grad_fn)
        lua_pushstring(L, t->grad_fn->name);
    else
        lua_pushnil(L);
    return 1;
}

static int m_is_leaf(lua_State *L)
{
    lua_pushboolean(L, lb_check_tensor(L, 1)->grad_fn == NULL);
    return 1;
}

/* Runs f(...) with grad mode set to `on`, restoring the previous mode even if f errors. */
static int with_grad_mode(lua_State *L, bool on)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    bool was = ag_set_grad_enabled(on);
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    ag_set_grad_enabled(was);
    if (status != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

static int l_no_grad(lua_State *L) { return with_grad_mode(L, false); }
static int l_enable_grad(lua_State *L) { return with_grad_mode(L, true); }

static int l_is_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, ag_grad_enabled());
    return 1;
}

static int l_set_grad_enabled(lua_State *L)
{
    lua_pushboolean(L, ag_set_grad_enabled(lua_toboolean(L, 1)));
    return 1;
}

static const luaL_Reg methods[] = {
    {"requires_grad_", m_requires_grad_}, {"backward", m_backward}, {"detach", m_detach},
    {"detach_", m_detach_}, {"grad_fn", m_grad_fn}, {"is_leaf", m_is_leaf}, {NULL, NULL}};

static const luaL_Reg functions[] = {
    {"no_grad", l_no_grad}, {"enable_grad", l_enable_grad},
    {"is_grad_enabled", l_is_grad_enabled}, {"set_grad_enabled", l_set_grad_enabled},
    {NULL, NULL}};

void lb_open_autograd(lua_State *L)
{
    luaL_setfuncs(L, functions, 0);
    lb_add_methods(L, methods);
}
