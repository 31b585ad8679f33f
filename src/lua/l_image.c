/* l_image.c — image files and colour maps from Lua (decoding rules: loupe/image.h; maps and
 * scaling: loupe/colormap.h).
 *
 *   local img = loupe.image.load(path [, {channels = 3}])  -- float32 [C,H,W] in [0,1]
 *   loupe.image.save(img, path [, {cmap =, range =, zmid =, quality = 90}])
 *   local rgb, lo, hi = loupe.image.colormap(name, values [, {range =, zmid =}])
 *
 * channels = 3 (default) gives RGB, gray files repeating their channel; channels = 1 gives
 * gray, colour files converted with the ITU-R 601-2 luma weights. save writes PNG or JPEG by
 * the extension, atomically; it takes [H,W] or [C,H,W] (C = 1, 2, 3, 4); range = {lo, hi} or
 * "auto". colormap returns float32 [3, ...values' shape] and the limits it used: without
 * range or zmid, continuous maps take the values as positions in [0, 1] (matplotlib's
 * cmap(x)); categorical maps take class numbers from 1. */
#include "loupe/lbind.h"

#include "loupe/colormap.h"
#include "loupe/image.h"

#include <string.h>

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

/* range = {lo, hi} | "auto" and zmid = number from the options table at t into *s. */
static void check_scale(lua_State *L, int t, const char *fn, struct cmap_scale *s)
{
    *s = (struct cmap_scale){0};
    if (!lua_istable(L, t))
        return;
    int type = lua_getfield(L, t, "range");
    if (type == LUA_TSTRING && strcmp(lua_tostring(L, -1), "auto") == 0) {
        s->auto_range = true;
    } else if (type == LUA_TTABLE && lua_rawlen(L, -1) == 2) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        int ok1, ok2;
        s->lo = lua_tonumberx(L, -2, &ok1);
        s->hi = lua_tonumberx(L, -1, &ok2);
        if (!ok1 || !ok2)
            luaL_error(L, "%s: range must be {lo, hi} (numbers) or \"auto\"", fn);
        lua_pop(L, 2);
        s->has_range = true;
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: range must be {lo, hi} or \"auto\"", fn);
    }
    lua_pop(L, 1);
    type = lua_getfield(L, t, "zmid");
    if (type == LUA_TNUMBER) {
        s->has_zmid = true;
        s->zmid = lua_tonumber(L, -1);
    } else if (type != LUA_TNIL) {
        luaL_error(L, "%s: zmid must be a number", fn);
    }
    lua_pop(L, 1);
}

static int l_save(lua_State *L)
{
    static const char *const opts[] = {"cmap", "range", "zmid", "quality", NULL};
    struct tensor *t = lb_check_tensor(L, 1);
    const char *path = luaL_checkstring(L, 2);
    lb_check_options(L, 3, "image.save", opts);
    struct img_save_opts o = {0};
    check_scale(L, 3, "image.save", &o.scale);
    if (lua_istable(L, 3)) {
        if (lua_getfield(L, 3, "cmap") != LUA_TNIL) {
            if (!lua_isstring(L, -1))
                return luaL_error(L, "image.save: cmap must be a colormap name");
            o.cmap = lua_tostring(L, -1); /* stays on the stack until we return */
        }
        lua_Integer q = lb_opt_integer(L, 3, "quality", 0);
        if (lua_getfield(L, 3, "quality") != LUA_TNIL && (q < 1 || q > 100))
            return luaL_error(L, "image.save: quality must be in 1..100, got %d", (int)q);
        lua_pop(L, 1);
        o.quality = (int)q;
    }
    if (img_save(t, path, &o) < 0)
        return lb_fail(L);
    return 0;
}

static int l_colormap(lua_State *L)
{
    static const char *const opts[] = {"range", "zmid", NULL};
    const char *name = luaL_checkstring(L, 1);
    struct tensor *v = lb_check_tensor(L, 2);
    lb_check_options(L, 3, "image.colormap", opts);
    struct cmap m;
    if (cmap_find(name, &m, "image.colormap") < 0)
        return lb_fail(L);
    struct cmap_scale s;
    check_scale(L, 3, "image.colormap", &s);
    if (v->ndim >= TENSOR_MAXDIM)
        return luaL_error(L, "image.colormap: values %s have too many dimensions", tshape(v));
    struct tensor *f = tensor_to_dtype(v, DT_FLOAT32);
    if (!f)
        return lb_fail(L);
    int64_t n = tensor_numel(f), shape[TENSOR_MAXDIM] = {3};
    memcpy(shape + 1, v->shape, sizeof(int64_t) * (size_t)v->ndim);
    struct tensor *out = tensor_new(DT_FLOAT32, v->ndim + 1, shape);
    double lo = 0, hi = 1;
    if (out) {
        if (s.has_range || s.auto_range || s.has_zmid)
            cmap_limits(&m, &s, tensor_f32(f), n, &lo, &hi);
        cmap_apply(&m, tensor_f32(f), n, lo, hi, tensor_f32(out));
    }
    tensor_release(f);
    lb_push_tensor(L, out);
    lua_pushnumber(L, lo);
    lua_pushnumber(L, hi);
    return 3;
}

void lb_open_image(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"load", l_load}, {"save", l_save}, {"colormap", l_colormap}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "image");
}
