/* l_transforms.c — the C transforms (loupe/transforms.h) as loupe functions; the Lua-side
 * transforms (size rules, crops, normalisation) in lua/loupe/transforms.lua build on them.
 *
 *   loupe.interpolate(x, {h, w} [, {mode = "bilinear", antialias = false}])
 *
 * as PyTorch's F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
 * antialias=...): x is [..., H, W] float32 ([C,H,W] and [N,C,H,W] alike); differentiable. */
#include "loupe/lbind.h"

#include "loupe/transforms.h"

#include <string.h>

static int l_interpolate(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    luaL_checktype(L, 2, LUA_TTABLE);
    if (lua_rawlen(L, 2) != 2)
        return luaL_error(L, "interpolate: size must be {h, w}");
    lua_Integer size[2];
    for (int i = 0; i < 2; i++) {
        lua_rawgeti(L, 2, i + 1);
        int ok;
        size[i] = lua_tointegerx(L, -1, &ok);
        if (!ok || size[i] < 1)
            return luaL_error(L, "interpolate: size must be {h, w} with positive integers");
        lua_pop(L, 1);
    }
    if (!lua_isnoneornil(L, 3))
        luaL_checktype(L, 3, LUA_TTABLE);
    const char *mode = "bilinear";
    if (lua_istable(L, 3)) {
        lua_getfield(L, 3, "mode");
        if (!lua_isnil(L, -1))
            mode = luaL_checkstring(L, -1);
        lua_pop(L, 1);
    }
    if (strcmp(mode, "bilinear") != 0)
        return luaL_error(L, "interpolate: mode '%s' is not supported (only \"bilinear\")",
                          mode);
    bool antialias = lb_opt_boolean(L, 3, "antialias", 0);
    lb_push_tensor(L, op_resize(x, size[0], size[1], antialias));
    return 1;
}

void lb_open_transforms(lua_State *L)
{
    lua_pushcfunction(L, l_interpolate);
    lua_setfield(L, -2, "interpolate");
}
