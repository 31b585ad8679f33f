/* transforms.h — differentiable image transforms of the C core (the Lua side, with the size
 * rules, crops and normalisation, is lua/loupe/transforms.lua).
 *
 * Same conventions as ops.h: arguments borrowed, result owned, NULL + err_set on failure, the
 * op records itself on the autograd tape when an input requires grad. */
#ifndef LOUPE_TRANSFORMS_H
#define LOUPE_TRANSFORMS_H

#include "loupe/tensor.h"

/* Resizes the last two dimensions of x ([..., H, W] float32, e.g. [C,H,W] or [N,C,H,W]) to
 * oh x ow with bilinear interpolation, separably: first along W, then along H (as PyTorch;
 * an axis whose size does not change is left untouched).
 *   antialias: PIL's ImagingResample / PyTorch's _upsample_bilinear2d_aa (what torchvision's
 *     resize(antialias=True) calls): output i samples at centre c = (i + 0.5) * s with
 *     s = in / out; the triangle filter's support is max(s, 1), taps j in
 *     [int(c - support + 0.5), int(c + support + 0.5)) clipped to the input, weight
 *     tri((j - c + 0.5) / max(s, 1)), weights normalised to sum 1 per output.
 *   otherwise: PyTorch's interpolate(mode="bilinear", align_corners=False): source position
 *     (i + 0.5) * s - 0.5 clamped at 0, two taps.
 * Upscaling gives the same result either way. Differentiable w.r.t. x ("ResizeBackward":
 * the transpose of the same weights). */
struct tensor *op_resize(struct tensor *x, int64_t oh, int64_t ow, bool antialias);

#endif
