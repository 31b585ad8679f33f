/* l_io.c — safetensors files from Lua (the format and its checks: loupe/safetensors.h).
 *
 *   loupe.save(path, {name = tensor, ...} [, {key = "value", ...}])
 *   local tensors, metadata = loupe.load(path)
 *
 * save writes atomically (a crash never leaves a half-written checkpoint); metadata values may
 * be strings or numbers (numbers are stored as their Lua string form, the format only holds
 * strings). load returns a table name -> tensor and the metadata table (empty if none).
 *
 * Memory safety under Lua errors: every C allocation made here is owned by a Lua value on the
 * stack (scratch arrays are userdata, the loaded file sits in a userdata with __gc), so a Lua
 * error raised half-way leaks nothing. */
#include "loupe/lbind.h"

#include "loupe/core.h"
#include "loupe/safetensors.h"

#include <string.h>

#define ST_FILE_MT "loupe.st_file"

/* ---- save ---- */

/* Number of entries of the table at index t (any keys). */
static int table_count(lua_State *L, int t)
{
    int n = 0;
    lua_pushnil(L);
    while (lua_next(L, t)) {
        n++;
        lua_pop(L, 1);
    }
    return n;
}

/* The key at -2 during a traversal, which must be a string (checked without converting it in
 * place, which would confuse lua_next). `what` says which table, for the message. */
static const char *key_string(lua_State *L, const char *what)
{
    if (lua_type(L, -2) != LUA_TSTRING)
        luaL_error(L, "loupe.save: %s must be strings, got a %s key", what,
                   luaL_typename(L, -2));
    return lua_tostring(L, -2);
}

/* Fills names/tensors (length n) from the table at index t. The strings stay valid while the
 * table is on the stack; the tensors are borrowed from it. */
static void collect_tensors(lua_State *L, int t, int n, const char **names, struct tensor **ts)
{
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, t) && i < n) {
        names[i] = key_string(L, "tensor names");
        ts[i] = lb_to_tensor(L, -1);
        if (!ts[i])
            luaL_error(L, "loupe.save: value for '%s' is not a tensor (got %s)", names[i],
                       luaL_typename(L, -1));
        i++;
        lua_pop(L, 1);
    }
}

/* Fills keys/vals (length n) from the metadata table at index t. Numbers are converted to
 * strings kept alive in the table at index `anchor`. */
static void collect_meta(lua_State *L, int t, int anchor, int n, const char **keys,
                         const char **vals)
{
    int i = 0;
    lua_pushnil(L);
    while (lua_next(L, t) && i < n) {
        keys[i] = key_string(L, "metadata keys");
        int ty = lua_type(L, -1);
        if (ty == LUA_TSTRING) {
            vals[i] = lua_tostring(L, -1);
        } else if (ty == LUA_TNUMBER) {
            vals[i] = luaL_tolstring(L, -1, NULL); /* pushes a new string */
            lua_rawseti(L, anchor, i + 1);
        } else {
            luaL_error(L, "loupe.save: metadata value for '%s' must be a string or a number, "
                          "got %s", keys[i], luaL_typename(L, -1));
        }
        i++;
        lua_pop(L, 1);
    }
}

static int l_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    bool has_meta = !lua_isnoneornil(L, 3);
    if (has_meta)
        luaL_checktype(L, 3, LUA_TTABLE);
    lua_settop(L, 3);
    int n = table_count(L, 2), nmeta = has_meta ? table_count(L, 3) : 0;
    /* scratch arrays as userdata (index 4, 5) and the anchor table for converted numbers (6) */
    const char **names = lua_newuserdatauv(L, sizeof(char *) * (size_t)(n + 1), 0);
    struct tensor **ts = lua_newuserdatauv(L, sizeof(struct tensor *) * (size_t)(n + 1), 0);
    const char **meta = lua_newuserdatauv(L, sizeof(char *) * 2 * (size_t)(nmeta + 1), 0);
    lua_createtable(L, nmeta, 0);
    collect_tensors(L, 2, n, names, ts);
    if (has_meta)
        collect_meta(L, 3, 7, nmeta, meta, meta + nmeta);
    if (st_write(path, n, names, ts, nmeta, meta, meta + nmeta) < 0)
        return lb_fail(L);
    return 0;
}

/* ---- load ---- */

static int st_file_gc(lua_State *L)
{
    st_file_free(luaL_checkudata(L, 1, ST_FILE_MT));
    return 0;
}

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    /* the file lives in a userdata with __gc, so an error below (out of memory while building
     * the tables) still frees what has not been handed to Lua yet */
    struct st_file *f = lua_newuserdatauv(L, sizeof *f, 0);
    memset(f, 0, sizeof *f);
    luaL_setmetatable(L, ST_FILE_MT);
    if (st_read(path, f) < 0)
        return lb_fail(L);
    lua_createtable(L, 0, f->count);
    for (int i = 0; i < f->count; i++) {
        struct tensor *t = f->tensors[i];
        f->tensors[i] = NULL; /* ownership moves to the box */
        lb_push_tensor(L, t);
        lua_setfield(L, -2, f->names[i]);
    }
    lua_createtable(L, 0, f->nmeta);
    for (int i = 0; i < f->nmeta; i++) {
        lua_pushstring(L, f->meta_vals[i]);
        lua_setfield(L, -2, f->meta_keys[i]);
    }
    st_file_free(f); /* names and strings are copied into Lua now */
    return 2;
}

void lb_open_io(lua_State *L)
{
    if (luaL_newmetatable(L, ST_FILE_MT)) {
        lua_pushcfunction(L, st_file_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {{"save", l_save}, {"load", l_load}, {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
