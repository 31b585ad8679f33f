/* l_transforms.c — the C transforms (loupe/transforms.h) as loupe functions; the Lua-side
 * transforms (size rules, crops, normalisation, parameter sampling) in
 * lua/loupe/transforms.lua build on them.
 *
 *   loupe.interpolate(x, {h, w} [, {mode = "bilinear", antialias = false}])
 *
 * as PyTorch's F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False,
 * antialias=...): x is [..., H, W] float32 ([C,H,W] and [N,C,H,W] alike); differentiable.
 *
 * The augmentation kernels, with fixed parameters, for transforms.lua only (loupe._tf):
 *   add_noise(x, nsamples, mean, std, p)
 *   crop(x, nsamples, top, left, h, w, fill, pad_top, pad_left)
 *                                                top, left: int64 [nsamples], 0-based, in
 *                                                the image padded by pad_top, pad_left
 *   hflip(x, nsamples [, flip])                  flip: uint8 [nsamples] (nil: all)
 *   affine(x, nsamples, matrices, fill, mode)    matrices: 1 or nsamples tables {m1..m6};
 *                                                fill: one number per plane of a sample;
 *                                                mode "nearest" | "bilinear"
 *   adjust_hue(x, hue_factor)
 *   gaussian_blur(x, kx, ky, sigma_x, sigma_y) */
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

/* The data of the contiguous 1-D tensor of dtype dt and n entries at argument i (borrowed). */
static const void *check_vector(lua_State *L, int i, enum dtype dt, int64_t n)
{
    struct tensor *t = lb_check_tensor(L, i);
    if (t->dtype != dt || t->ndim != 1 || t->shape[0] != n || (n > 1 && t->stride[0] != 1))
        luaL_error(L, "%s: argument %d must be a contiguous %s [%I], got %s %s",
                   lb_function_name(L), i, dtype_name(dt), (lua_Integer)n,
                   dtype_name(t->dtype), tshape(t));
    return tensor_data(t);
}

static int64_t check_samples(lua_State *L, int i)
{
    lua_Integer n = luaL_checkinteger(L, i);
    if (n < 1)
        luaL_error(L, "%s: the number of samples must be positive", lb_function_name(L));
    return n;
}

static int l_add_noise(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int64_t n = check_samples(L, 2);
    lb_push_tensor(L, op_add_noise(x, n, (float)luaL_checknumber(L, 3),
                                   (float)luaL_checknumber(L, 4), luaL_checknumber(L, 5)));
    return 1;
}

static int l_crop(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int64_t n = check_samples(L, 2);
    const int64_t *top = check_vector(L, 3, DT_INT64, n), *left = check_vector(L, 4, DT_INT64, n);
    lua_Integer h = luaL_checkinteger(L, 5), w = luaL_checkinteger(L, 6);
    float fill = (float)luaL_checknumber(L, 7);
    lua_Integer pad_top = luaL_checkinteger(L, 8), pad_left = luaL_checkinteger(L, 9);
    int64_t *off = lua_newuserdatauv(L, sizeof(int64_t) * 2 * (size_t)n, 0);
    /* offsets beyond +-2^40 select only padding anyway; clamping keeps the arithmetic exact */
    const int64_t lim = (int64_t)1 << 40;
    if (pad_top < 0 || pad_top > lim || pad_left < 0 || pad_left > lim)
        return luaL_error(L, "crop: padding out of range");
    for (int64_t s = 0; s < n; s++) {
        off[s] = (top[s] < -lim ? -lim : top[s] > lim ? lim : top[s]) - pad_top;
        off[n + s] = (left[s] < -lim ? -lim : left[s] > lim ? lim : left[s]) - pad_left;
    }
    lb_push_tensor(L, op_crop(x, n, off, off + n, h, w, fill));
    return 1;
}

static int l_hflip(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int64_t n = check_samples(L, 2);
    const uint8_t *flip = lua_isnoneornil(L, 3) ? NULL : check_vector(L, 3, DT_UINT8, n);
    lb_push_tensor(L, op_hflip(x, n, flip));
    return 1;
}

/* v[0..n-1] = the numbers of the table at stack index t */
static void read_numbers(lua_State *L, int t, const char *what, double *v, int64_t n)
{
    if (!lua_istable(L, t) || (int64_t)lua_rawlen(L, t) != n)
        luaL_error(L, "affine: %s must be a table of %I numbers", what, (lua_Integer)n);
    for (int64_t k = 0; k < n; k++) {
        lua_rawgeti(L, t, k + 1);
        int ok;
        v[k] = lua_tonumberx(L, -1, &ok);
        if (!ok)
            luaL_error(L, "affine: %s must hold numbers", what);
        lua_pop(L, 1);
    }
}

static int l_affine(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    int64_t n = check_samples(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    luaL_checktype(L, 4, LUA_TTABLE);
    const char *mode = luaL_checkstring(L, 5);
    enum interp m;
    if (!strcmp(mode, "nearest"))
        m = INTERP_NEAREST;
    else if (!strcmp(mode, "bilinear"))
        m = INTERP_BILINEAR;
    else
        return luaL_error(L, "affine: interpolation must be \"nearest\" or \"bilinear\", got "
                             "\"%s\"", mode);
    int64_t planes = 1;
    for (int d = 0; d + 2 < x->ndim; d++)
        planes *= x->shape[d];
    int64_t nmat = (int64_t)lua_rawlen(L, 3), nfill = (int64_t)lua_rawlen(L, 4);
    if (nmat != 1 && nmat != n)
        return luaL_error(L, "affine: expected 1 or %I matrices, got %I", (lua_Integer)n,
                          (lua_Integer)nmat);
    if (planes % n != 0 || nfill != planes / n)
        return luaL_error(L, "affine: fill must have one value per plane of a sample (%I), got %I",
                          (lua_Integer)(planes / n), (lua_Integer)nfill);
    /* scratch as a userdata: collected even if a check below raises */
    double *mat = lua_newuserdatauv(L, sizeof(double) * (size_t)(6 * nmat + nfill), 0);
    float *fill = lua_newuserdatauv(L, sizeof(float) * (size_t)(nfill > 0 ? nfill : 1), 0);
    for (int64_t k = 0; k < nmat; k++) {
        lua_rawgeti(L, 3, k + 1);
        read_numbers(L, lua_gettop(L), "each matrix", mat + 6 * k, 6);
        lua_pop(L, 1);
    }
    double *fd = mat + 6 * nmat;
    read_numbers(L, 4, "fill", fd, nfill);
    for (int64_t k = 0; k < nfill; k++)
        fill[k] = (float)fd[k];
    lb_push_tensor(L, op_affine(x, n, nmat, mat, fill, m));
    return 1;
}

static int l_adjust_hue(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    lb_push_tensor(L, op_adjust_hue(x, (float)luaL_checknumber(L, 2)));
    return 1;
}

static int l_gaussian_blur(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1);
    lua_Integer kx = luaL_checkinteger(L, 2), ky = luaL_checkinteger(L, 3);
    lb_push_tensor(L, op_gaussian_blur(x, kx, ky, luaL_checknumber(L, 4), luaL_checknumber(L, 5)));
    return 1;
}

void lb_open_transforms(lua_State *L)
{
    lua_pushcfunction(L, l_interpolate);
    lua_setfield(L, -2, "interpolate");
    static const luaL_Reg tf[] = {
        {"add_noise", l_add_noise}, {"crop", l_crop}, {"hflip", l_hflip}, {"affine", l_affine},
        {"adjust_hue", l_adjust_hue}, {"gaussian_blur", l_gaussian_blur}, {NULL, NULL}};
    luaL_newlib(L, tf);
    lua_setfield(L, -2, "_tf");
}
