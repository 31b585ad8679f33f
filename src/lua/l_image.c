/* l_image.c — image files from Lua (decoding rules: loupe/image.h).
 *
 *   local img = loupe.image.load(path [, {channels = 3}])  -- float32 [C,H,W] in [0,1]
 *   loupe.image.save(img, path)                            -- PNG, written atomically
 *
 * channels = 3 (default) gives RGB, gray files repeating their channel; channels = 1 gives
 * gray, colour files converted with the ITU-R 601-2 luma weights. save takes [H,W] or
 * [C,H,W] (C = 1, 2, 3, 4), float32 in [0,1] (clamped) or uint8. */
#include "loupe/lbind.h"

#include "loupe/image.h"

static int l_load(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    if (!lua_isnoneornil(L, 2))
        luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer channels = lb_opt_integer(L, 2, "channels", 3);
    if (channels != 1 && channels != 3)
        return luaL_error(L, "image.load: channels must be 1 or 3, got %d", (int)channels);
    lb_push_tensor(L, img_load(path, (int)channels));
    return 1;
}

static int l_save(lua_State *L)
{
    struct tensor *t = lb_check_tensor(L, 1);
    const char *path = luaL_checkstring(L, 2);
    if (img_save_png(t, path) < 0)
        return lb_fail(L);
    return 0;
}

void lb_open_image(lua_State *L)
{
    static const luaL_Reg fns[] = {{"load", l_load}, {"save", l_save}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "image");
}
