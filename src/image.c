/* image.c — PNG and JPEG files to float32 [C, H, W] tensors (see image.h; writing is in
 * image_save.c).
 *
 * The whole file is read into memory first, so both decoders read from a buffer and the
 * only resources alive across their setjmp/longjmp error paths are the library structs and
 * one uint8 tensor, all reachable through a context object that the error path frees. The
 * decoders fill a uint8 [H, W, S] tensor (S = samples per pixel as stored: 1 gray, 2 gray +
 * alpha, 3 RGB, 4 RGBA); to_float() turns it into the [C, H, W] result. Decoded sizes go
 * through tensor_new, so a corrupt header claiming a gigantic image fails with loupe's
 * out-of-memory error instead of exhausting the machine. */
#include "loupe/image.h"

#include "loupe/core.h"
#include "data/data_util.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>
#include <png.h>

#define MSG_MAX 200

/* ---- whole file into memory ---- */

struct file_bytes {
    unsigned char *data;
    size_t size;
};

static int read_file(const char *path, struct file_bytes *fb)
{
    fb->data = NULL;
    fb->size = 0;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set("image.load: cannot open '%s': %s", path, strerror(errno));
    long n = -1;
    if (fseek(fp, 0, SEEK_END) == 0)
        n = ftell(fp);
    if (n < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return err_set("image.load: cannot read '%s': %s", path, strerror(errno));
    }
    fb->data = malloc(n > 0 ? (size_t)n : 1);
    if (!fb->data) {
        fclose(fp);
        return err_set("image.load: out of memory reading '%s' (%ld bytes)", path, n);
    }
    fb->size = fread(fb->data, 1, (size_t)n, fp);
    bool bad = fb->size != (size_t)n || ferror(fp);
    fclose(fp);
    if (bad) {
        free(fb->data);
        fb->data = NULL;
        return err_set("image.load: cannot read '%s': %s", path, strerror(errno));
    }
    return 0;
}

/* Re-raises the core's last error (tensor_new's out-of-memory) with the file and the size the
 * header claimed. */
static int fail_alloc(const char *path, const char *format, const int64_t *shape)
{
    char prev[256];
    snprintf(prev, sizeof prev, "%s", err_msg()); /* err_set writes over err_msg's buffer */
    return err_set("image.load: '%s' (%s %s): %s", path, format, shape_fmt(3, shape), prev);
}

/* Before anything is decoded: both the uint8 [H, W, S] pixels and the float32 [channels, H, W]
 * result must be within the allocation limit, so a header declaring a huge image fails at once
 * with the out-of-memory error naming that size. */
static int check_sizes(const char *path, const char *format, const int64_t *hws, int channels)
{
    int64_t chw[3] = {channels, hws[0], hws[1]};
    if (tensor_check_size(DT_UINT8, 3, hws) < 0)
        return fail_alloc(path, format, hws);
    if (tensor_check_size(DT_FLOAT32, 3, chw) < 0)
        return fail_alloc(path, format, hws);
    return 0;
}

/* ---- PNG ---- */

struct png_ctx {
    const char *path;
    int channels; /* of the result */
    const unsigned char *data;
    size_t size, pos;
    char msg[MSG_MAX];
    bool truncated;
    struct tensor *pixels; /* uint8 [H, W, S] */
    png_bytep *rows;
};

static void png_fail(png_structp png, png_const_charp msg)
{
    struct png_ctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void png_warn(png_structp png, png_const_charp msg) { (void)png, (void)msg; }

static void png_read_mem(png_structp png, png_bytep out, png_size_t n)
{
    struct png_ctx *c = png_get_io_ptr(png);
    if (n > c->size - c->pos) {
        c->truncated = true;
        png_error(png, "file is truncated");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

/* Decodes into c->pixels. Everything allocated is in *c, freed by the caller on failure. */
static int png_decode(struct png_ctx *c)
{
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, c, png_fail, png_warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return err_set("image.load: out of memory decoding '%s'", c->path);
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        if (c->truncated)
            return err_set("image.load: PNG file '%s' is truncated", c->path);
        return err_set("image.load: corrupt PNG file '%s': %s", c->path, c->msg);
    }
    png_set_read_fn(png, c, png_read_mem);
    png_read_info(png, info);
    png_uint_32 w, h;
    int depth, ctype, interlace;
    png_get_IHDR(png, info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    /* The pixels are deflate data inside the file, at least h rows of w * bits bits, and
     * deflate inflates at most 1032:1 (du_inflate_bound): a header claiming more than the
     * file can hold is refused before anything is allocated (libpng caps w and h at 10^6). */
    uint64_t bits = (uint64_t)depth * png_get_channels(png, info);
    if ((uint64_t)h * (((uint64_t)w * bits + 7) / 8) > du_inflate_bound(c->size)) {
        png_destroy_read_struct(&png, &info, NULL);
        return err_set("image.load: PNG file '%s' declares %lux%lu pixels, more than its %zu "
                       "bytes can hold (truncated or corrupt)", c->path, (unsigned long)w,
                       (unsigned long)h, c->size);
    }
    if (ctype == PNG_COLOR_TYPE_PALETTE)
        png_set_palette_to_rgb(png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8)
        png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_tRNS_to_alpha(png);
    if (depth == 16)
        png_set_strip_16(png); /* PIL keeps the high byte too */
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int64_t shape[3] = {h, w, png_get_channels(png, info)};
    if (png_get_rowbytes(png, info) != (size_t)(shape[1] * shape[2]))
        png_error(png, "unexpected row layout");
    if (check_sizes(c->path, "PNG", shape, c->channels) < 0) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    c->pixels = tensor_new(DT_UINT8, 3, shape);
    c->rows = c->pixels ? malloc(sizeof(png_bytep) * (h ? h : 1)) : NULL;
    if (!c->rows) {
        png_destroy_read_struct(&png, &info, NULL);
        if (!c->pixels)
            return fail_alloc(c->path, "PNG", shape);
        return err_set("image.load: out of memory decoding '%s'", c->path);
    }
    for (png_uint_32 y = 0; y < h; y++)
        c->rows[y] = tensor_u8(c->pixels) + (size_t)y * (size_t)(shape[1] * shape[2]);
    png_read_image(png, c->rows);
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

static struct tensor *png_load(const char *path, const struct file_bytes *fb, int channels)
{
    struct png_ctx c = {.path = path, .channels = channels, .data = fb->data, .size = fb->size};
    int rc = png_decode(&c);
    free(c.rows);
    if (rc < 0) {
        tensor_release(c.pixels);
        return NULL;
    }
    return c.pixels;
}

/* ---- JPEG ---- */

struct jpeg_ctx {
    struct jpeg_error_mgr mgr; /* first, so the library's err pointer is the context */
    jmp_buf jb;
    char msg[JMSG_LENGTH_MAX];
    bool truncated;
    struct tensor *pixels; /* uint8 [H, W, S] */
    unsigned char *row4;   /* one CMYK scanline */
};

static void jpeg_fail(j_common_ptr j)
{
    struct jpeg_ctx *c = (struct jpeg_ctx *)j->err;
    j->err->format_message(j, c->msg);
    longjmp(c->jb, 1);
}

/* libjpeg reports a truncated file only as a warning and pads the image with gray; PIL
 * raises "image file is truncated", and so do we. Other warnings (extraneous bytes and the
 * like) are ignored, as PIL ignores them. */
static void jpeg_message(j_common_ptr j, int level)
{
    if (level < 0 && j->err->msg_code == JWRN_JPEG_EOF) {
        struct jpeg_ctx *c = (struct jpeg_ctx *)j->err;
        c->truncated = true;
        longjmp(c->jb, 1);
    }
}

/* PIL's cmyk2rgb: R = (255 - C)(255 - K)/255 with C, K the ink amounts. Adobe's CMYK JPEGs
 * (the common kind) store 255 - ink. Rewrites the 4-sample row in place into 3 samples. */
static void cmyk_to_rgb(unsigned char *row, int64_t w, bool inverted)
{
    for (int64_t x = 0; x < w; x++) {
        const unsigned char *in = row + 4 * x;
        int k = inverted ? in[3] : 255 - in[3];
        unsigned char rgb[3];
        for (int i = 0; i < 3; i++) {
            int v = inverted ? in[i] : 255 - in[i];
            int t = v * k + 128; /* v*k/255 rounded, PIL's MULDIV255 */
            rgb[i] = (unsigned char)((t + (t >> 8)) >> 8);
        }
        memcpy(row + 3 * x, rgb, 3);
    }
}

static int jpeg_decode(struct jpeg_ctx *c, const char *path, const struct file_bytes *fb,
                       int channels)
{
    struct jpeg_decompress_struct j;
    j.err = jpeg_std_error(&c->mgr);
    c->mgr.error_exit = jpeg_fail;
    c->mgr.emit_message = jpeg_message;
    if (setjmp(c->jb)) {
        jpeg_destroy_decompress(&j);
        if (c->truncated)
            return err_set("image.load: JPEG file '%s' is truncated", path);
        return err_set("image.load: corrupt JPEG file '%s': %s", path, c->msg);
    }
    jpeg_create_decompress(&j);
    jpeg_mem_src(&j, fb->data, (unsigned long)fb->size);
    jpeg_read_header(&j, TRUE);
    bool cmyk = j.jpeg_color_space == JCS_CMYK || j.jpeg_color_space == JCS_YCCK;
    if (cmyk)
        j.out_color_space = JCS_CMYK;
    else if (j.num_components == 1)
        j.out_color_space = JCS_GRAYSCALE;
    else
        j.out_color_space = JCS_RGB;
    /* JPEG's compressed size bounds nothing (a few hundred bytes of progressive or
     * arithmetic-coded data may legally declare 65500 x 65500 pixels), so the declared size
     * is checked against the limit only, before libjpeg allocates its own buffers */
    jpeg_calc_output_dimensions(&j);
    int64_t declared[3] = {j.output_height, j.output_width, cmyk ? 3 : j.out_color_components};
    if (check_sizes(path, "JPEG", declared, channels) < 0) {
        jpeg_destroy_decompress(&j);
        return -1;
    }
    jpeg_start_decompress(&j);
    int64_t shape[3] = {j.output_height, j.output_width, cmyk ? 3 : j.output_components};
    c->pixels = tensor_new(DT_UINT8, 3, shape);
    if (cmyk && c->pixels)
        c->row4 = malloc((size_t)shape[1] * 4 + 1);
    if (!c->pixels || (cmyk && !c->row4)) {
        jpeg_destroy_decompress(&j);
        if (!c->pixels)
            return fail_alloc(path, "JPEG", shape);
        return err_set("image.load: out of memory decoding '%s'", path);
    }
    size_t stride = (size_t)(shape[1] * shape[2]);
    while (j.output_scanline < j.output_height) {
        unsigned char *dst = tensor_u8(c->pixels) + (size_t)j.output_scanline * stride;
        JSAMPROW row = cmyk ? c->row4 : dst;
        jpeg_read_scanlines(&j, &row, 1);
        if (cmyk) {
            cmyk_to_rgb(c->row4, shape[1], j.saw_Adobe_marker);
            memcpy(dst, c->row4, stride);
        }
    }
    jpeg_finish_decompress(&j);
    jpeg_destroy_decompress(&j);
    return 0;
}

static struct tensor *jpeg_load(const char *path, const struct file_bytes *fb, int channels)
{
    struct jpeg_ctx c = {.pixels = NULL};
    int rc = jpeg_decode(&c, path, fb, channels);
    free(c.row4);
    if (rc < 0) {
        tensor_release(c.pixels);
        return NULL;
    }
    return c.pixels;
}

/* ---- uint8 [H, W, S] -> float32 [channels, H, W] ---- */

static struct tensor *to_float(const struct tensor *px, int channels)
{
    int64_t h = px->shape[0], w = px->shape[1], s = px->shape[2], hw = h * w;
    int64_t shape[3] = {channels, h, w};
    struct tensor *out = tensor_new(DT_FLOAT32, 3, shape);
    if (!out)
        return NULL;
    const uint8_t *in = tensor_u8(px);
    float *o = tensor_f32(out);
    bool color = s >= 3; /* RGB or RGBA as stored; 1 or 2 samples are gray (+ alpha) */
    for (int64_t i = 0; i < hw; i++) {
        const uint8_t *p = in + i * s;
        float r = p[0] / 255.0f, g = p[color ? 1 : 0] / 255.0f, b = p[color ? 2 : 0] / 255.0f;
        if (channels == 1) {
            o[i] = color ? 0.2989f * r + 0.587f * g + 0.114f * b : r;
        } else {
            o[i] = r;
            o[hw + i] = g;
            o[2 * hw + i] = b;
        }
    }
    return out;
}

struct tensor *img_load(const char *path, int channels)
{
    if (channels != 1 && channels != 3) {
        err_set("image.load: channels must be 1 or 3, got %d", channels);
        return NULL;
    }
    struct file_bytes fb;
    if (read_file(path, &fb) < 0)
        return NULL;
    static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    struct tensor *px = NULL;
    if (fb.size >= 8 && memcmp(fb.data, png_sig, 8) == 0)
        px = png_load(path, &fb, channels);
    else if (fb.size >= 3 && fb.data[0] == 0xff && fb.data[1] == 0xd8 && fb.data[2] == 0xff)
        px = jpeg_load(path, &fb, channels);
    else
        err_set("image.load: '%s' is not a PNG or JPEG file", path);
    free(fb.data);
    if (!px)
        return NULL;
    struct tensor *out = to_float(px, channels);
    tensor_release(px);
    return out;
}
