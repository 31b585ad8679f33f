/* canvas.h — the canvas struct shared by the files of src/plot/ (see loupe/plot.h). */
#ifndef LOUPE_PLOT_CANVAS_H
#define LOUPE_PLOT_CANVAS_H

#include "loupe/plot.h"

#include <cairo.h>

/* Growable byte buffer: where SVG and PDF streams and encoded PNGs go before the atomic
 * write. failed records an out-of-memory append (the stream then reports a write error). */
struct byte_buf {
    unsigned char *data;
    size_t size, cap;
    bool failed;
};

struct plot_canvas {
    enum plot_format format;
    double width, height, scale;
    cairo_surface_t *surface;
    cairo_t *cr;
    struct byte_buf stream; /* SVG / PDF output */
    bool finished;          /* SVG / PDF: written, no more drawing */
    int clips;              /* plot_clip depth (cairo_save levels) */
};

/* The canvas' font settings (face, size, hinting) on cr. */
void plot_font_setup(cairo_t *cr, double size, bool bold);

/* Coordinates beyond this many units from the origin are clipped or skipped: cairo's 24.8
 * fixed point cannot hold them. */
#define PLOT_FAR 1e5

#endif
