/* transforms.h — image transforms of the C core: resizing and the augmentations (the Lua side,
 * with the size rules, crops, normalisation, colour blends and parameter sampling, is
 * lua/loupe/transforms.lua).
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

/* ---- augmentation (the random transforms of transforms.lua, with their parameters fixed) ----
 * Batches are read as `nsamples` samples of equally many [H, W] planes: a [N, C, H, W] batch is
 * N samples of C planes, one [C, H, W] image one sample; per-sample parameters are arrays of
 * nsamples entries. Every op returns a new tensor. */

/* x + (std * z + mean), z standard normal, on each sample whose coin (one uniform draw per
 * sample from the global generator) is below p; the other samples are copied. kornia's
 * RandomGaussianNoise. The normals are a vectorised float32 Box-Muller over the counter
 * stream (noise.c): bit-identical for a seed whatever the thread count. Differentiable
 * (identity, "AddNoiseBackward"). */
struct tensor *op_add_noise(struct tensor *x, int64_t nsamples, float mean, float std, double p);

/* out [..., h, w]: sample s's window whose top-left corner is (top[s], left[s]) in x's pixel
 * coordinates; pixels of the window outside x are `fill` (torchvision's pad, then crop).
 * Differentiable ("CropBackward"). */
struct tensor *op_crop(struct tensor *x, int64_t nsamples, const int64_t *top,
                       const int64_t *left, int64_t h, int64_t w, float fill);

/* Mirrors the last dimension of the samples with flip[s] != 0 (flip NULL: of all).
 * Differentiable ("FlipBackward"). */
struct tensor *op_hflip(struct tensor *x, int64_t nsamples, const uint8_t *flip);

enum interp { INTERP_NEAREST, INTERP_BILINEAR };
/* torchvision's F.affine on tensors given the inverse matrix of _get_inverse_affine_matrix
 * (centred pixel coordinates; `matrix` holds nmat = 1 or nsamples rows of 6), with
 * grid_sample(align_corners=False) sampling and torchvision's fill step (fill[c] for each of
 * the per-sample planes). Differentiable w.r.t. x ("AffineBackward"). See affine.c. */
struct tensor *op_affine(struct tensor *x, int64_t nsamples, int64_t nmat, const double *matrix,
                         const float *fill, enum interp mode);

/* torchvision's adjust_hue on float RGB [..., 3, H, W] (hue_factor in [-0.5, 0.5]), with the
 * gradient of its HSV round trip ("AdjustHueBackward"). See color.c. */
struct tensor *op_adjust_hue(struct tensor *x, float hue_factor);

/* torchvision's gaussian_blur: a kx (width) by ky (height) Gaussian kernel, odd sizes, with
 * reflect padding (kx/2 < W and ky/2 < H). Differentiable ("GaussianBlurBackward"). */
struct tensor *op_gaussian_blur(struct tensor *x, int64_t kx, int64_t ky, double sigma_x,
                                double sigma_y);

#endif
