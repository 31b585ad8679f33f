/* l_data.c — the dataset readers (loupe/data.h) as loupe._data, the low-level layer under the
 * dataset objects of lua/loupe/data/. Positions and labels are 1-based, as everywhere in Lua.
 *
 *   read_idx(path [, {images = true}])         -> tensor of the file's shape (raw or .gz);
 *                                                 images: [N, H, W] files as [N, 1, H, W]
 *   read_cifar(paths, {label_bytes = 1, label = 1, num_classes = 10})
 *                                              -> x uint8 [N,3,32,32], y int64 [N] (1-based)
 *   read_mat(path, {"X", "y"})                 -> {X = tensor, y = tensor} (dims reversed)
 *   read_images(paths [, {size = {h, w}}])     -> uint8 [N,3,H,W]
 *   list_dir(path)                             -> {{name = "cat", dir = true}, ...} sorted
 *   rgb_to_gray(x)                             -> float32 [...,1,H,W] from uint8 [...,3,H,W]
 *   to_labels(t, offset, num_classes, what)    -> int64 [N] = t + offset, checked
 *   select_labels(y, {6, 9})                   -> positions int64 [M], new labels int64 [M]
 *
 * `paths` is a string or a list of strings. Scratch arrays live in userdata, so a Lua error
 * raised half-way leaks nothing. */
#include "loupe/lbind.h"

#include "loupe/core.h"
#include "loupe/data.h"

/* The strings of argument i (a string or a list of strings) in a userdata array pushed on the
 * stack; the strings stay valid while argument i does. Returns the count. */
static int check_paths(lua_State *L, int i, const char ***paths)
{
    if (lua_type(L, i) == LUA_TSTRING) {
        *paths = lua_newuserdatauv(L, sizeof **paths, 0);
        (*paths)[0] = lua_tostring(L, i);
        return 1;
    }
    luaL_checktype(L, i, LUA_TTABLE);
    lua_Integer n = luaL_len(L, i);
    if (n < 1 || n > 1 << 26)
        luaL_error(L, "%s: expected a path or a non-empty list of paths", lb_function_name(L));
    *paths = lua_newuserdatauv(L, (size_t)n * sizeof **paths, 0);
    for (lua_Integer k = 1; k <= n; k++) {
        if (lua_rawgeti(L, i, k) != LUA_TSTRING)
            luaL_error(L, "%s: path %d is a %s, expected a string", lb_function_name(L), (int)k,
                       luaL_typename(L, -1));
        (*paths)[k - 1] = lua_tostring(L, -1); /* anchored by the table */
        lua_pop(L, 1);
    }
    return (int)n;
}

static int l_read_idx(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    static const char *const allowed[] = {"images", NULL};
    lb_check_options(L, 2, "read_idx", allowed);
    bool images = lb_opt_boolean(L, 2, "images", 0);
    lb_push_tensor(L, images ? ds_read_idx_images(path) : ds_read_idx(path));
    return 1;
}

static int l_read_cifar(lua_State *L)
{
    lua_settop(L, 2); /* the options stay at 2, scratch goes above */
    const char **paths;
    int n = check_paths(L, 1, &paths);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer label_bytes = lb_opt_integer(L, 2, "label_bytes", 1);
    lua_Integer label = lb_opt_integer(L, 2, "label", 1);
    lua_Integer classes = lb_opt_integer(L, 2, "num_classes", 10);
    if (label_bytes < 1 || label_bytes > 2 || label < 1 || label > label_bytes || classes < 1
        || classes > 256)
        return luaL_error(L, "read_cifar: label_bytes must be 1 or 2, label in 1..label_bytes "
                             "and num_classes in 1..256");
    struct tensor *x, *y;
    if (ds_read_cifar(n, paths, (int)label_bytes, (int)label - 1, (int)classes, &x, &y) < 0)
        return lb_fail(L);
    lb_push_tensor(L, x);
    lb_push_tensor(L, y);
    return 2;
}

/* Tensors read but not yet boxed; __gc releases those left, should boxing one raise. */
struct pending {
    int n;
    struct tensor *t[];
};

static int pending_gc(lua_State *L)
{
    struct pending *p = lua_touserdata(L, 1);
    for (int i = 0; i < p->n; i++) {
        tensor_release(p->t[i]);
        p->t[i] = NULL;
    }
    return 0;
}

static int l_read_mat(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = luaL_len(L, 2);
    if (n < 1 || n > 256)
        return luaL_error(L, "read_mat: expected a list of 1 to 256 variable names");
    const char **names = lua_newuserdatauv(L, (size_t)n * sizeof *names, 0);
    for (lua_Integer k = 1; k <= n; k++) {
        if (lua_rawgeti(L, 2, k) != LUA_TSTRING)
            return luaL_error(L, "read_mat: variable name %d is a %s, expected a string",
                              (int)k, luaL_typename(L, -1));
        names[k - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    struct pending *out = lua_newuserdatauv(L, sizeof *out + (size_t)n * sizeof out->t[0], 0);
    out->n = 0;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, pending_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    if (ds_read_mat(path, (int)n, names, out->t) < 0)
        return lb_fail(L);
    out->n = (int)n;
    lua_createtable(L, 0, (int)n);
    for (lua_Integer k = 0; k < n; k++) {
        struct tensor *t = out->t[k];
        out->t[k] = NULL; /* lb_push_tensor owns it now, even if it raises */
        lb_push_tensor(L, t);
        lua_setfield(L, -2, names[k]);
    }
    return 1;
}

static int l_read_images(lua_State *L)
{
    lua_settop(L, 2); /* the options stay at 2, scratch goes above */
    const char **paths;
    int n = check_paths(L, 1, &paths);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer hw[2] = {0, 0};
    if (lua_istable(L, 2)) {
        int ty = lua_getfield(L, 2, "size");
        if (ty == LUA_TNUMBER) {
            hw[0] = hw[1] = luaL_checkinteger(L, -1);
        } else if (ty == LUA_TTABLE && luaL_len(L, -1) == 2) {
            for (int k = 0; k < 2; k++) {
                lua_rawgeti(L, -1, k + 1);
                hw[k] = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
                lua_pop(L, 1);
            }
        } else if (ty != LUA_TNIL) {
            hw[0] = -1;
        }
        lua_pop(L, 1);
        if (ty != LUA_TNIL && (hw[0] < 1 || hw[1] < 1 || hw[0] > 1 << 20 || hw[1] > 1 << 20))
            return luaL_error(L, "read_images: size must be a positive integer or {h, w}");
    }
    lb_push_tensor(L, ds_read_images(n, paths, hw[0], hw[1]));
    return 1;
}

/* The listing is copied into a table, then freed: it lives in a userdata with __gc meanwhile,
 * so an out-of-memory error while building the table leaks nothing. */
struct listing {
    struct ds_dirent *entries;
    int n;
};

static int listing_gc(lua_State *L)
{
    struct listing *ls = lua_touserdata(L, 1);
    ds_dirents_free(ls->entries, ls->n);
    ls->entries = NULL;
    ls->n = 0;
    return 0;
}

static int l_list_dir(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    struct listing *ls = lua_newuserdatauv(L, sizeof *ls, 0);
    ls->entries = NULL;
    ls->n = 0;
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, listing_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    int n = ds_list_dir(path, &ls->entries);
    if (n < 0)
        return lb_fail(L);
    ls->n = n;
    lua_createtable(L, n, 0);
    for (int i = 0; i < n; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, ls->entries[i].name);
        lua_setfield(L, -2, "name");
        lua_pushboolean(L, ls->entries[i].is_dir);
        lua_setfield(L, -2, "dir");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

static int l_rgb_to_gray(lua_State *L)
{
    lb_push_tensor(L, ds_rgb_to_gray(lb_check_tensor(L, 1)));
    return 1;
}

static int l_to_labels(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    lua_Number offset = luaL_checknumber(L, 2);
    lua_Integer k = luaL_checkinteger(L, 3);
    const char *what = luaL_optstring(L, 4, "labels");
    lb_push_tensor(L, ds_to_labels(t, offset, k, what));
    return 1;
}

static int l_select_labels(lua_State *L)
{
    struct tensor *y = lb_check_tensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer k = luaL_len(L, 2);
    if (k < 1 || k > 1 << 20)
        return luaL_error(L, "select_labels: expected a non-empty list of labels");
    int64_t *keep = lua_newuserdatauv(L, (size_t)k * sizeof *keep, 0);
    for (lua_Integer j = 1; j <= k; j++) {
        lua_rawgeti(L, 2, j);
        if (!lua_isinteger(L, -1))
            return luaL_error(L, "select_labels: label %d is not an integer", (int)j);
        keep[j - 1] = lua_tointeger(L, -1);
        lua_pop(L, 1);
    }
    struct tensor *idx, *ny;
    if (ds_select_labels(y, (int)k, keep, &idx, &ny) < 0)
        return lb_fail(L);
    lb_push_tensor(L, idx);
    lb_push_tensor(L, ny);
    return 2;
}

void lb_open_data(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"read_idx", l_read_idx}, {"read_cifar", l_read_cifar}, {"read_mat", l_read_mat},
        {"read_images", l_read_images}, {"list_dir", l_list_dir},
        {"rgb_to_gray", l_rgb_to_gray}, {"to_labels", l_to_labels},
        {"select_labels", l_select_labels}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "_data");
}
