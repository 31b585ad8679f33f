/* canvas.c — canvases (PNG, SVG, PDF), saving, pixels and drawing state (see loupe/plot.h).
 *
 * PNG canvases draw into an RGB24 image surface; SVG and PDF surfaces stream into a memory
 * buffer. Either way, saving produces the whole file in memory first and then writes it with
 * atomic_file.h, so a failed save never leaves a half-written figure. cairo's errors are
 * sticky (a context in error ignores further drawing), so they are reported once, at save. */
#include "canvas.h"

#include "loupe/atomic_file.h"
#include "loupe/core.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PIXELS 32767 /* cairo's image surface limit per side */

int plot_format_of(const char *path, const char *who, enum plot_format *f)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".png") == 0)
            return *f = PLOT_PNG, 0;
        if (strcasecmp(dot, ".svg") == 0)
            return *f = PLOT_SVG, 0;
        if (strcasecmp(dot, ".pdf") == 0)
            return *f = PLOT_PDF, 0;
    }
    return err_set("%s: cannot tell the format of '%s' from its extension (expected .png, .svg "
                   "or .pdf)", who, path);
}

static cairo_status_t buf_write(void *closure, const unsigned char *data, unsigned int n)
{
    struct byte_buf *b = closure;
    if (b->size + n > b->cap) {
        size_t cap = b->cap ? b->cap : 65536;
        while (cap < b->size + n)
            cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return CAIRO_STATUS_WRITE_ERROR;
        }
        b->data = p, b->cap = cap;
    }
    memcpy(b->data + b->size, data, n);
    b->size += n;
    return CAIRO_STATUS_SUCCESS;
}

struct plot_canvas *plot_canvas_new(enum plot_format f, double width, double height,
                                    double scale)
{
    if (!(width >= 1 && height >= 1 && width <= PLOT_FAR && height <= PLOT_FAR)) {
        err_set("plot: canvas size %gx%g is out of range (1..%g)", width, height, PLOT_FAR);
        return NULL;
    }
    if (!(scale >= 1 && scale <= 8)) {
        err_set("plot: scale must be in 1..8, got %g", scale);
        return NULL;
    }
    if (f == PLOT_PNG && (ceil(width * scale) > MAX_PIXELS || ceil(height * scale) > MAX_PIXELS)) {
        err_set("plot: a PNG of %gx%g at scale %g exceeds %d pixels per side", width, height,
                scale, MAX_PIXELS);
        return NULL;
    }
    struct plot_canvas *c = calloc(1, sizeof *c);
    if (!c) {
        err_set("plot: out of memory");
        return NULL;
    }
    c->format = f, c->width = width, c->height = height, c->scale = f == PLOT_PNG ? scale : 1;
    if (f == PLOT_PNG)
        c->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(width * scale),
                                                (int)ceil(height * scale));
    else if (f == PLOT_SVG)
        c->surface = cairo_svg_surface_create_for_stream(buf_write, &c->stream, width, height);
    else
        c->surface = cairo_pdf_surface_create_for_stream(buf_write, &c->stream, width, height);
    c->cr = cairo_create(c->surface);
    if (cairo_status(c->cr) != CAIRO_STATUS_SUCCESS) {
        err_set("plot: cannot create a %gx%g canvas: %s", width, height,
                cairo_status_to_string(cairo_status(c->cr)));
        plot_canvas_free(c);
        return NULL;
    }
    cairo_scale(c->cr, c->scale, c->scale);
    cairo_set_source_rgb(c->cr, 1, 1, 1);
    cairo_paint(c->cr);
    cairo_set_source_rgb(c->cr, 0, 0, 0);
    cairo_set_line_width(c->cr, 1);
    cairo_set_line_join(c->cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_line_cap(c->cr, CAIRO_LINE_CAP_BUTT);
    return c;
}

void plot_canvas_free(struct plot_canvas *c)
{
    if (!c)
        return;
    cairo_destroy(c->cr);
    cairo_surface_destroy(c->surface); /* finishes an SVG/PDF stream into the buffer */
    free(c->stream.data);
    free(c);
}

static int check_status(struct plot_canvas *c)
{
    cairo_status_t st = cairo_status(c->cr);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(c->surface);
    if (st == CAIRO_STATUS_SUCCESS && !c->stream.failed)
        return 0;
    if (c->stream.failed)
        return err_set("plot: out of memory rendering the figure");
    return err_set("plot: drawing failed: %s", cairo_status_to_string(st));
}

static int write_bytes(const struct byte_buf *b, const char *path)
{
    struct atomic_file af;
    if (af_open(&af, path, "plot.save") < 0)
        return -1;
    if (b->size && fwrite(b->data, 1, b->size, af.fp) != b->size) {
        af_abort(&af);
        return err_set("plot.save: writing '%s' failed", path);
    }
    return af_commit(&af, path, "plot.save");
}

int plot_canvas_save(struct plot_canvas *c, const char *path)
{
    if (c->finished)
        return err_set("plot.save: this %s canvas was already saved",
                       c->format == PLOT_SVG ? "SVG" : "PDF");
    if (check_status(c) < 0)
        return -1;
    if (c->format == PLOT_PNG) {
        struct byte_buf png = {0};
        cairo_surface_flush(c->surface);
        cairo_status_t st = cairo_surface_write_to_png_stream(c->surface, buf_write, &png);
        int rc = st == CAIRO_STATUS_SUCCESS && !png.failed
                     ? write_bytes(&png, path)
                     : err_set("plot.save: encoding '%s' failed: %s", path,
                               png.failed ? "out of memory" : cairo_status_to_string(st));
        free(png.data);
        return rc;
    }
    cairo_surface_finish(c->surface);
    c->finished = true;
    if (check_status(c) < 0)
        return -1;
    return write_bytes(&c->stream, path);
}

struct tensor *plot_canvas_pixels(struct plot_canvas *c)
{
    if (c->format != PLOT_PNG) {
        err_set("plot: only PNG canvases have pixels");
        return NULL;
    }
    if (check_status(c) < 0)
        return NULL;
    cairo_surface_flush(c->surface);
    int w = cairo_image_surface_get_width(c->surface);
    int h = cairo_image_surface_get_height(c->surface);
    int stride = cairo_image_surface_get_stride(c->surface);
    const unsigned char *data = cairo_image_surface_get_data(c->surface);
    int64_t shape[3] = {3, h, w}, hw = (int64_t)h * w;
    struct tensor *out = tensor_new(DT_FLOAT32, 3, shape);
    if (!out)
        return NULL;
    float *o = tensor_f32(out);
    for (int y = 0; y < h; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t p = row[x]; /* RGB24: 0x00RRGGBB in native byte order */
            int64_t i = (int64_t)y * w + x;
            o[i] = ((p >> 16) & 0xff) / 255.0f;
            o[hw + i] = ((p >> 8) & 0xff) / 255.0f;
            o[2 * hw + i] = (p & 0xff) / 255.0f;
        }
    }
    return out;
}

void plot_set_color(struct plot_canvas *c, double r, double g, double b, double a)
{
    cairo_set_source_rgba(c->cr, r, g, b, a);
}

void plot_set_line(struct plot_canvas *c, double width, const double *dash, int n)
{
    cairo_set_line_width(c->cr, width);
    cairo_set_dash(c->cr, dash, n, 0);
}

void plot_clip(struct plot_canvas *c, double x, double y, double w, double h)
{
    cairo_save(c->cr);
    cairo_rectangle(c->cr, x, y, w, h);
    cairo_clip(c->cr);
    c->clips++;
}

void plot_unclip(struct plot_canvas *c)
{
    if (c->clips > 0) {
        cairo_restore(c->cr);
        c->clips--;
    }
}
