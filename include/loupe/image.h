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

#include "loupe/colormap.h"
#include "loupe/tensor.h"

/* Reads the PNG or JPEG file at path (recognised by its first bytes, not its name).
 *   channels = 3: [3, H, W] RGB; a gray image repeats its channel three times.
 *   channels = 1: [1, H, W] gray; a colour image is converted with the ITU-R 601-2 luma
 *                 weights 0.2989 R + 0.587 G + 0.114 B on the [0, 1] values (torchvision's
 *                 rgb_to_grayscale).
 * Returns a new float32 tensor, or NULL with err_set. */
struct tensor *img_load(const char *path, int channels);

/* How img_save turns values into pixels. Zero-initialised = torchvision's save_image. */
struct img_save_opts {
    const char *cmap;         /* colour map name (colormap.h) for one-channel images, or NULL */
    struct cmap_scale scale;  /* value range; see below */
    int quality;              /* JPEG quality 1..100; 0 = 90 */
};

/* Writes t atomically (atomic_file.h) as an 8-bit PNG or baseline JPEG, chosen by the path's
 * extension (.png, .jpg or .jpeg, any case). t is [H, W] (gray) or [C, H, W] with C = 1
 * (gray), 2 (gray + alpha), 3 (RGB) or 4 (RGBA; PNG only, as is C = 2); float32, uint8, or
 * int64 with a cmap or a range (class maps through "tab10", say).
 *
 * Values: with no cmap and no range or zmid, float values are taken as intensities in [0, 1]
 * (torchvision's save_image: clamped, stored as round-half-up(v * 255), NaN as 0) and uint8
 * as stored. An explicit range (or auto_range: the data's min..max, or a zmid: symmetric
 * about it) first maps values linearly onto [0, 1], all channels alike. With a cmap, t must
 * have one channel and is stored as RGB through the map, scaled as colormap.h describes (by
 * default: the data's min..max, or symmetric about 0 for diverging maps).
 * Returns 0, or -1 with err_set. */
int img_save(const struct tensor *t, const char *path, const struct img_save_opts *opts);

#endif
