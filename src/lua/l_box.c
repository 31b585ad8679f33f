/* l_box.c — the tensor userdata (box), argument helpers and garbage-collector pressure.
 *
 * Lua's collector only sees the few bytes of each box, not the tensor memory behind it, so a
 * loop that drops large temporaries would grow without bound. lb_push_tensor therefore runs
 * a full collection whenever the core has allocated more than max(64 MB, L/4) since the
 * last one, L being the bytes still live right after it: peak memory stays within about
 * 1.25 times the live set (plus 64 MB), and the Lua heap is small, so collections are cheap. */
#include "loupe/lbind.h"

#include "loupe/core.h"

#include <math.h>
#include <string.h>

#define GC_MIN_BYTES ((size_t)64 << 20)

static char box_key; /* registry key of the tensor metatable (address-unique) */

int lb_fail(lua_State *L) { return luaL_error(L, "%s", err_msg()); }

static void push_metatable(lua_State *L) { lua_rawgetp(L, LUA_REGISTRYINDEX, &box_key); }

void lb_register_metatable(lua_State *L)
{
    /* the metatable is at -1: remember it under our key and under its name */
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &box_key);
    lua_pushvalue(L, -1);
    lua_setfield(L, LUA_REGISTRYINDEX, LB_TENSOR_MT);
}

static struct tensor **to_box(lua_State *L, int i)
{
    struct tensor **box = lua_touserdata(L, i);
    if (!box || !lua_getmetatable(L, i))
        return NULL;
    push_metatable(L);
    bool ours = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return ours ? box : NULL;
}

static char names_key; /* registry key of the table C function -> its loupe name */

void lb_register_names(lua_State *L, int t)
{
    t = lua_absindex(L, t);
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_rawsetp(L, LUA_REGISTRYINDEX, &names_key);
    }
    lua_pushnil(L);
    while (lua_next(L, t)) {
        if (lua_type(L, -2) == LUA_TSTRING && lua_iscfunction(L, -1)) {
            const char *k = lua_tostring(L, -2);
            bool meta = k[0] == '_' && k[1] == '_';
            lua_pushvalue(L, -1);
            if (lua_rawget(L, -4) == LUA_TNIL || !meta) { /* "add" wins over "__add" */
                lua_pushvalue(L, -2);
                lua_pushstring(L, meta ? k + 2 : k);
                lua_rawset(L, -6);
            }
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The loupe name of the running C function ("sum" also when called as `local f = x.sum;
 * f(x, 0)`), else the name Lua gives the call, else "?". */
const char *lb_function_name(lua_State *L)
{
    lua_Debug ar;
    if (!lua_getstack(L, 0, &ar))
        return "?";
    const char *name = NULL;
    if (lua_getinfo(L, "f", &ar)) {
        if (lua_rawgetp(L, LUA_REGISTRYINDEX, &names_key) == LUA_TTABLE) {
            lua_pushvalue(L, -2);
            if (lua_rawget(L, -2) == LUA_TSTRING)
                name = lua_tostring(L, -1); /* kept alive by the registry table */
            lua_pop(L, 1);
        }
        lua_pop(L, 2);
    }
    if (!name && lua_getinfo(L, "n", &ar))
        name = ar.name;
    return name ? name : "?";
}

static const char *current_function(lua_State *L) { return lb_function_name(L); }

struct tensor *lb_to_tensor(lua_State *L, int i)
{
    struct tensor **box = to_box(L, i);
    if (box && !*box) {
        if (i > 0)
            luaL_error(L, "%s: tensor was freed (argument %d)", current_function(L), i);
        luaL_error(L, "%s: tensor was freed", current_function(L));
    }
    return box ? *box : NULL;
}

struct tensor *lb_check_tensor(lua_State *L, int i)
{
    struct tensor *t = lb_to_tensor(L, i);
    if (!t)
        luaL_error(L, "%s: expected a tensor for argument %d, got %s", current_function(L), i,
                   luaL_typename(L, i));
    return t;
}

void lb_push_tensor(lua_State *L, struct tensor *t)
{
    if (!t) {
        lb_fail(L);
        return;
    }
    /* Box created before it holds anything: if lua_newuserdatauv fails (memory error), the
     * tensor is released first so nothing leaks. */
    struct tensor **box = NULL;
    if (lua_checkstack(L, 2))
        box = lua_newuserdatauv(L, sizeof *box, 0);
    if (!box) {
        tensor_release(t);
        luaL_error(L, "out of memory creating a tensor box");
        return;
    }
    *box = t;
    push_metatable(L);
    lua_setmetatable(L, -2);
    /* Compare with the live bytes right after the last collection: garbage made since then
     * still counts as live until collected, so comparing with core_mem_live() now would
     * never trigger (a loop of 1 MB temporaries grew to 1 GB). */
    static size_t live_after_gc;
    size_t since = core_mem_since_mark();
    if (since > (live_after_gc / 4 > GC_MIN_BYTES ? live_after_gc / 4 : GC_MIN_BYTES)) {
        lua_gc(L, LUA_GCCOLLECT);
        core_mem_mark_collected();
        live_after_gc = core_mem_live();
    }
}

/* __gc, __close and t:free(): release once, then mark the box freed. */
int lb_box_free(lua_State *L)
{
    struct tensor **box = to_box(L, 1);
    if (box && *box) {
        tensor_release(*box);
        *box = NULL;
    }
    return 0;
}

struct tensor *lb_tensor_or_number(lua_State *L, int i)
{
    struct tensor *t = lb_to_tensor(L, i);
    if (t)
        return tensor_retain(t);
    if (lua_type(L, i) == LUA_TNUMBER) {
        struct tensor *s = tensor_scalar((float)lua_tonumber(L, i));
        if (!s)
            lb_fail(L);
        return s;
    }
    luaL_error(L, "%s: expected a tensor or number for argument %d, got %s", current_function(L),
               i, luaL_typename(L, i));
    return NULL;
}

int lb_check_dim(lua_State *L, int i, int ndim)
{
    lua_Integer d = luaL_checkinteger(L, i);
    int n = ndim > 0 ? ndim : 1;
    if (d == 0)
        luaL_error(L, "%s: dimension 0 is invalid (dimensions are 1-based)", current_function(L));
    if (d < -n || d > n)
        luaL_error(L, "%s: dimension %I out of range for a tensor with %d dimensions",
                   current_function(L), (lua_Integer)d, ndim);
    return d > 0 ? (int)d - 1 : (int)d + n;
}

static int64_t check_size(lua_State *L, int i)
{
    if (lua_isinteger(L, i))
        return (int64_t)lua_tointeger(L, i);
    if (lua_type(L, i) != LUA_TNUMBER)
        luaL_error(L, "%s: sizes must be integers, got %s", current_function(L),
                   luaL_typename(L, i));
    lua_Number v = lua_tonumber(L, i);
    if (v != floor(v)) /* also NaN; a fraction */
        luaL_error(L, "%s: sizes must be integers, got %s", current_function(L),
                   lua_tostring(L, i));
    lua_Integer k = 0;
    if (!lua_numbertointeger(v, &k)) /* integral but beyond int64: no UB cast */
        luaL_error(L, v > 0 ? "%s: out of memory: size %s is too large"
                            : "%s: size %s is out of range", current_function(L),
                   lua_tostring(L, i));
    return (int64_t)k;
}

int lb_check_shape(lua_State *L, int i, int64_t *shape)
{
    int n = 0;
    if (lua_istable(L, i) && !lb_to_tensor(L, i)) {
        n = (int)lua_rawlen(L, i);
        if (n > TENSOR_MAXDIM)
            luaL_error(L, "%s: %d dimensions requested, at most %d supported",
                       current_function(L), n, TENSOR_MAXDIM);
        for (int d = 0; d < n; d++) {
            lua_rawgeti(L, i, d + 1);
            shape[d] = check_size(L, -1);
            lua_pop(L, 1);
        }
        return n;
    }
    for (int k = i; lua_type(L, k) == LUA_TNUMBER; k++) {
        if (n == TENSOR_MAXDIM)
            luaL_error(L, "%s: at most %d dimensions supported", current_function(L),
                       TENSOR_MAXDIM);
        shape[n++] = check_size(L, k);
    }
    return n;
}

lua_Number lb_opt_number(lua_State *L, int t, const char *key, lua_Number def)
{
    if (!lua_istable(L, t))
        return def;
    lua_getfield(L, t, key);
    lua_Number v = def;
    if (!lua_isnil(L, -1)) {
        if (lua_type(L, -1) != LUA_TNUMBER)
            luaL_error(L, "%s: option '%s' must be a number, got %s", current_function(L), key,
                       luaL_typename(L, -1));
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

lua_Integer lb_opt_integer(lua_State *L, int t, const char *key, lua_Integer def)
{
    if (!lua_istable(L, t))
        return def;
    lua_getfield(L, t, key);
    lua_Integer v = def;
    if (!lua_isnil(L, -1)) {
        if (!lua_isinteger(L, -1))
            luaL_error(L, "%s: option '%s' must be an integer, got %s", current_function(L), key,
                       luaL_typename(L, -1));
        v = lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

int lb_opt_boolean(lua_State *L, int t, const char *key, int def)
{
    if (!lua_istable(L, t))
        return def;
    lua_getfield(L, t, key);
    int v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

void lb_add_methods(lua_State *L, const luaL_Reg *fns)
{
    lua_rawgetp(L, LUA_REGISTRYINDEX, &box_key);
    lua_getfield(L, -1, "__methods");
    luaL_setfuncs(L, fns, 0);
    lua_pop(L, 2);
}

/* Raises an error unless the value at t is nil or a table whose keys are all in `allowed`
 * (NULL-terminated). */
void lb_check_options(lua_State *L, int t, const char *fn, const char *const *allowed)
{
    if (lua_isnoneornil(L, t))
        return;
    if (!lua_istable(L, t))
        luaL_error(L, "%s: expected an options table for argument %d, got %s", fn, t,
                   luaL_typename(L, t));
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        bool known = false;
        if (lua_type(L, -1) == LUA_TSTRING)
            for (int i = 0; allowed[i] && !known; i++)
                known = strcmp(lua_tostring(L, -1), allowed[i]) == 0;
        if (!known) {
            luaL_Buffer b;
            luaL_buffinit(L, &b);
            for (int i = 0; allowed[i]; i++) {
                luaL_addstring(&b, i ? ", " : "");
                luaL_addstring(&b, allowed[i]);
            }
            luaL_pushresult(&b);
            const char *key = luaL_tolstring(L, -2, NULL);
            luaL_error(L, "%s: unknown option '%s' (expected one of: %s)", fn, key,
                       lua_tostring(L, -2));
        }
    }
}
