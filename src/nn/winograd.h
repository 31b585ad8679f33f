/* winograd.h — 3x3, stride-1 convolution by Winograd's F(2x2, 3x3) (src/nn/winograd.c), used
 * by conv.c for the shapes where it beats im2col + sgemm (not part of the API). */
#ifndef LOUPE_WINOGRAD_H
#define LOUPE_WINOGRAD_H

#include <stdbool.h>
#include <stdint.h>

/* x [N, C, H, W] convolved with w [O, C, 3, 3], zero padding ph, pw; y [N, O, OH, OW] with
 * OH = H + 2 ph - 2, OW = W + 2 pw - 2. */
struct wino_shape {
    int64_t N, C, H, W, O, ph, pw;
};

/* Whether Winograd pays for this shape (enough channels; sizes within BLAS's int). */
bool wino_suitable(const struct wino_shape *s);

/* y = conv(x, w) + b (b may be NULL). All contiguous. 0, or -1 with err_set (out of memory). */
int wino_forward(float *y, const float *x, const float *w, const float *b,
                 const struct wino_shape *s);

/* From gy [N, O, OH, OW]: gx = the input gradient (if gx is not NULL) and gw = the weight
 * gradient (if gw is not NULL), both overwritten. 0, or -1 with err_set. */
int wino_backward(float *gx, float *gw, const float *gy, const float *x, const float *w,
                  const struct wino_shape *s);

#endif
