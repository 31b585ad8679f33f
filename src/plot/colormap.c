/* colormap.c — colour lookup and value scaling (see colormap.h). */
#include "loupe/colormap.h"

#include "loupe/core.h"

#include "../strided.h"
#include "colormap_tables.h"

#include <math.h>
#include <string.h>

static const float BAD[3] = {0.5f, 0.5f, 0.5f};

static const struct cmap MAPS[] = {
    {"viridis", CMAP_SEQUENTIAL, 256, cmap_viridis, true, false},
    {"gray", CMAP_SEQUENTIAL, 2, cmap_gray, false, false},
    {"Blues", CMAP_SEQUENTIAL, 9, cmap_blues, false, false},
    {"RdBu", CMAP_DIVERGING, 11, cmap_rdbu, false, false},
    {"tab10", CMAP_CATEGORICAL, 10, cmap_tab10, true, false},
    {"tab20", CMAP_CATEGORICAL, 20, cmap_tab20, true, false},
};
#define N_MAPS (int)(sizeof MAPS / sizeof MAPS[0])

int cmap_find(const char *name, struct cmap *m, const char *who)
{
    size_t len = strlen(name);
    bool rev = len > 2 && strcmp(name + len - 2, "_r") == 0;
    size_t base = rev ? len - 2 : len;
    for (int i = 0; i < N_MAPS; i++) {
        if (strlen(MAPS[i].name) == base && strncmp(MAPS[i].name, name, base) == 0) {
            *m = MAPS[i];
            m->reversed = rev;
            return 0;
        }
    }
    return err_set("%s: unknown colormap '%s' (expected one of: viridis, gray, Blues, RdBu, "
                   "tab10, tab20, or one of them + \"_r\")", who, name);
}

static void copy3(float *dst, const float *src)
{
    dst[0] = src[0], dst[1] = src[1], dst[2] = src[2];
}

void cmap_color(const struct cmap *m, double t, float rgb[3])
{
    if (isnan(t)) {
        copy3(rgb, BAD);
        return;
    }
    if (m->kind == CMAP_CATEGORICAL) {
        /* class k -> entry (k - 1) mod n; far-out values are clamped before the cast */
        double k = fmax(-1e15, fmin(1e15, floor(t + 0.5))) - 1;
        int64_t i = (int64_t)k % m->n;
        if (i < 0)
            i += m->n;
        copy3(rgb, m->rgb[m->reversed ? m->n - 1 - i : i]);
        return;
    }
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    if (m->reversed)
        t = 1 - t;
    if (m->listed) {
        int i = (int)(t * m->n);
        copy3(rgb, m->rgb[i < m->n ? i : m->n - 1]);
        return;
    }
    double pos = t * (m->n - 1);
    int i = (int)pos;
    if (i >= m->n - 1)
        i = m->n - 2;
    float f = (float)(pos - i);
    for (int c = 0; c < 3; c++)
        rgb[c] = m->rgb[i][c] + f * (m->rgb[i + 1][c] - m->rgb[i][c]);
}

void cmap_limits(const struct cmap *m, const struct cmap_scale *s, const float *v, int64_t n,
                 double *lo, double *hi)
{
    if (s->has_range) {
        *lo = s->lo, *hi = s->hi;
        return;
    }
    bool symmetric = !s->auto_range && (s->has_zmid || m->kind == CMAP_DIVERGING);
    double mid = s->has_zmid ? s->zmid : 0;
    double a = INFINITY, b = -INFINITY, dev = 0;
    for (int64_t i = 0; i < n; i++) {
        double x = v[i];
        if (!isfinite(x))
            continue;
        a = x < a ? x : a;
        b = x > b ? x : b;
        dev = fabs(x - mid) > dev ? fabs(x - mid) : dev;
    }
    if (symmetric) {
        *lo = mid - dev, *hi = mid + dev;
    } else if (a > b) { /* no finite value */
        *lo = 0, *hi = 1;
    } else {
        *lo = a, *hi = b;
    }
}

double cmap_position(const struct cmap *m, double v, double lo, double hi)
{
    if (m->kind == CMAP_CATEGORICAL)
        return v;
    if (!(hi != lo)) /* equal limits (or NaN ones) */
        return isnan(v) ? v : m->kind == CMAP_DIVERGING ? 0.5 : 0;
    return (v - lo) / (hi - lo);
}

void cmap_apply(const struct cmap *m, const float *v, int64_t n, double lo, double hi,
                float *out)
{
    PARALLEL_FOR(n >= PAR_MIN_ELEMS, i, n, {
        float rgb[3];
        cmap_color(m, cmap_position(m, v[i], lo, hi), rgb);
        out[i] = rgb[0];
        out[n + i] = rgb[1];
        out[2 * n + i] = rgb[2];
    });
}
