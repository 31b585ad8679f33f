/* image.h — reading and writing image files: PNG (libpng) and JPEG (libjpeg).
 *
 * Images in loupe are float32 tensors [C, H, W] with values in [0, 1], as torchvision's
 * to_tensor makes them. Decoding follows PIL's `Image.open(path).convert("RGB")` (so results
 * match the PyTorch pipelines that reference values come from): 8 bits per sample (16-bit
 * PNG samples keep their high byte, as PIL does for colour and torchvision's decode_png for
 * every kind; PIL clips 16-bit gray to white instead), alpha dropped without compositing,
 * palette and low-bit-depth PNGs expanded, libjpeg's default (accurate integer) IDCT with fancy
 * upsampling, CMYK JPEGs converted as PIL does. Gamma and ICC profiles are ignored, as PIL
 * does by default.
 *
 * Every failure is an err_set naming the operation and the file: a missing file, a file that
 * is neither PNG nor JPEG, corrupt data, a truncated file. */
#ifndef LOUPE_IMAGE_H
#define LOUPE_IMAGE_H

#include "loupe/tensor.h"

/* Reads the PNG or JPEG file at path (recognised by its first bytes, not its name).
 *   channels = 3: [3, H, W] RGB; a gray image repeats its channel three times.
 *   channels = 1: [1, H, W] gray; a colour image is converted with the ITU-R 601-2 luma
 *                 weights 0.2989 R + 0.587 G + 0.114 B on the [0, 1] values (torchvision's
 *                 rgb_to_grayscale).
 * Returns a new float32 tensor, or NULL with err_set. */
struct tensor *img_load(const char *path, int channels);

/* Writes t as an 8-bit PNG at path, atomically (atomic_file.h). t is [H, W] (gray) or
 * [C, H, W] with C = 1 (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA), float32 or uint8.
 * float32 values are clamped to [0, 1] and stored as round-half-up(v * 255) (torchvision's
 * save_image); NaN is stored as 0. Returns 0, or -1 with err_set. */
int img_save_png(const struct tensor *t, const char *path);

#endif
