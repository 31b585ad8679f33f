/* plot.h — drawing primitives for figures, over cairo (src/plot/).
 *
 * A canvas is a page of width x height units, origin top left, y down. One unit is one pixel
 * of a PNG canvas at scale 1 (scale 2 doubles the pixels, not the layout) and one point of an
 * SVG or PDF page. Figures (lua/loupe/plot/) lay themselves out in these units and draw with
 * the functions below; everything that touches many points or pixels (polylines, markers,
 * images, thumbnails) takes arrays, so a 50,000-point scatter is one call.
 *
 * Drawing state is a current colour (RGBA in [0, 1]), a line width and an optional dash
 * pattern, and a stack of clip rectangles. Text uses one sans-serif face (DejaVu Sans through
 * cairo's toy font API and fontconfig), so measurements (plot_text_extent) do not need a
 * canvas and agree across formats: metric hinting is off.
 *
 * Errors: functions returning int give 0, or -1 with err_set naming "plot" and the problem.
 * Coordinates that are not finite are skipped (markers, polylines: they break the line) and
 * far-away ones are clipped before cairo sees them, so no input corrupts the canvas. */
#ifndef LOUPE_PLOT_H
#define LOUPE_PLOT_H

#include <stdbool.h>
#include <stdint.h>

#include "loupe/tensor.h"

enum plot_format { PLOT_PNG, PLOT_SVG, PLOT_PDF };

enum plot_marker {
    PLOT_MARK_CIRCLE,
    PLOT_MARK_SQUARE,
    PLOT_MARK_DIAMOND,
    PLOT_MARK_TRIANGLE,
    PLOT_MARK_CROSS, /* x, stroked */
    PLOT_MARK_PLUS,  /* +, stroked */
};

enum plot_valign { PLOT_TOP, PLOT_MIDDLE, PLOT_BASELINE, PLOT_BOTTOM };

/* Data to canvas coordinates: cx = ox + sx * x, cy = oy + sy * y. */
struct plot_xform {
    double sx, ox, sy, oy;
};

struct plot_canvas;

/* The format named by path's extension (.png, .svg, .pdf, any case); -1 with err_set naming
 * `who` otherwise. */
int plot_format_of(const char *path, const char *who, enum plot_format *f);

/* A white canvas. width and height in units (positive); scale multiplies PNG pixels (1..8).
 * Returns NULL with err_set. */
struct plot_canvas *plot_canvas_new(enum plot_format f, double width, double height,
                                    double scale);
void plot_canvas_free(struct plot_canvas *c); /* NULL-safe */

/* Writes the canvas to path atomically (atomic_file.h). An SVG or PDF canvas is finished by
 * this and cannot be drawn on or saved again; a PNG canvas can. */
int plot_canvas_save(struct plot_canvas *c, const char *path);

/* PNG canvases: the pixels as float32 [3, H, W] in [0, 1]. */
struct tensor *plot_canvas_pixels(struct plot_canvas *c);

/* ---- state ---- */
void plot_set_color(struct plot_canvas *c, double r, double g, double b, double a);
/* width in units; dash: n on/off lengths (n = 0: solid) */
void plot_set_line(struct plot_canvas *c, double width, const double *dash, int n);
/* Intersects the clip region with a rectangle; plot_unclip undoes the latest clip (and also
 * restores the colour and line settings made since). */
void plot_clip(struct plot_canvas *c, double x, double y, double w, double h);
void plot_unclip(struct plot_canvas *c);

/* ---- shapes (current colour) ---- */
void plot_line(struct plot_canvas *c, double x0, double y0, double x1, double y1);
void plot_rect(struct plot_canvas *c, double x, double y, double w, double h, bool fill);
/* n points xy[2i], xy[2i+1]; closed; filled or stroked */
void plot_polygon(struct plot_canvas *c, const double *xy, int64_t n, bool fill);
/* The polyline through (x[i], y[i]) under t; non-finite points break it. */
void plot_polyline(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                   const float *y, int64_t n);
/* A marker of `size` units (diameter) at each point; colours rgb[3i..3i+2] per point, or the
 * current colour when rgb is NULL; alpha for all. edge > 0 outlines filled markers in white
 * with that width (separates overlapping points). Points off the canvas are skipped. */
void plot_markers(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                  const float *y, int64_t n, enum plot_marker m, double size, const float *rgb,
                  double alpha, double edge);

/* ---- text ---- */
/* Draws UTF-8 text (the caller checks it is valid) in the current colour. (x, y) is the
 * anchor: halign 0 = left edge, 0.5 = centre, 1 = right edge; valign picks the vertical
 * reference. angle in degrees, counter-clockwise, about the anchor. */
void plot_text(struct plot_canvas *c, const char *s, double x, double y, double size, bool bold,
               double halign, enum plot_valign valign, double angle);
/* Advance width of s, and the font's ascent and descent, at `size`. */
void plot_text_extent(const char *s, double size, bool bold, double *width, double *ascent,
                      double *descent);

/* ---- images ---- */
/* An image of `ch` (1 or 3) float planes [ch, h, w] in [0, 1] (clamped; NaN as 0) drawn into
 * the rectangle (x, y, dw, dh): nearest-neighbour scaling unless smooth. */
int plot_image(struct plot_canvas *c, const float *planes, int64_t ch, int64_t h, int64_t w,
               double x, double y, double dw, double dh, bool smooth);
/* Thumbnails: image i ([ch, h, w] planes at images + i * ch * h * w) centred at point i under
 * t, scaled to fit a size x size box, with a 1.5-unit border in colour rgb[3i..] (none when rgb
 * is NULL). With skip_overlap, a thumbnail that would overlap one already drawn (in point
 * order) is left out. Returns the number drawn, or -1 with err_set. */
int64_t plot_thumbnails(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                        const float *y, int64_t n, const float *images, int64_t ch, int64_t h,
                        int64_t w, double size, const float *rgb, bool skip_overlap);

#endif
