/* l_plot.c — the drawing primitives of loupe/plot.h as loupe._plot, for the figure library in
 * lua/loupe/plot/ (which is what scripts use, as loupe.plot).
 *
 *   local P = loupe._plot
 *   P.format_of(path)                     -> "png" | "svg" | "pdf" (error otherwise)
 *   P.text_size(s, size [, bold])         -> width, ascent, descent
 *   local c = P.canvas(format, w, h [, scale = 1])
 *   c:color(r, g, b [, a = 1])            components in [0, 1]
 *   c:line_style(width [, {on, off, ...}])
 *   c:line(x0, y0, x1, y1)    c:rect(x, y, w, h [, fill = false])
 *   c:polygon({x1, y1, x2, y2, ...} [, fill = true])
 *   c:polyline(x, y, xf)                  x, y: 1-D tensors (any dtype); xf = {sx, ox, sy, oy}
 *   c:markers(x, y, xf, shape, size [, colors [, alpha = 1 [, edge = 0]]])
 *                                         shape "o" "s" "D" "^" "x" "+"; colors float [N,3]
 *   c:text(s, x, y, size [, bold, halign = 0, valign = "baseline", angle = 0])
 *                                         halign 0..1 (0 left, 0.5 centre, 1 right);
 *                                         valign "top" | "middle" | "baseline" | "bottom"
 *   c:image(t, x, y, w, h [, smooth = false])      t: [H,W], [1,H,W] or [3,H,W] in [0,1]
 *   c:thumbnails(images, x, y, xf, size [, colors [, skip_overlap = true]]) -> number drawn
 *                                         images [N,C,H,W] (C = 1 or 3) or [N,H,W]
 *   c:clip(x, y, w, h)   c:unclip()
 *   c:save(path)   c:pixels() -> float [3,H,W] (PNG canvases)   c:close()
 *
 * Coordinates are canvas units (plot.h). Tensors of any dtype are converted to float32. */
#include "loupe/lbind.h"

#include "loupe/core.h"
#include "loupe/plot.h"

#include <math.h>
#include <string.h>

#define CANVAS_MT "loupe.Canvas"

static struct plot_canvas **check_box(lua_State *L)
{
    return luaL_checkudata(L, 1, CANVAS_MT);
}

static struct plot_canvas *check_canvas(lua_State *L)
{
    struct plot_canvas **box = check_box(L);
    if (!*box)
        luaL_error(L, "plot: the canvas was closed");
    return *box;
}

/* A finite number at i, clamped to what a canvas can address. */
static double check_coord(lua_State *L, int i)
{
    double v = luaL_checknumber(L, i);
    if (!isfinite(v))
        luaL_error(L, "plot: argument %d must be a finite number, got %f", i, v);
    return v < -1e5 ? -1e5 : v > 1e5 ? 1e5 : v;
}

/* The tensor at i as contiguous float32 (pushed on the stack, so Lua owns it). */
static struct tensor *check_floats(lua_State *L, int i)
{
    struct tensor *t = lb_check_tensor(L, i);
    if (t->dtype == DT_FLOAT32 && tensor_is_contiguous(t)) {
        lua_pushvalue(L, i);
        return t;
    }
    struct tensor *f = tensor_to_dtype(t, DT_FLOAT32);
    lb_push_tensor(L, f);
    return f;
}

/* x and y: 1-D (or any shape) tensors of one size n. */
static int64_t check_points(lua_State *L, int ix, int iy, const float **x, const float **y)
{
    struct tensor *tx = check_floats(L, ix), *ty = check_floats(L, iy);
    int64_t n = tensor_numel(tx);
    if (tensor_numel(ty) != n)
        luaL_error(L, "plot: x has %I values but y has %I", (lua_Integer)n,
                   (lua_Integer)tensor_numel(ty));
    *x = tensor_f32(tx), *y = tensor_f32(ty);
    return n;
}

static struct plot_xform check_xform(lua_State *L, int i)
{
    luaL_checktype(L, i, LUA_TTABLE);
    double v[4];
    for (int k = 0; k < 4; k++) {
        lua_rawgeti(L, i, k + 1);
        int ok;
        v[k] = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(v[k]))
            luaL_error(L, "plot: a transform is {sx, ox, sy, oy} (finite numbers)");
        lua_pop(L, 1);
    }
    return (struct plot_xform){v[0], v[1], v[2], v[3]};
}

/* colors at i: nil, or float [n, 3] (any dtype). */
static const float *opt_colors(lua_State *L, int i, int64_t n)
{
    if (lua_isnoneornil(L, i))
        return NULL;
    struct tensor *t = check_floats(L, i);
    if (t->ndim != 2 || t->shape[0] != n || t->shape[1] != 3)
        luaL_error(L, "plot: colors must be [%I,3], got %s", (lua_Integer)n, tshape(t));
    return tensor_f32(t);
}

static bool valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!len || i + len > n || (len == 2 && c < 0xc2))
            return false;
        for (size_t k = 1; k < len; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += len;
    }
    return true;
}

static const char *check_text(lua_State *L, int i)
{
    size_t n;
    const char *s = luaL_checklstring(L, i, &n);
    if (strlen(s) != n || !valid_utf8((const unsigned char *)s, n))
        luaL_error(L, "plot: text must be valid UTF-8 without NUL bytes");
    return s;
}

/* ---- module functions ---- */

static int l_format_of(lua_State *L)
{
    enum plot_format f;
    if (plot_format_of(luaL_checkstring(L, 1), "plot.save", &f) < 0)
        return lb_fail(L);
    lua_pushstring(L, f == PLOT_PNG ? "png" : f == PLOT_SVG ? "svg" : "pdf");
    return 1;
}

static int l_text_size(lua_State *L)
{
    const char *s = check_text(L, 1);
    double size = luaL_checknumber(L, 2), w, asc, desc;
    if (!(size > 0 && size < 1000))
        return luaL_error(L, "plot: font size must be in (0, 1000), got %f", size);
    plot_text_extent(s, size, lua_toboolean(L, 3), &w, &asc, &desc);
    lua_pushnumber(L, w);
    lua_pushnumber(L, asc);
    lua_pushnumber(L, desc);
    return 3;
}

static int l_canvas(lua_State *L)
{
    static const char *const formats[] = {"png", "svg", "pdf", NULL};
    static const enum plot_format fmt[] = {PLOT_PNG, PLOT_SVG, PLOT_PDF};
    int f = luaL_checkoption(L, 1, NULL, formats);
    double w = luaL_checknumber(L, 2), h = luaL_checknumber(L, 3);
    double scale = luaL_optnumber(L, 4, 1);
    struct plot_canvas **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL; /* closed until the canvas exists, so __gc is safe either way */
    luaL_setmetatable(L, CANVAS_MT);
    *box = plot_canvas_new(fmt[f], w, h, scale);
    if (!*box)
        return lb_fail(L);
    return 1;
}

/* ---- canvas methods ---- */

static int c_close(lua_State *L)
{
    struct plot_canvas **box = check_box(L);
    plot_canvas_free(*box);
    *box = NULL;
    return 0;
}

static int c_color(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    plot_set_color(c, luaL_checknumber(L, 2), luaL_checknumber(L, 3), luaL_checknumber(L, 4),
                   luaL_optnumber(L, 5, 1));
    return 0;
}

static int c_line_style(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    double w = luaL_checknumber(L, 2), dash[16];
    if (!(w > 0 && w < 1000))
        return luaL_error(L, "plot: line width must be in (0, 1000), got %f", w);
    int n = 0;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TTABLE);
        n = (int)lua_rawlen(L, 3);
        if (n > 16)
            return luaL_error(L, "plot: a dash pattern has at most 16 lengths");
        double sum = 0;
        for (int i = 0; i < n; i++) {
            int isnum;
            lua_rawgeti(L, 3, i + 1);
            dash[i] = lua_tonumberx(L, -1, &isnum);
            lua_pop(L, 1);
            if (!isnum || !(dash[i] >= 0 && dash[i] < 1000))
                return luaL_error(L, "plot: dash lengths must be numbers in [0, 1000)");
            sum += dash[i];
        }
        /* all zeros would put cairo into an error state (which also leaks inside cairo) */
        if (n > 0 && sum == 0)
            return luaL_error(L, "plot: a dash pattern needs a positive length");
    }
    plot_set_line(c, w, dash, n);
    return 0;
}

static int c_line(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    plot_line(c, check_coord(L, 2), check_coord(L, 3), check_coord(L, 4), check_coord(L, 5));
    return 0;
}

static int c_rect(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    plot_rect(c, check_coord(L, 2), check_coord(L, 3), check_coord(L, 4), check_coord(L, 5),
              lua_toboolean(L, 6));
    return 0;
}

static int c_polygon(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_Integer n = (lua_Integer)lua_rawlen(L, 2);
    if (n % 2 || n < 6)
        return luaL_error(L, "plot: a polygon needs at least 3 points {x1, y1, x2, y2, ...}");
    double *xy = lua_newuserdatauv(L, sizeof(double) * (size_t)n, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lua_rawgeti(L, 2, i + 1);
        int ok;
        xy[i] = lua_tonumberx(L, -1, &ok);
        if (!ok || !isfinite(xy[i]))
            return luaL_error(L, "plot: polygon coordinates must be finite numbers");
        xy[i] = xy[i] < -1e5 ? -1e5 : xy[i] > 1e5 ? 1e5 : xy[i];
        lua_pop(L, 1);
    }
    plot_polygon(c, xy, n / 2, lua_isnoneornil(L, 3) || lua_toboolean(L, 3));
    return 0;
}

static int c_polyline(lua_State *L)
{
    lua_settop(L, 4); /* converted tensors are pushed above the arguments */
    struct plot_canvas *c = check_canvas(L);
    const float *x, *y;
    int64_t n = check_points(L, 2, 3, &x, &y);
    struct plot_xform t = check_xform(L, 4);
    plot_polyline(c, &t, x, y, n);
    return 0;
}

static int c_markers(lua_State *L)
{
    lua_settop(L, 9); /* converted tensors are pushed above the arguments */
    static const char *const shapes[] = {"o", "s", "D", "^", "x", "+", NULL};
    struct plot_canvas *c = check_canvas(L);
    const float *x, *y;
    int64_t n = check_points(L, 2, 3, &x, &y);
    struct plot_xform t = check_xform(L, 4);
    int shape = luaL_checkoption(L, 5, NULL, shapes);
    double size = luaL_checknumber(L, 6);
    if (!(size > 0 && size < 1000))
        return luaL_error(L, "plot: marker size must be in (0, 1000), got %f", size);
    const float *rgb = opt_colors(L, 7, n);
    double alpha = luaL_optnumber(L, 8, 1), edge = luaL_optnumber(L, 9, 0);
    if (!(edge >= 0 && edge < 100))
        return luaL_error(L, "plot: marker edge must be in [0, 100), got %f", edge);
    plot_markers(c, &t, x, y, n, (enum plot_marker)shape, size, rgb, alpha, edge);
    return 0;
}

static int c_text(lua_State *L)
{
    static const char *const valigns[] = {"top", "middle", "baseline", "bottom", NULL};
    static const enum plot_valign va[] = {PLOT_TOP, PLOT_MIDDLE, PLOT_BASELINE, PLOT_BOTTOM};
    struct plot_canvas *c = check_canvas(L);
    const char *s = check_text(L, 2);
    double x = check_coord(L, 3), y = check_coord(L, 4), size = luaL_checknumber(L, 5);
    if (!(size > 0 && size < 1000))
        return luaL_error(L, "plot: font size must be in (0, 1000), got %f", size);
    bool bold = lua_toboolean(L, 6);
    double halign = luaL_optnumber(L, 7, 0);
    int v = luaL_checkoption(L, 8, "baseline", valigns);
    double angle = luaL_optnumber(L, 9, 0);
    if (!isfinite(halign) || !isfinite(angle))
        return luaL_error(L, "plot: text alignment and angle must be finite");
    plot_text(c, s, x, y, size, bold, halign, va[v], angle);
    return 0;
}

/* [H,W], [1,H,W] or [3,H,W] at i: the planes, their count and size. */
static const float *check_planes(lua_State *L, int i, int64_t *ch, int64_t *h, int64_t *w)
{
    struct tensor *t = check_floats(L, i);
    bool two = t->ndim == 2;
    if (!two && !(t->ndim == 3 && (t->shape[0] == 1 || t->shape[0] == 3)))
        luaL_error(L, "plot: an image is [H,W], [1,H,W] or [3,H,W], got %s", tshape(t));
    *ch = two ? 1 : t->shape[0];
    *h = t->shape[two ? 0 : 1], *w = t->shape[two ? 1 : 2];
    return tensor_f32(t);
}

static int c_image(lua_State *L)
{
    lua_settop(L, 7); /* converted tensors are pushed above the arguments */
    struct plot_canvas *c = check_canvas(L);
    int64_t ch, h, w;
    const float *planes = check_planes(L, 2, &ch, &h, &w);
    if (plot_image(c, planes, ch, h, w, check_coord(L, 3), check_coord(L, 4), check_coord(L, 5),
                   check_coord(L, 6), lua_toboolean(L, 7)) < 0)
        return lb_fail(L);
    return 0;
}

static int c_thumbnails(lua_State *L)
{
    lua_settop(L, 8); /* converted tensors are pushed above the arguments */
    struct plot_canvas *c = check_canvas(L);
    struct tensor *im = check_floats(L, 2);
    bool three = im->ndim == 3;
    if (!three && !(im->ndim == 4 && (im->shape[1] == 1 || im->shape[1] == 3)))
        return luaL_error(L, "plot: thumbnails are [N,C,H,W] with C = 1 or 3, or [N,H,W], got %s",
                          tshape(im));
    const float *x, *y;
    int64_t n = check_points(L, 3, 4, &x, &y);
    if (im->shape[0] != n)
        return luaL_error(L, "plot: %I thumbnails for %I points", (lua_Integer)im->shape[0],
                          (lua_Integer)n);
    struct plot_xform t = check_xform(L, 5);
    double size = luaL_checknumber(L, 6);
    const float *rgb = opt_colors(L, 7, n);
    bool skip = lua_isnoneornil(L, 8) || lua_toboolean(L, 8);
    int64_t ch = three ? 1 : im->shape[1];
    int64_t drawn = plot_thumbnails(c, &t, x, y, n, tensor_f32(im), ch, im->shape[three ? 1 : 2],
                                    im->shape[three ? 2 : 3], size, rgb, skip);
    if (drawn < 0)
        return lb_fail(L);
    lua_pushinteger(L, (lua_Integer)drawn);
    return 1;
}

static int c_clip(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    plot_clip(c, check_coord(L, 2), check_coord(L, 3), check_coord(L, 4), check_coord(L, 5));
    return 0;
}

static int c_unclip(lua_State *L)
{
    plot_unclip(check_canvas(L));
    return 0;
}

static int c_save(lua_State *L)
{
    struct plot_canvas *c = check_canvas(L);
    if (plot_canvas_save(c, luaL_checkstring(L, 2)) < 0)
        return lb_fail(L);
    return 0;
}

static int c_pixels(lua_State *L)
{
    lb_push_tensor(L, plot_canvas_pixels(check_canvas(L)));
    return 1;
}

void lb_open_plot(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"color", c_color}, {"line_style", c_line_style}, {"line", c_line}, {"rect", c_rect},
        {"polygon", c_polygon}, {"polyline", c_polyline}, {"markers", c_markers},
        {"text", c_text}, {"image", c_image}, {"thumbnails", c_thumbnails}, {"clip", c_clip},
        {"unclip", c_unclip}, {"save", c_save}, {"pixels", c_pixels}, {"close", c_close},
        {NULL, NULL}};
    static const luaL_Reg meta[] = {{"__gc", c_close}, {"__close", c_close}, {NULL, NULL}};
    static const luaL_Reg fns[] = {
        {"format_of", l_format_of}, {"text_size", l_text_size}, {"canvas", l_canvas},
        {NULL, NULL}};
    luaL_newmetatable(L, CANVAS_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "_plot");
}
