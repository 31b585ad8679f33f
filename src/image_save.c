/* image_save.c — tensors to PNG (libpng) and JPEG (libjpeg) files (see image.h).
 *
 * Every tensor first becomes uint8 pixels [H, W, S] (S samples per pixel, interleaved as both
 * libraries want them): intensities quantised as torchvision's save_image, optionally after a
 * linear range mapping or through a colour map (colormap.h). The encoders then write into an
 * atomic file; libpng's and libjpeg's longjmp error paths only ever leave their own structs
 * behind, which the handlers destroy. */
#include "loupe/image.h"

#include "loupe/atomic_file.h"
#include "loupe/core.h"

#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>

#define MSG_MAX 200
#define JPEG_DEFAULT_QUALITY 90

enum format { FMT_PNG, FMT_JPEG };

static int format_of(const char *path, enum format *f)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (dot && (!slash || dot > slash)) {
        if (strcasecmp(dot, ".png") == 0)
            return *f = FMT_PNG, 0;
        if (strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0)
            return *f = FMT_JPEG, 0;
    }
    return err_set("image.save: cannot tell the format of '%s' from its extension (expected "
                   ".png, .jpg or .jpeg)", path);
}

/* ---- tensor -> uint8 [H, W, S] ---- */

static uint8_t quantise(float v)
{
    float f = v * 255.0f + 0.5f;
    return !(f > 0) ? 0 : f >= 255 ? 255 : (uint8_t)f; /* NaN -> 0 */
}

static bool scaled(const struct cmap_scale *s)
{
    return s->has_range || s->auto_range || s->has_zmid;
}

/* px[i * s + c] from the float planes v[c * hw + i] (c < ch), mapped by [lo, hi] when scale. */
static void planes_to_pixels(uint8_t *px, int64_t s, const float *v, int64_t ch, int64_t hw,
                             bool scale, double lo, double hi, bool zmid)
{
    for (int64_t c = 0; c < ch; c++) {
        for (int64_t i = 0; i < hw; i++) {
            float x = v[c * hw + i];
            if (scale)
                x = hi != lo ? (float)((x - lo) / (hi - lo)) : zmid ? 0.5f : 0.0f;
            px[i * s + c] = quantise(x);
        }
    }
}

/* [C?, H, W] float values through a colour map into RGB pixels. */
static int colour_pixels(uint8_t *px, const float *v, int64_t hw, const struct img_save_opts *o)
{
    struct cmap m;
    if (cmap_find(o->cmap, &m, "image.save") < 0)
        return -1;
    float *rgb = malloc(sizeof(float) * 3 * (size_t)hw);
    if (!rgb)
        return err_set("image.save: out of memory colouring %lld pixels", (long long)hw);
    double lo, hi;
    cmap_limits(&m, &o->scale, v, hw, &lo, &hi);
    cmap_apply(&m, v, hw, lo, hi, rgb);
    planes_to_pixels(px, 3, rgb, 3, hw, false, 0, 1, false);
    free(rgb);
    return 0;
}

/* uint8 [H, W, S] pixels of t under o. */
static struct tensor *to_pixels(const struct tensor *t, const struct img_save_opts *o)
{
    bool two = t->ndim == 2;
    if (!two && !(t->ndim == 3 && t->shape[0] >= 1 && t->shape[0] <= 4)) {
        err_set("image.save: expected an image [H,W] or [C,H,W] with C = 1, 2, 3 or 4, got %s",
                tshape(t));
        return NULL;
    }
    int64_t ch = two ? 1 : t->shape[0], h = t->shape[two ? 0 : 1], w = t->shape[two ? 1 : 2];
    if (h < 1 || w < 1 || h > PNG_UINT_31_MAX || w > PNG_UINT_31_MAX) {
        err_set("image.save: cannot store an image of shape %s", tshape(t));
        return NULL;
    }
    if (t->dtype == DT_INT64 && !o->cmap && !scaled(&o->scale)) {
        /* no sensible default: 0..255 bytes or 0/1 labels would both be guesses */
        err_set("image.save: expected a float32 or uint8 tensor, got int64 (int64 values need "
                "a cmap or a range)");
        return NULL;
    }
    if (o->cmap && ch != 1) {
        err_set("image.save: cmap '%s' needs one channel ([H,W] or [1,H,W]), got %s", o->cmap,
                tshape(t));
        return NULL;
    }
    int64_t shape[3] = {h, w, o->cmap ? 3 : ch}, hw = h * w;
    struct tensor *px = tensor_new(DT_UINT8, 3, shape);
    if (!px)
        return NULL;
    if (t->dtype == DT_UINT8 && !o->cmap && !scaled(&o->scale)) {
        struct tensor *src = tensor_copy(t); /* contiguous [C?, H, W] */
        if (!src)
            goto fail;
        for (int64_t c = 0; c < ch; c++)
            for (int64_t i = 0; i < hw; i++)
                tensor_u8(px)[i * ch + c] = tensor_u8(src)[c * hw + i];
        tensor_release(src);
        return px;
    }
    struct tensor *f = tensor_to_dtype(t, DT_FLOAT32); /* contiguous */
    if (!f)
        goto fail;
    int rc = 0;
    if (o->cmap) {
        rc = colour_pixels(tensor_u8(px), tensor_f32(f), hw, o);
    } else {
        double lo = 0, hi = 1;
        struct cmap gray;
        cmap_find("gray", &gray, "image.save");
        if (scaled(&o->scale))
            cmap_limits(&gray, &o->scale, tensor_f32(f), ch * hw, &lo, &hi);
        planes_to_pixels(tensor_u8(px), ch, tensor_f32(f), ch, hw, scaled(&o->scale), lo, hi,
                         o->scale.has_zmid && !o->scale.has_range);
    }
    tensor_release(f);
    if (rc == 0)
        return px;
fail:
    tensor_release(px);
    return NULL;
}

/* ---- PNG ---- */

struct png_write_ctx {
    char msg[MSG_MAX];
    png_bytep *rows;
};

static void png_write_fail(png_structp png, png_const_charp msg)
{
    struct png_write_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_write_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static int png_encode(struct png_write_ctx *c, FILE *fp, const struct tensor *px,
                      const char *path)
{
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, c, png_write_fail,
                                              png_write_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return err_set("image.save: out of memory writing '%s'", path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return err_set("image.save: writing '%s' failed: %s", path, c->msg);
    }
    static const int ctypes[5] = {0, PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA,
                                  PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA};
    int64_t h = px->shape[0], rowbytes = px->shape[1] * px->shape[2];
    png_init_io(png, fp);
    png_set_IHDR(png, info, (png_uint_32)px->shape[1], (png_uint_32)h, 8,
                 ctypes[px->shape[2]], PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    for (int64_t y = 0; y < h; y++)
        c->rows[y] = tensor_u8(px) + y * rowbytes;
    png_set_rows(png, info, c->rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    return 0;
}

static int png_write(FILE *fp, const struct tensor *px, const char *path)
{
    struct png_write_ctx c = {.rows = malloc(sizeof(png_bytep) * (size_t)px->shape[0])};
    if (!c.rows)
        return err_set("image.save: out of memory writing '%s'", path);
    int rc = png_encode(&c, fp, px, path);
    free(c.rows);
    return rc;
}

/* ---- JPEG ---- */

struct jpeg_write_ctx {
    struct jpeg_error_mgr mgr; /* first, so the library's err pointer is the context */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
};

static void jpeg_write_fail(j_common_ptr j)
{
    struct jpeg_write_ctx *c = (struct jpeg_write_ctx *)j->err;
    j->err->format_message(j, c->msg);
    longjmp(c->jb, 1);
}

static int jpeg_write(FILE *fp, const struct tensor *px, const char *path, int quality)
{
    struct jpeg_write_ctx c;
    struct jpeg_compress_struct j;
    j.err = jpeg_std_error(&c.mgr);
    c.mgr.error_exit = jpeg_write_fail;
    if (setjmp(c.jb)) {
        jpeg_destroy_compress(&j);
        return err_set("image.save: writing '%s' failed: %s", path, c.msg);
    }
    jpeg_create_compress(&j);
    jpeg_stdio_dest(&j, fp);
    j.image_width = (JDIMENSION)px->shape[1];
    j.image_height = (JDIMENSION)px->shape[0];
    j.input_components = (int)px->shape[2];
    j.in_color_space = px->shape[2] == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&j);
    jpeg_set_quality(&j, quality, TRUE);
    jpeg_start_compress(&j, TRUE);
    size_t stride = (size_t)(px->shape[1] * px->shape[2]);
    while (j.next_scanline < j.image_height) {
        JSAMPROW row = tensor_u8(px) + (size_t)j.next_scanline * stride;
        jpeg_write_scanlines(&j, &row, 1);
    }
    jpeg_finish_compress(&j);
    jpeg_destroy_compress(&j);
    return 0;
}

/* ---- entry point ---- */

int img_save(const struct tensor *t, const char *path, const struct img_save_opts *o)
{
    static const struct img_save_opts defaults = {0};
    if (!o)
        o = &defaults;
    enum format f;
    if (format_of(path, &f) < 0)
        return -1;
    int quality = o->quality ? o->quality : JPEG_DEFAULT_QUALITY;
    if (f == FMT_JPEG && (quality < 1 || quality > 100))
        return err_set("image.save: JPEG quality must be in 1..100, got %d", quality);
    if (o->scale.has_range && !(isfinite(o->scale.lo) && isfinite(o->scale.hi)))
        return err_set("image.save: range must be two finite numbers");
    struct tensor *px = to_pixels(t, o);
    if (!px)
        return -1;
    int rc = -1;
    int64_t s = px->shape[2];
    struct atomic_file af;
    if (f == FMT_JPEG && (s == 2 || s == 4))
        err_set("image.save: JPEG cannot store an alpha channel (image %s); save it as .png",
                tshape(t));
    else if (af_open(&af, path, "image.save") == 0) {
        rc = f == FMT_PNG ? png_write(af.fp, px, path) : jpeg_write(af.fp, px, path, quality);
        if (rc == 0)
            rc = af_commit(&af, path, "image.save");
        else
            af_abort(&af);
    }
    tensor_release(px);
    return rc;
}
