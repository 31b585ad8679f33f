/* l_stimuli.c — the stimulus kernels (loupe/stimuli.h) as loupe._stimuli.*, the low-level
 * layer under lua/loupe/data/stimuli.lua (which validates options, handles seeds and builds
 * the dataset objects).
 *
 *   x, y, geometry, colours = loupe._stimuli.shapes(n, size, {"circle", "ellipse", ...})
 *       x uint8 [n,3,size,size]; y int64 [n], the position of each image's kind in the list;
 *       geometry float32 [n,5]: centre column, centre row (1-based), half-extents a, b,
 *       angle in degrees; colours uint8 [n,3] (RGB). Draws from the global generator.
 *   pairs = loupe._stimuli.contrast(img, contrasts)
 *       uint8 [n,...] and float32 [n,k] -> float32 [n,k,...], (1 - a) / 2 + a * img / 255.
 *   g = loupe._stimuli.grating(size, sf, theta, phase, contrast [, channels = 3])
 *       float32 [channels,size,size]. */
#include "loupe/lbind.h"

#include "loupe/stimuli.h"

static int l_shapes(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1), size = luaL_checkinteger(L, 2);
    luaL_checktype(L, 3, LUA_TTABLE);
    if (n < 0)
        return luaL_error(L, "shapes: n must be non-negative, got %I", n);
    if (size < STIM_MIN_SIZE || size > STIM_MAX_SIZE)
        return luaL_error(L, "shapes: size must be in [%d, %d], got %I", STIM_MIN_SIZE,
                          STIM_MAX_SIZE, size);
    enum stim_kind kinds[STIM_NKINDS];
    int nkinds = (int)lua_rawlen(L, 3);
    if (nkinds < 1 || nkinds > STIM_NKINDS)
        return luaL_error(L, "shapes: expected 1 to %d shape kinds, got %d", STIM_NKINDS,
                          nkinds);
    for (int k = 0; k < nkinds; k++) {
        lua_rawgeti(L, 3, k + 1);
        const char *name = lua_tostring(L, -1);
        int kind = name ? stim_kind_parse(name) : -1;
        if (kind < 0)
            return luaL_error(L, "shapes: unknown shape kind '%s' (expected circle, ellipse or "
                              "rectangle)", name ? name : luaL_typename(L, -1));
        for (int j = 0; j < k; j++)
            if (kinds[j] == (enum stim_kind)kind)
                return luaL_error(L, "shapes: shape kind '%s' listed twice", name);
        kinds[k] = (enum stim_kind)kind;
        lua_pop(L, 1);
    }

    /* outputs first (they check the allocation limit), then scratch owned by Lua's GC */
    int64_t xs[4] = {n, 3, size, size}, ys[1] = {n}, gs[2] = {n, 5}, cs[2] = {n, 3};
    lb_push_tensor(L, tensor_new(DT_UINT8, 4, xs));
    struct tensor *x = lb_check_tensor(L, -1);
    lb_push_tensor(L, tensor_new(DT_INT64, 1, ys));
    struct tensor *y = lb_check_tensor(L, -1);
    lb_push_tensor(L, tensor_new(DT_FLOAT32, 2, gs));
    struct tensor *geom = lb_check_tensor(L, -1);
    lb_push_tensor(L, tensor_new(DT_UINT8, 2, cs));
    struct tensor *colours = lb_check_tensor(L, -1);
    struct stim_shape *shapes = lua_newuserdatauv(L, (size_t)n * sizeof *shapes + 1, 0);
    int *which = lua_newuserdatauv(L, (size_t)n * sizeof *which + 1, 0);

    if (stim_draw_shapes(shapes, which, n, size, kinds, nkinds) < 0 ||
        stim_render_shapes(x, shapes) < 0)
        return lb_fail(L);
    int64_t *yv = tensor_i64(y);
    float *g = tensor_f32(geom);
    uint8_t *rgb = tensor_u8(colours);
    for (int64_t i = 0; i < n; i++) {
        const struct stim_shape *p = &shapes[i];
        yv[i] = which[i] + 1;
        float row[5] = {(float)(p->cx + 1), (float)(p->cy + 1), (float)p->a, (float)p->b,
                        (float)p->angle};
        for (int j = 0; j < 5; j++)
            g[i * 5 + j] = row[j];
        for (int c = 0; c < 3; c++)
            rgb[i * 3 + c] = p->colour[c];
    }
    lua_pop(L, 2);
    return 4;
}

static int l_contrast(lua_State *L)
{
    struct tensor *img = lb_check_tensor(L, 1), *contrasts = lb_check_tensor(L, 2);
    lb_push_tensor(L, stim_contrast_stack(img, contrasts));
    return 1;
}

static int l_grating(lua_State *L)
{
    lua_Integer size = luaL_checkinteger(L, 1);
    double sf = luaL_checknumber(L, 2), theta = luaL_checknumber(L, 3);
    double phase = luaL_checknumber(L, 4), contrast = luaL_checknumber(L, 5);
    lua_Integer channels = luaL_optinteger(L, 6, 3);
    if (size < STIM_MIN_SIZE || size > STIM_MAX_SIZE)
        return luaL_error(L, "grating: size must be in [%d, %d], got %I", STIM_MIN_SIZE,
                          STIM_MAX_SIZE, size);
    if (channels < 1 || channels > 4)
        return luaL_error(L, "grating: channels must be in [1, 4], got %I", channels);
    int64_t shape[3] = {channels, size, size};
    lb_push_tensor(L, tensor_new(DT_FLOAT32, 3, shape));
    if (stim_grating(lb_check_tensor(L, -1), sf, theta, phase, contrast) < 0)
        return lb_fail(L);
    return 1;
}

void lb_open_stimuli(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"shapes", l_shapes}, {"contrast", l_contrast}, {"grating", l_grating}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lb_register_names(L, -1);
    lua_setfield(L, -2, "_stimuli");
}
