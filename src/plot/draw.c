/* draw.c — lines, rectangles, polygons, polylines and markers (see loupe/plot.h). */
#include "canvas.h"

#include <math.h>

void plot_line(struct plot_canvas *c, double x0, double y0, double x1, double y1)
{
    cairo_new_path(c->cr);
    cairo_move_to(c->cr, x0, y0);
    cairo_line_to(c->cr, x1, y1);
    cairo_stroke(c->cr);
}

void plot_rect(struct plot_canvas *c, double x, double y, double w, double h, bool fill)
{
    cairo_new_path(c->cr);
    cairo_rectangle(c->cr, x, y, w, h);
    if (fill)
        cairo_fill(c->cr);
    else
        cairo_stroke(c->cr);
}

void plot_polygon(struct plot_canvas *c, const double *xy, int64_t n, bool fill)
{
    cairo_new_path(c->cr);
    for (int64_t i = 0; i < n; i++)
        cairo_line_to(c->cr, xy[2 * i], xy[2 * i + 1]);
    cairo_close_path(c->cr);
    if (fill)
        cairo_fill(c->cr);
    else
        cairo_stroke(c->cr);
}

/* Liang-Barsky: clips the segment (x0,y0)-(x1,y1) to the square |x|, |y| <= PLOT_FAR in place.
 * Returns false if nothing of it is left. */
static bool clip_segment(double *x0, double *y0, double *x1, double *y1)
{
    double dx = *x1 - *x0, dy = *y1 - *y0, t0 = 0, t1 = 1;
    const double p[4] = {-dx, dx, -dy, dy};
    const double q[4] = {*x0 + PLOT_FAR, PLOT_FAR - *x0, *y0 + PLOT_FAR, PLOT_FAR - *y0};
    for (int i = 0; i < 4; i++) {
        if (p[i] == 0) {
            if (q[i] < 0)
                return false;
            continue;
        }
        double r = q[i] / p[i];
        if (p[i] < 0)
            t0 = r > t0 ? r : t0;
        else
            t1 = r < t1 ? r : t1;
        if (t0 > t1)
            return false;
    }
    double ax = *x0 + t0 * dx, ay = *y0 + t0 * dy;
    *x1 = *x0 + t1 * dx, *y1 = *y0 + t1 * dy;
    *x0 = ax, *y0 = ay;
    return true;
}

void plot_polyline(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                   const float *y, int64_t n)
{
    cairo_new_path(c->cr);
    double px = 0, py = 0, ex = 0, ey = 0; /* previous point; end of the last drawn piece */
    bool prev_ok = false, pen = false;
    for (int64_t i = 0; i < n; i++) {
        double cx = t->ox + t->sx * x[i], cy = t->oy + t->sy * y[i];
        bool ok = isfinite(cx) && isfinite(cy);
        if (ok && prev_ok) {
            double ax = px, ay = py, bx = cx, by = cy;
            if (clip_segment(&ax, &ay, &bx, &by)) {
                if (!pen || ax != ex || ay != ey)
                    cairo_move_to(c->cr, ax, ay);
                cairo_line_to(c->cr, bx, by);
                pen = true, ex = bx, ey = by;
            } else {
                pen = false;
            }
        } else {
            pen = false;
        }
        px = cx, py = cy, prev_ok = ok;
    }
    cairo_stroke(c->cr);
}

static void marker_path(cairo_t *cr, enum plot_marker m, double x, double y, double r)
{
    switch (m) {
    case PLOT_MARK_CIRCLE:
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, r, 0, 2 * M_PI);
        break;
    case PLOT_MARK_SQUARE:
        r *= 0.886; /* same area as the circle */
        cairo_rectangle(cr, x - r, y - r, 2 * r, 2 * r);
        break;
    case PLOT_MARK_DIAMOND:
        r *= 1.2;
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x + r, y);
        cairo_line_to(cr, x, y + r);
        cairo_line_to(cr, x - r, y);
        cairo_close_path(cr);
        break;
    case PLOT_MARK_TRIANGLE:
        r *= 1.3;
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x + r * 0.866, y + r * 0.5);
        cairo_line_to(cr, x - r * 0.866, y + r * 0.5);
        cairo_close_path(cr);
        break;
    case PLOT_MARK_CROSS:
        r *= 0.8;
        cairo_move_to(cr, x - r, y - r);
        cairo_line_to(cr, x + r, y + r);
        cairo_move_to(cr, x - r, y + r);
        cairo_line_to(cr, x + r, y - r);
        break;
    case PLOT_MARK_PLUS:
        cairo_move_to(cr, x - r, y);
        cairo_line_to(cr, x + r, y);
        cairo_move_to(cr, x, y - r);
        cairo_line_to(cr, x, y + r);
        break;
    }
}

void plot_markers(struct plot_canvas *c, const struct plot_xform *t, const float *x,
                  const float *y, int64_t n, enum plot_marker m, double size, const float *rgb,
                  double alpha, double edge)
{
    cairo_t *cr = c->cr;
    double r = size / 2, margin = size + edge;
    bool stroked = m == PLOT_MARK_CROSS || m == PLOT_MARK_PLUS;
    cairo_save(cr);
    double sr, sg, sb, sa;
    if (!rgb && alpha < 1 &&
        cairo_pattern_get_rgba(cairo_get_source(cr), &sr, &sg, &sb, &sa) == CAIRO_STATUS_SUCCESS)
        cairo_set_source_rgba(cr, sr, sg, sb, sa * alpha);
    if (stroked)
        cairo_set_line_width(cr, fmax(1, size / 5));
    for (int64_t i = 0; i < n; i++) {
        double cx = t->ox + t->sx * x[i], cy = t->oy + t->sy * y[i];
        if (!(cx >= -margin && cx <= c->width + margin && cy >= -margin &&
              cy <= c->height + margin))
            continue; /* also NaN */
        cairo_new_path(cr);
        marker_path(cr, m, cx, cy, r);
        if (rgb)
            cairo_set_source_rgba(cr, rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], alpha);
        if (stroked) {
            cairo_stroke(cr);
        } else if (edge > 0) {
            cairo_fill_preserve(cr);
            cairo_save(cr);
            cairo_set_source_rgba(cr, 1, 1, 1, alpha);
            cairo_set_line_width(cr, edge);
            cairo_stroke(cr);
            cairo_restore(cr);
        } else {
            cairo_fill(cr);
        }
    }
    cairo_restore(cr);
}
