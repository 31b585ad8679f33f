/* stimuli.c — the drawing kernels of stimuli.h: random filled shapes on grey, contrast-scaled
 * copies, Gaussian-windowed gratings.
 *
 * Rasterisation and OpenCV. The seed draws with cv2.circle / cv2.ellipse / cv2.rectangle
 * (thickness -1, LINE_8). Here a pixel is filled when its centre is inside the shape or on
 * its boundary, which differs from OpenCV only on boundary pixels:
 *   - rectangle: identical (both fill the inclusive integer box);
 *   - circle: OpenCV's filled Circle() walks a Bresenham-style midpoint circle, whose span
 *     ends can differ by one pixel from dx^2 + dy^2 <= r^2 on some rows;
 *   - ellipse: OpenCV rounds the angle to whole degrees (we draw whole degrees, so no
 *     difference there), then fills an inscribed polygon with a vertex every 5 degrees (axes
 *     >= 15 px; every 18/30/90 degrees for smaller ones) at fixed-point positions. The
 *     polygon's area is (72 / 2pi) sin(2pi / 72) = 99.87 % of the ellipse's, so OpenCV leaves
 *     out a thin sliver of boundary pixels that the exact test here includes.
 * The areas agree with the analytic ones (pi r^2, pi a b, (2a+1)(2b+1)) to the lattice error
 * of the boundary, a few percent at the smallest extents. */
#include "loupe/stimuli.h"

#include "loupe/core.h"
#include "loupe/rng.h"
#include "../strided.h"

#include <math.h>
#include <string.h>

#define WORDS_PER_SHAPE 8

static const char *const kind_names[STIM_NKINDS] = {"circle", "ellipse", "rectangle"};

const char *stim_kind_name(enum stim_kind k)
{
    return (unsigned)k < STIM_NKINDS ? kind_names[k] : "?";
}

int stim_kind_parse(const char *name)
{
    for (int k = 0; k < STIM_NKINDS; k++)
        if (strcmp(name, kind_names[k]) == 0)
            return k;
    return -1;
}

/* Integer uniform in [lo, hi] from one 64-bit word (Lemire's multiply-shift). */
static inline int uniform_int(uint64_t w, int lo, int hi)
{
    return lo + (int)(((unsigned __int128)w * (uint64_t)(hi - lo + 1)) >> 64);
}

static int check_size(const char *op, int64_t size)
{
    if (size < STIM_MIN_SIZE || size > STIM_MAX_SIZE)
        return err_set("%s: size must be in [%d, %d], got %lld", op, STIM_MIN_SIZE,
                       STIM_MAX_SIZE, (long long)size);
    return 0;
}

int stim_draw_shapes(struct stim_shape *out, int *which, int64_t n, int64_t size,
                     const enum stim_kind *kinds, int nkinds)
{
    if (check_size("shapes", size) < 0)
        return -1;
    if (n < 0)
        return err_set("shapes: n must be non-negative, got %lld", (long long)n);
    if (nkinds < 1)
        return err_set("shapes: no shape kinds to draw from");
    for (int k = 0; k < nkinds; k++)
        if ((unsigned)kinds[k] >= STIM_NKINDS)
            return err_set("shapes: unknown shape kind %d", (int)kinds[k]);
    const int s = (int)size;
    /* half-extents 10-40 % of the size; 2 * hi + 1 <= s for s >= 5, so every shape fits */
    const int lo = (s + 5) / 10, hi = 2 * s / 5;
    uint64_t c0 = rng_take((uint64_t)n * WORDS_PER_SHAPE);
    for (int64_t i = 0; i < n; i++) {
        uint64_t w[WORDS_PER_SHAPE];
        for (int j = 0; j < WORDS_PER_SHAPE; j++)
            w[j] = rng_word(c0 + (uint64_t)i * WORDS_PER_SHAPE + (uint64_t)j);
        struct stim_shape *p = &out[i];
        int k = uniform_int(w[0], 0, nkinds - 1);
        if (which)
            which[i] = k;
        p->kind = kinds[k];
        p->a = uniform_int(w[1], lo, hi);
        p->b = p->kind == STIM_CIRCLE ? p->a : uniform_int(w[2], lo, hi);
        p->angle = p->kind == STIM_ELLIPSE ? uniform_int(w[3], 0, 179) : 0;
        /* an ellipse may point any way: keep its bounding circle inside */
        int ex = p->kind == STIM_ELLIPSE ? (p->a > p->b ? p->a : p->b) : p->a;
        int ey = p->kind == STIM_ELLIPSE ? ex : p->b;
        p->cx = uniform_int(w[4], ex, s - 1 - ex);
        p->cy = uniform_int(w[5], ey, s - 1 - ey);
        for (int c = 0; c < 3; c++)
            p->colour[c] = (uint8_t)(w[6] >> (8 * c));
    }
    return 0;
}

/* cos and sin of a whole number of degrees, exact at multiples of 90 so that axis-aligned
 * ellipses keep their lattice points on the boundary. */
static void cos_sin_deg(int deg, double *c, double *s)
{
    static const double exact[4][2] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
    deg %= 360;
    if (deg < 0)
        deg += 360;
    if (deg % 90 == 0) {
        *c = exact[deg / 90][0];
        *s = exact[deg / 90][1];
        return;
    }
    double r = deg * (M_PI / 180.0);
    *c = cos(r);
    *s = sin(r);
}

/* Is the pixel centre (dx, dy) (relative to the shape's centre) inside the shape? */
static inline bool inside(const struct stim_shape *p, double cs, double sn, int dx, int dy)
{
    switch (p->kind) {
    case STIM_CIRCLE:
        return (int64_t)dx * dx + (int64_t)dy * dy <= (int64_t)p->a * p->a;
    case STIM_RECTANGLE:
        return dx >= -p->a && dx <= p->a && dy >= -p->b && dy <= p->b;
    default: {
        /* (u/a)^2 + (v/b)^2 <= 1 in the ellipse's own axes, multiplied through by a^2 b^2 */
        double u = dx * cs + dy * sn, v = -dx * sn + dy * cs;
        double a2 = (double)p->a * p->a, b2 = (double)p->b * p->b;
        return u * u * b2 + v * v * a2 <= a2 * b2;
    }
    }
}

static void render_one(uint8_t *img, int64_t s, const struct stim_shape *p)
{
    int64_t plane = s * s;
    memset(img, STIM_BACKGROUND, (size_t)(3 * plane));
    double cs = 1, sn = 0;
    if (p->kind == STIM_ELLIPSE)
        cos_sin_deg(p->angle, &cs, &sn);
    int r = p->a > p->b ? p->a : p->b; /* bounding box half-size (any rotation) */
    int64_t y0 = p->cy - r < 0 ? 0 : p->cy - r, y1 = p->cy + r >= s ? s - 1 : p->cy + r;
    int64_t x0 = p->cx - r < 0 ? 0 : p->cx - r, x1 = p->cx + r >= s ? s - 1 : p->cx + r;
    for (int64_t y = y0; y <= y1; y++)
        for (int64_t x = x0; x <= x1; x++)
            if (inside(p, cs, sn, (int)(x - p->cx), (int)(y - p->cy)))
                for (int c = 0; c < 3; c++)
                    img[c * plane + y * s + x] = p->colour[c];
}

int stim_render_shapes(struct tensor *x, const struct stim_shape *shapes)
{
    if (x->dtype != DT_UINT8 || !tensor_is_contiguous(x) || x->ndim != 4 || x->shape[1] != 3 ||
        x->shape[2] != x->shape[3])
        return err_set("shapes: expected a contiguous uint8 tensor [n,3,S,S], got %s %s",
                       dtype_name(x->dtype), tshape(x));
    if (check_size("shapes", x->shape[2]) < 0)
        return -1;
    int64_t n = x->shape[0], s = x->shape[2];
    for (int64_t i = 0; i < n; i++) {
        const struct stim_shape *p = &shapes[i];
        if ((unsigned)p->kind >= STIM_NKINDS || p->a < 0 || p->b < 0 || p->a > s || p->b > s ||
            p->cx < 0 || p->cx >= s || p->cy < 0 || p->cy >= s)
            return err_set("shapes: invalid shape %lld (kind %d, centre (%d, %d), extents %d, %d) "
                           "for size %lld",
                           (long long)i, (int)p->kind, p->cx, p->cy, p->a, p->b, (long long)s);
    }
    uint8_t *base = tensor_u8(x);
    PARALLEL_FOR(n > 1 && n * s * s > PAR_MIN_ELEMS, i, n,
                 { render_one(base + i * 3 * s * s, s, &shapes[i]); });
    tensor_bump_version(x);
    return 0;
}

struct tensor *stim_contrast_stack(const struct tensor *img, const struct tensor *contrasts)
{
    if (img->dtype != DT_UINT8 || img->ndim < 2 || img->ndim + 1 > TENSOR_MAXDIM) {
        err_set("contrast: expected uint8 images [n,...] (at most %d dims), got %s %s",
                TENSOR_MAXDIM - 1, dtype_name(img->dtype), tshape(img));
        return NULL;
    }
    if (contrasts->dtype != DT_FLOAT32 || contrasts->ndim != 2 ||
        contrasts->shape[0] != img->shape[0]) {
        err_set("contrast: expected float32 contrasts [%lld,k] for images %s, got %s %s",
                (long long)img->shape[0], tshape(img), dtype_name(contrasts->dtype),
                tshape(contrasts));
        return NULL;
    }
    int64_t n = img->shape[0], k = contrasts->shape[1];
    int64_t shape[TENSOR_MAXDIM];
    shape[0] = n;
    shape[1] = k;
    for (int d = 1; d < img->ndim; d++)
        shape[d + 1] = img->shape[d];
    struct tensor *src = tensor_contiguous((struct tensor *)img);
    struct tensor *a = src ? tensor_contiguous((struct tensor *)contrasts) : NULL;
    struct tensor *out = a ? tensor_new(DT_FLOAT32, img->ndim + 1, shape) : NULL;
    if (!out) {
        tensor_release(a);
        tensor_release(src);
        return NULL;
    }
    int64_t m = n ? tensor_numel(img) / n : 0;
    const uint8_t *x = tensor_u8(src);
    const float *av = tensor_f32(a);
    float *o = tensor_f32(out);
    PARALLEL_FOR(n * k * m > PAR_MIN_ELEMS, ij, n * k, {
        const uint8_t *xi = x + (ij / k) * m;
        float c = av[ij], off = (1.0f - c) * 0.5f, scale = c / 255.0f;
        float *oj = o + ij * m;
        for (int64_t e = 0; e < m; e++)
            oj[e] = off + scale * (float)xi[e];
    });
    tensor_release(a);
    tensor_release(src);
    return out;
}

int stim_grating(struct tensor *out, double sf, double theta, double phase, double contrast)
{
    if (out->dtype != DT_FLOAT32 || !tensor_is_contiguous(out) || out->ndim != 3 ||
        out->shape[1] != out->shape[2])
        return err_set("grating: expected a contiguous float32 tensor [C,S,S], got %s %s",
                       dtype_name(out->dtype), tshape(out));
    if (check_size("grating", out->shape[1]) < 0)
        return -1;
    if (!(sf > 0) || !isfinite(sf) || !isfinite(theta) || !isfinite(phase) ||
        !isfinite(contrast))
        return err_set("grating: sf must be positive and theta, phase, contrast finite "
                       "(sf %g, theta %g, phase %g, contrast %g)",
                       sf, theta, phase, contrast);
    int64_t s = out->shape[1], plane = s * s, half = s / 2;
    double lambda = (0.5 * (double)s) / (M_PI * sf), sigma = (double)s / 6.0;
    double wx = cos(theta) / lambda, wy = sin(theta) / lambda, g = -0.5 / (sigma * sigma);
    float *o = tensor_f32(out);
    PARALLEL_FOR(plane > PAR_MIN_ELEMS, row, s, {
        double y = (double)(row - half);
        for (int64_t col = 0; col < s; col++) {
            double x = (double)(col - half);
            double v = contrast * cos(wx * x + wy * y + phase) * exp(g * (x * x + y * y));
            o[row * s + col] = (float)((v + 1.0) * 0.5);
        }
    });
    for (int64_t c = 1; c < out->shape[0]; c++)
        memcpy(o + c * plane, o, (size_t)plane * sizeof(float));
    tensor_bump_version(out);
    return 0;
}
