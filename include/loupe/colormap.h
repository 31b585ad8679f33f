/* colormap.h — colour maps for heatmaps and class colours, and the value -> colour scaling
 * shared by image.save, image.colormap and the figures.
 *
 * Maps (a "_r" suffix reverses any of them):
 *   viridis   sequential, matplotlib's 256-entry table, looked up like matplotlib's
 *             ListedColormap (entry floor(t * 256)), so the ends are exactly matplotlib's
 *   gray      sequential, black -> white, linear
 *   Blues     sequential, ColorBrewer's 9 classes, white -> dark blue, linear between them
 *   RdBu      diverging, ColorBrewer's 11 classes as plotly's and matplotlib's "RdBu": low
 *             values red, the middle near-white #f7f7f7, high values blue; linear between
 *   tab10, tab20  categorical (matplotlib's): value k (a class number counting from 1, as
 *             loupe's labels) gets entry (k - 1) mod n
 *
 * Scaling (struct cmap_scale): an explicit range [lo, hi] maps linearly to [0, 1]; otherwise a
 * midpoint zmid (default 0 for diverging maps, as plotly's zmid) gives symmetric limits
 * zmid -+ max |v - zmid|; otherwise the limits are the data's min and max. Only finite
 * values count; NaN is drawn in the map's "bad" colour (mid gray), +-inf as the ends. */
#ifndef LOUPE_COLORMAP_H
#define LOUPE_COLORMAP_H

#include <stdbool.h>
#include <stdint.h>

enum cmap_kind { CMAP_SEQUENTIAL, CMAP_DIVERGING, CMAP_CATEGORICAL };

struct cmap {
    const char *name;      /* canonical name without "_r" */
    enum cmap_kind kind;
    int n;                 /* entries in rgb */
    const float (*rgb)[3];
    bool listed;           /* nearest entry (ListedColormap) instead of linear interpolation */
    bool reversed;
};

/* How values become positions in [0, 1]. */
struct cmap_scale {
    bool has_range;  /* explicit [lo, hi] */
    double lo, hi;
    bool auto_range; /* the data's min and max, even for a diverging map */
    bool has_zmid;   /* symmetric about zmid (implied, with zmid = 0, for diverging maps) */
    double zmid;
};

/* Fills *m for `name` (case-sensitive, as matplotlib's names). Returns 0, or -1 with
 * err_set("<who>: unknown colormap 'x' (expected one of: ...)"). */
int cmap_find(const char *name, struct cmap *m, const char *who);

/* The colour at position t in [0, 1] (clamped; NaN gives the bad colour). Categorical maps
 * treat t as a class number instead (see above). */
void cmap_color(const struct cmap *m, double t, float rgb[3]);

/* Resolves the limits for the n values v (any stride-1 float array; n may be 0) under s.
 * Equal limits are allowed: cmap_position then gives the middle for diverging maps and 0
 * otherwise (as matplotlib). */
void cmap_limits(const struct cmap *m, const struct cmap_scale *s, const float *v, int64_t n,
                 double *lo, double *hi);

/* v scaled by [lo, hi] to [0, 1] (not clamped; cmap_color clamps). */
double cmap_position(const struct cmap *m, double v, double lo, double hi);

/* out[c * n + i] = colour channel c of v[i] (c = 0, 1, 2): float planes, as a [3, ...] tensor.
 * Categorical maps ignore lo and hi. Parallel over i. */
void cmap_apply(const struct cmap *m, const float *v, int64_t n, double lo, double hi,
                float *out);

#endif
