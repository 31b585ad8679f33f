/* l_linalg.c — loupe.linalg: eigh, eigvalsh, svd, svdvals, pca (the core is src/ops/linalg.c;
 * contract, double precision and sign convention in include/loupe/linalg.h).
 *
 * loupe.linalg is a plain C table set when the module opens, so the lazy loader of l_init.c
 * (which only runs for missing keys) never looks for a lua/loupe/linalg.lua. */
#include "loupe/lbind.h"

#include "loupe/linalg.h"

#include <string.h>

/* opts.uplo: "L" (default) or "U"; returns whether the upper triangle is read. */
static bool check_uplo(lua_State *L, int t, const char *fn)
{
    static const char *const allowed[] = {"uplo", NULL};
    lb_check_options(L, t, fn, allowed);
    if (!lua_istable(L, t))
        return false;
    lua_getfield(L, t, "uplo");
    const char *s = lua_isnil(L, -1) ? "L" : lua_tostring(L, -1);
    if (!s || (strcmp(s, "L") != 0 && strcmp(s, "U") != 0))
        luaL_error(L, "%s: uplo must be \"L\" or \"U\", got %s", fn, luaL_tolstring(L, -1, NULL));
    bool upper = s[0] == 'U';
    lua_pop(L, 1);
    return upper;
}

/* eigh(A [, {uplo="L"}]) -> values [..., n] ascending, vectors [..., n, n] (columns) */
static int l_eigh(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1);
    bool upper = check_uplo(L, 2, "eigh");
    struct tensor *w, *v;
    if (linalg_eigh(a, upper, &w, &v) < 0)
        return lb_fail(L);
    lb_push_tensor(L, w);
    lb_push_tensor(L, v);
    return 2;
}

/* eigvalsh(A [, {uplo="L"}]) -> values [..., n] ascending */
static int l_eigvalsh(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1);
    bool upper = check_uplo(L, 2, "eigvalsh");
    struct tensor *w;
    if (linalg_eigh(a, upper, &w, NULL) < 0)
        return lb_fail(L);
    lb_push_tensor(L, w);
    return 1;
}

/* svd(A [, {full_matrices=true}]) -> U, S (descending), Vh */
static int l_svd(lua_State *L)
{
    static const char *const allowed[] = {"full_matrices", NULL};
    struct tensor *a = lb_check_tensor(L, 1);
    lb_check_options(L, 2, "svd", allowed);
    struct tensor *u, *s, *vh;
    if (linalg_svd(a, lb_opt_boolean(L, 2, "full_matrices", 1), &u, &s, &vh) < 0)
        return lb_fail(L);
    lb_push_tensor(L, u);
    lb_push_tensor(L, s);
    lb_push_tensor(L, vh);
    return 3;
}

/* svdvals(A) -> S [..., min(m, n)] descending */
static int l_svdvals(lua_State *L)
{
    struct tensor *a = lb_check_tensor(L, 1);
    struct tensor *s;
    if (linalg_svd(a, false, NULL, &s, NULL) < 0)
        return lb_fail(L);
    lb_push_tensor(L, s);
    return 1;
}

/* pca(X [, k] [, {center=true}]) -> {components, explained_variance, explained_variance_ratio,
 * singular_values, mean, scores}; k defaults to min(N, D). */
static int l_pca(lua_State *L)
{
    static const char *const allowed[] = {"center", NULL};
    struct tensor *x = lb_check_tensor(L, 1);
    int opts = lua_istable(L, 2) ? 2 : 3;
    lb_check_options(L, opts, "pca", allowed);
    bool center = lb_opt_boolean(L, opts, "center", 1);
    lua_Integer k = -1;
    if (opts == 3 && !lua_isnoneornil(L, 2))
        k = luaL_checkinteger(L, 2);
    else if (x->ndim == 2)
        k = x->shape[0] < x->shape[1] ? x->shape[0] : x->shape[1];
    struct linalg_pca p;
    if (linalg_pca(x, (int64_t)k, center, &p) < 0)
        return lb_fail(L);
    lua_createtable(L, 0, 6);
    struct { const char *name; struct tensor *t; } fields[] = {
        {"components", p.components}, {"explained_variance", p.explained_variance},
        {"explained_variance_ratio", p.explained_variance_ratio},
        {"singular_values", p.singular_values}, {"mean", p.mean}, {"scores", p.scores}};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        lb_push_tensor(L, fields[i].t);
        lua_setfield(L, -2, fields[i].name);
    }
    return 1;
}

void lb_open_linalg(lua_State *L)
{
    static const luaL_Reg fns[] = {{"eigh", l_eigh},       {"eigvalsh", l_eigvalsh},
                                   {"svd", l_svd},         {"svdvals", l_svdvals},
                                   {"pca", l_pca},         {NULL, NULL}};
    luaL_newlib(L, fns);
    lb_register_names(L, -1); /* "eigh: expected a tensor ..." from lb_check_tensor */
    lua_setfield(L, -2, "linalg");
}
