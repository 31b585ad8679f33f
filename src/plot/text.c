/* text.c — text drawing and measuring (see loupe/plot.h).
 *
 * One face, DejaVu Sans (Debian's fonts-dejavu-core; fontconfig substitutes the closest sans
 * face when it is missing), through cairo's toy font API. Metric hinting is off so that a
 * string measures the same on a scratch surface, a PNG at any scale, an SVG and a PDF: the
 * figure layout computed from plot_text_extent holds in every format. */
#include "canvas.h"

#include <math.h>

#define FACE "DejaVu Sans"

#if defined(__SANITIZE_ADDRESS__)
/* cairo keeps every toy font face it creates, with the fontconfig pattern behind it, in a
 * process-wide cache that it never frees (cairo_debug_reset_static_data would, but that is
 * unsafe while another Lua state may still draw). The cache holds one entry per face and
 * weight, so it is bounded, but LeakSanitizer reports it at exit; the sanitized build asks
 * LeakSanitizer to ignore it (it calls this function at startup when the program has it;
 * libfontconfig has no frame pointers, so its stacks stop inside the library). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:cairo_toy_font_face_create\nleak:libfontconfig.so\n";
}
const char *__lsan_default_options(void);
const char *__lsan_default_options(void) { return "print_suppressions=0"; }
#endif

void plot_font_setup(cairo_t *cr, double size, bool bold)
{
    cairo_select_font_face(cr, FACE, CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
    cairo_font_options_t *fo = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(fo, CAIRO_HINT_STYLE_SLIGHT);
    cairo_font_options_set_antialias(fo, CAIRO_ANTIALIAS_GRAY);
    cairo_set_font_options(cr, fo);
    cairo_font_options_destroy(fo);
}

void plot_text_extent(const char *s, double size, bool bold, double *width, double *ascent,
                      double *descent)
{
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_A8, 1, 1);
    cairo_t *cr = cairo_create(sf);
    plot_font_setup(cr, size, bold);
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    bool ok = cairo_status(cr) == CAIRO_STATUS_SUCCESS;
    *width = ok ? te.x_advance : 0;
    *ascent = ok ? fe.ascent : size;
    *descent = ok ? fe.descent : 0;
    cairo_destroy(cr);
    cairo_surface_destroy(sf);
}

void plot_text(struct plot_canvas *c, const char *s, double x, double y, double size, bool bold,
               double halign, enum plot_valign valign, double angle)
{
    cairo_t *cr = c->cr;
    cairo_save(cr);
    plot_font_setup(cr, size, bold);
    cairo_text_extents_t te;
    cairo_font_extents_t fe;
    cairo_text_extents(cr, s, &te);
    cairo_font_extents(cr, &fe);
    /* vertical references from the font, not the string, so labels in a row line up */
    double dy = valign == PLOT_TOP      ? fe.ascent
                : valign == PLOT_MIDDLE ? (fe.ascent - fe.descent) / 2
                : valign == PLOT_BOTTOM ? -fe.descent
                                        : 0;
    cairo_translate(cr, x, y);
    cairo_rotate(cr, -angle * M_PI / 180);
    cairo_move_to(cr, -halign * te.x_advance, dy);
    cairo_show_text(cr, s);
    cairo_new_path(cr);
    cairo_restore(cr);
}
