/* raster.c — images and thumbnails on a canvas (see loupe/plot.h).
 *
 * Float planes become a cairo RGB24 surface that is painted through a scaled pattern:
 * nearest-neighbour for heatmaps (every data pixel stays a sharp square, as matplotlib's
 * interpolation="nearest"), cairo's GOOD filter for thumbnails (proper downscaling). */
#include "canvas.h"

#include "loupe/core.h"

#include <math.h>
#include <stdlib.h>

static uint32_t byte_of(float v)
{
    float f = v * 255.0f + 0.5f;
    return !(f > 0) ? 0 : f >= 255 ? 255 : (uint32_t)f; /* NaN -> 0 */
}

/* A (k w) x (k h) RGB24 surface from [ch, h, w] planes (ch = 1: gray), each pixel repeated
 * k x k times. */
static cairo_surface_t *planes_surface(const float *planes, int64_t ch, int64_t h, int64_t w,
                                       int64_t k)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)(k * w),
                                                    (int)(k * h));
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS)
        return s;
    unsigned char *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    int64_t hw = h * w, g = ch == 3 ? hw : 0;
    for (int64_t y = 0; y < k * h; y++) {
        uint32_t *row = (uint32_t *)(data + y * stride);
        for (int64_t x = 0; x < k * w; x++) {
            int64_t i = (y / k) * w + x / k;
            row[x] = byte_of(planes[i]) << 16 | byte_of(planes[g + i]) << 8 |
                     byte_of(planes[2 * g + i]);
        }
    }
    cairo_surface_mark_dirty(s);
    return s;
}

/* Paints surface s (w x h pixels) into the rectangle (x, y, dw, dh). */
static void paint_surface(cairo_t *cr, cairo_surface_t *s, int64_t h, int64_t w, double x,
                          double y, double dw, double dh, cairo_filter_t filter)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, dw / (double)w, dh / (double)h);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), filter);
    /* PAD keeps a smoothed image's edges from fading into the background */
    if (filter != CAIRO_FILTER_NEAREST)
        cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_new_path(cr);
    cairo_rectangle(cr, 0, 0, (double)w, (double)h);
    cairo_fill(cr);
    cairo_restore(cr);
}

static int check_size(int64_t h, int64_t w)
{
    if (h < 1 || w < 1 || h > 32767 || w > 32767)
        return err_set("plot: cannot draw an image of %lldx%lld pixels (1..32767 per side)",
                       (long long)h, (long long)w);
    return 0;
}

int plot_image(struct plot_canvas *c, const float *planes, int64_t ch, int64_t h, int64_t w,
               double x, double y, double dw, double dh, bool smooth)
{
    if (check_size(h, w) < 0)
        return -1;
    if (!(fabs(x) < PLOT_FAR && fabs(y) < PLOT_FAR && dw > 0 && dh > 0 && dw < PLOT_FAR &&
          dh < PLOT_FAR))
        return 0; /* nothing visible to draw */
    /* SVG and PDF viewers smooth embedded images whatever cairo's filter says, so there the
     * pixels are repeated up to about twice the drawn size (at most ~4M pixels): smoothing
     * then only softens the edges of each block */
    int64_t k = 1;
    if (c->format != PLOT_PNG && !smooth) {
        double want = 2 * fmax(dw / (double)w, dh / (double)h);
        double cap = sqrt(4e6 / (double)(h * w));
        k = (int64_t)fmax(1, fmin(ceil(want), floor(cap)));
    }
    cairo_surface_t *s = planes_surface(planes, ch, h, w, k);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return err_set("plot: out of memory drawing a %lldx%lld image", (long long)h,
                       (long long)w);
    }
    paint_surface(c->cr, s, k * h, k * w, x, y, dw, dh,
                  smooth ? CAIRO_FILTER_GOOD : CAIRO_FILTER_NEAREST);
    cairo_surface_destroy(s);
    return 0;
}

/* Placed thumbnail centres bucketed in a grid of cells at least `size` wide, so a new one
 * only has to be compared with those in its own and the 8 neighbouring cells. */
struct placed {
    double cell;
    int64_t gw, gh;
    int64_t *head; /* per cell: last placed index, -1 if none */
    int64_t *next; /* per placed: the previous one in its cell */
    double *cx, *cy;
    int64_t n;
};

static bool overlaps(const struct placed *p, double x, double y, double size)
{
    int64_t gx = (int64_t)(x / p->cell), gy = (int64_t)(y / p->cell);
    for (int64_t j = gy - 1; j <= gy + 1; j++) {
        for (int64_t i = gx - 1; i <= gx + 1; i++) {
            if (i < 0 || j < 0 || i >= p->gw || j >= p->gh)
                continue;
            for (int64_t k = p->head[j * p->gw + i]; k >= 0; k = p->next[k])
                if (fabs(p->cx[k] - x) < size && fabs(p->cy[k] - y) < size)
                    return true;
        }
    }
    return false;
}

static void place(struct placed *p, double x, double y)
{
    int64_t cell = (int64_t)(y / p->cell) * p->gw + (int64_t)(x / p->cell);
    p->cx[p->n] = x, p->cy[p->n] = y;
    p->next[p->n] = p->head[cell];
    p->head[cell] = p->n++;
}

int64_t plot_thumbnails(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                        const float *y, int64_t n, const float *images, int64_t ch, int64_t h,
                        int64_t w, double size, const float *rgb, bool skip_overlap)
{
    if (check_size(h, w) < 0)
        return -1;
    if (!(size >= 1 && size <= 4096))
        return err_set("plot: thumbnail size must be in 1..4096 units, got %g", size);
    /* at most 2^20 cells: wider cells when the thumbnails are tiny next to the canvas */
    double cell = fmax(size, sqrt(c->width * c->height / (double)(1 << 20)));
    struct placed p = {.cell = cell, .gw = (int64_t)(c->width / cell) + 1,
                       .gh = (int64_t)(c->height / cell) + 1};
    p.head = malloc(sizeof(int64_t) * (size_t)(p.gw * p.gh));
    p.next = malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    p.cx = malloc(sizeof(double) * (size_t)(n ? n : 1));
    p.cy = malloc(sizeof(double) * (size_t)(n ? n : 1));
    int64_t drawn = -1;
    if (!p.head || !p.next || !p.cx || !p.cy) {
        err_set("plot: out of memory placing %lld thumbnails", (long long)n);
        goto done;
    }
    for (int64_t k = 0; k < p.gw * p.gh; k++)
        p.head[k] = -1;
    double s = size / (double)(h > w ? h : w), dw = w * s, dh = h * s;
    cairo_t *cr = c->cr;
    cairo_save(cr);
    cairo_set_line_width(cr, 1.5);
    for (int64_t i = 0; i < n; i++) {
        double cx = t->ox + t->sx * x[i], cy = t->oy + t->sy * y[i];
        if (!(cx >= 0 && cx < c->width && cy >= 0 && cy < c->height))
            continue; /* off the canvas, or NaN */
        if (skip_overlap && overlaps(&p, cx, cy, size))
            continue;
        place(&p, cx, cy);
        cairo_surface_t *sf = planes_surface(images + i * ch * h * w, ch, h, w, 1);
        if (cairo_surface_status(sf) == CAIRO_STATUS_SUCCESS)
            paint_surface(cr, sf, h, w, cx - dw / 2, cy - dh / 2, dw, dh, CAIRO_FILTER_GOOD);
        cairo_surface_destroy(sf);
        if (rgb) {
            cairo_set_source_rgb(cr, rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]);
            cairo_new_path(cr);
            cairo_rectangle(cr, cx - dw / 2 - 0.75, cy - dh / 2 - 0.75, dw + 1.5, dh + 1.5);
            cairo_stroke(cr);
        }
    }
    cairo_restore(cr);
    drawn = p.n;
done:
    free(p.head), free(p.next), free(p.cx), free(p.cy);
    return drawn;
}
