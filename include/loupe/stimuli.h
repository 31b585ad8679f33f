/* stimuli.h — synthetic images for the contrast-probing experiment: filled shapes on grey,
 * contrast-scaled copies of them, and Gaussian-windowed sinusoidal gratings.
 *
 * Coordinates are OpenCV's: x is the column, y the row (down), both 0-based, and integer
 * coordinates are pixel centres. Shapes are rasterised without antialiasing: a pixel takes
 * the shape's colour when its centre lies inside the shape or on its boundary. For circles
 * and rectangles with integer centres and extents (what cv2.circle / cv2.rectangle accept)
 * this is the set OpenCV's filled LINE_8 drawing aims at; OpenCV's own rasterisers differ on
 * some boundary pixels (see src/data/stimuli.c).
 *
 * Random draws come from the one generator (rng.h), a fixed number of counters per image, so
 * image i depends only on the generator's position when the call starts and on i. */
#ifndef LOUPE_STIMULI_H
#define LOUPE_STIMULI_H

#include "loupe/tensor.h"

enum stim_kind { STIM_CIRCLE, STIM_ELLIPSE, STIM_RECTANGLE, STIM_NKINDS };

/* Accepted image sizes (square images, pixels). */
#define STIM_MIN_SIZE 8
#define STIM_MAX_SIZE 4096
/* Background grey level of shape images. */
#define STIM_BACKGROUND 128

/* One shape: centre (cx, cy) in pixels; a, b the half-extents along the shape's own axes
 * (circle: a = b = radius; ellipse: semi-axes, a along the direction `angle`; rectangle:
 * half-width and half-height, so it covers columns cx-a..cx+a and rows cy-b..cy+b as
 * cv2.rectangle(pt1, pt2) does with inclusive corners); angle in whole degrees, clockwise on
 * screen (OpenCV's convention, which rounds angles to whole degrees), ellipses only. */
struct stim_shape {
    enum stim_kind kind;
    int cx, cy, a, b, angle;
    uint8_t colour[3]; /* RGB */
};

/* "circle", "ellipse", "rectangle" <-> enum; stim_kind_parse returns -1 for other names. */
const char *stim_kind_name(enum stim_kind k);
int stim_kind_parse(const char *name);

/* Draws n random shapes for images of size x size from the global generator (8 counters per
 * shape). Shape i has kind kinds[k] with k uniform in [0, nkinds) (written to which[i] when
 * which is not NULL); half-extents are integers uniform in [round(0.1 size), floor(0.4 size)]
 * (each of a, b independently for ellipses and rectangles); the centre is uniform over the
 * integer positions that keep the whole shape inside the image; an ellipse's angle is uniform
 * in {0, ..., 179} degrees; each colour channel uniform in {0, ..., 255}. Returns 0, or -1
 * (with err_set) for an invalid size, n or kinds list. */
int stim_draw_shapes(struct stim_shape *out, int *which, int64_t n, int64_t size,
                     const enum stim_kind *kinds, int nkinds);

/* Renders shapes into x, a contiguous uint8 tensor [n, 3, S, S] (n shapes, RGB planes):
 * background STIM_BACKGROUND, each shape filled with its colour. Returns 0 or -1. */
int stim_render_shapes(struct tensor *x, const struct stim_shape *shapes);

/* Contrast-scaled copies: for uint8 images img [n, C, H, W] and float32 contrasts [n, k],
 * returns float32 [n, k, C, H, W] with out[i, j] = (1 - a) / 2 + a * img[i] / 255 where
 * a = contrasts[i, j] (the seed's adjust_contrast). NULL with err_set on bad shapes. */
struct tensor *stim_contrast_stack(const struct tensor *img, const struct tensor *contrasts);

/* A Gaussian-windowed grating into out, a contiguous float32 tensor [C, S, S]: every channel
 * holds (v + 1) / 2 with
 *     v = contrast * cos((cos(theta) x + sin(theta) y) / lambda + phase) * g(x, y),
 *     lambda = (S / 2) / (pi * sf),   g = exp(-(x^2 + y^2) / (2 sigma^2)),  sigma = S / 6,
 * x = col - floor(S / 2), y = row - floor(S / 2) (the seed's grid, whose centre pixel is an
 * integer position, so g peaks at exactly 1 there and needs no normalisation). sf is in cycles
 * per image width, theta and phase in radians. Returns 0 or -1. */
int stim_grating(struct tensor *out, double sf, double theta, double phase, double contrast);

#endif
