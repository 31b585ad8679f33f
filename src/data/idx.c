/* idx.c — IDX files (MNIST, Fashion-MNIST, KMNIST), raw or gzip-compressed (data.h).
 *
 * Both kinds are read through zlib's gz* functions, which pass a file that is not gzip through
 * unchanged. The header is validated before anything is allocated: a raw file must hold
 * exactly the bytes its header implies; a gzip file cannot inflate to more than 1032 times its
 * size, so a header claiming more is rejected at once. The data are then read straight into
 * the tensor (uint8) or converted from big-endian in bounded chunks (other types). Reading one
 * byte past the data makes zlib check the gzip trailer (CRC and length) and shows trailing
 * bytes. */
#include "loupe/data.h"

#include "loupe/core.h"
#include "data_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

struct idx_type {
    uint8_t code;
    uint8_t size;
    enum dtype to;
    const char *name;
};

static const struct idx_type IDX_TYPES[] = {
    {0x08, 1, DT_UINT8, "unsigned byte"}, {0x09, 1, DT_INT64, "signed byte"},
    {0x0B, 2, DT_INT64, "int16"},         {0x0C, 4, DT_INT64, "int32"},
    {0x0D, 4, DT_FLOAT32, "float32"},     {0x0E, 8, DT_FLOAT32, "float64"},
};

static const struct idx_type *idx_type_find(uint8_t code)
{
    for (size_t i = 0; i < sizeof IDX_TYPES / sizeof IDX_TYPES[0]; i++)
        if (IDX_TYPES[i].code == code)
            return &IDX_TYPES[i];
    return NULL;
}

/* Reads exactly n bytes (or fails naming what was being read and where). */
static int gz_read_exact(gzFile gz, const char *path, void *dst, uint64_t n, uint64_t offset,
                         const char *what)
{
    unsigned char *p = dst;
    uint64_t done = 0;
    while (done < n) {
        if (core_interrupted())
            return err_set("read_idx: interrupted");
        uint64_t left = n - done;
        /* 16 MiB at a time (tens of ms), so Ctrl-C is polled while a large file inflates */
        unsigned chunk = left < (1u << 24) ? (unsigned)left : (1u << 24);
        int r = gzread(gz, p + done, chunk);
        if (r < 0) {
            int errnum;
            const char *msg = gzerror(gz, &errnum);
            return err_set("read_idx: corrupt compressed data in '%s' (reading %s, offset %llu "
                           "of the uncompressed data): %s", path, what,
                           (unsigned long long)(offset + done), msg);
        }
        if (r == 0)
            return err_set("read_idx: '%s' is truncated: %s ends after %llu of %llu bytes "
                           "(offset %llu of the %s data)", path, what,
                           (unsigned long long)done, (unsigned long long)n,
                           (unsigned long long)(offset + done),
                           gzdirect(gz) ? "file's" : "uncompressed");
        done += (uint64_t)r;
    }
    return 0;
}

/* Converts n big-endian elements of `type` at src into dst (int64 or float32). */
static void idx_convert(const struct idx_type *type, const unsigned char *src, int64_t n,
                        void *dst)
{
    int64_t *l = dst;
    float *f = dst;
    for (int64_t i = 0; i < n; i++) {
        const unsigned char *p = src + i * type->size;
        switch (type->code) {
        case 0x09: l[i] = (int8_t)p[0]; break;
        case 0x0B: l[i] = (int16_t)(uint16_t)(p[0] << 8 | p[1]); break;
        case 0x0C: l[i] = (int32_t)du_be32(p); break;
        case 0x0D: {
            uint32_t u = du_be32(p);
            memcpy(&f[i], &u, 4);
            break;
        }
        case 0x0E: {
            uint64_t u = (uint64_t)du_be32(p) << 32 | du_be32(p + 4);
            double d;
            memcpy(&d, &u, 8);
            f[i] = du_f64_to_f32(d);
            break;
        }
        }
    }
}

/* Reads the data (numel elements) into t, converting in chunks for the wider types. */
static int idx_read_data(gzFile gz, const char *path, const struct idx_type *type,
                         struct tensor *t, uint64_t header)
{
    int64_t numel = tensor_numel(t);
    if (type->to == DT_UINT8)
        return gz_read_exact(gz, path, tensor_u8(t), (uint64_t)numel, header, "the data");
    enum { CHUNK = 1 << 16 };
    unsigned char *buf = malloc((size_t)CHUNK * type->size);
    if (!buf)
        return err_set("read_idx: out of memory reading '%s'", path);
    unsigned char *out = tensor_data(t);
    size_t osize = dtype_size(t->dtype);
    int rc = 0;
    for (int64_t i = 0; i < numel && rc == 0; i += CHUNK) {
        int64_t m = numel - i < CHUNK ? numel - i : CHUNK;
        rc = gz_read_exact(gz, path, buf, (uint64_t)m * type->size,
                           header + (uint64_t)i * type->size, "the data");
        if (rc == 0)
            idx_convert(type, buf, m, out + (size_t)i * osize);
    }
    free(buf);
    return rc;
}

/* Checks that nothing follows the data (and, for gzip, that the trailer is intact). */
static int idx_check_end(gzFile gz, const char *path, uint64_t end)
{
    unsigned char b;
    int r = gzread(gz, &b, 1);
    if (r < 0) {
        int errnum;
        const char *msg = gzerror(gz, &errnum);
        return err_set("read_idx: corrupt compressed data in '%s' after the data (offset %llu "
                       "of the uncompressed data): %s", path, (unsigned long long)end, msg);
    }
    if (r > 0)
        return err_set("read_idx: '%s' has extra bytes after the data its header declares "
                       "(from offset %llu of the %s data)", path, (unsigned long long)end,
                       gzdirect(gz) ? "file's" : "uncompressed");
    /* a gzip stream cut short after its data (in the end of the deflate stream or in the CRC
     * and length trailer) is no read error for zlib: gzread returns 0 and gzerror says
     * Z_BUF_ERROR */
    int errnum;
    gzerror(gz, &errnum);
    if (errnum == Z_BUF_ERROR)
        return err_set("read_idx: '%s' is truncated: its gzip stream stops after the data, "
                       "before its end and CRC check", path);
    return 0;
}

/* Parses the header: type and shape, and checks the data size against the file size. */
static int idx_header(gzFile gz, const char *path, uint64_t file_size,
                      const struct idx_type **type, int *ndim, int64_t *shape)
{
    unsigned char magic[4];
    if (gz_read_exact(gz, path, magic, 4, 0, "the magic number") < 0)
        return -1;
    *type = idx_type_find(magic[2]);
    if (magic[0] != 0 || magic[1] != 0 || !*type)
        return err_set("read_idx: '%s' is not an IDX file (magic bytes %02x %02x %02x %02x; "
                       "expected 00 00, a type code 08 09 0b 0c 0d or 0e, and a dimension "
                       "count)", path, magic[0], magic[1], magic[2], magic[3]);
    *ndim = magic[3];
    if (*ndim < 1 || *ndim > TENSOR_MAXDIM)
        return err_set("read_idx: '%s' declares %d dimensions (expected 1 to %d)", path, *ndim,
                       TENSOR_MAXDIM);
    unsigned char dims[4 * TENSOR_MAXDIM];
    if (gz_read_exact(gz, path, dims, 4 * (uint64_t)*ndim, 4, "the dimensions") < 0)
        return -1;
    uint64_t numel = 1;
    bool overflow = false;
    for (int d = 0; d < *ndim; d++) {
        shape[d] = du_be32(dims + 4 * d);
        overflow = overflow || !du_mul(numel, (uint64_t)shape[d], &numel);
    }
    uint64_t header = 4 + 4 * (uint64_t)*ndim, nbytes = 0;
    overflow = overflow || !du_mul(numel, (*type)->size, &nbytes);
    if (gzdirect(gz)) {
        uint64_t held = file_size > header ? file_size - header : 0;
        char want[32] = "over 2^63";
        if (!overflow)
            snprintf(want, sizeof want, "%llu", (unsigned long long)nbytes);
        if (overflow || nbytes != held)
            return err_set("read_idx: '%s' declares %s %s elements (%s bytes of data), but the "
                           "file holds %llu bytes after its %llu-byte header (truncated or "
                           "corrupt?)", path, shape_fmt(*ndim, shape), (*type)->name, want,
                           (unsigned long long)held, (unsigned long long)header);
    } else if (overflow || nbytes > du_inflate_bound(file_size)) {
        return err_set("read_idx: '%s' declares %s %s elements, more data than a %llu-byte "
                       "gzip file can hold (corrupt header?)", path, shape_fmt(*ndim, shape),
                       (*type)->name, (unsigned long long)file_size);
    }
    return 0;
}

/* The reader; `images`: a 3-D file [N, H, W] is allocated as [N, 1, H, W]. */
static struct tensor *read_idx(const char *path, bool images)
{
    uint64_t file_size;
    if (du_file_size("read_idx", path, &file_size) < 0)
        return NULL;
    gzFile gz = gzopen(path, "rb");
    if (!gz) {
        err_set("read_idx: cannot open '%s'", path);
        return NULL;
    }
    gzbuffer(gz, 1 << 17);
    const struct idx_type *type = NULL;
    int ndim = 0;
    int64_t shape[TENSOR_MAXDIM];
    struct tensor *t = NULL;
    if (idx_header(gz, path, file_size, &type, &ndim, shape) < 0)
        goto fail;
    if (images && ndim == 3) { /* same bytes, with the channel dimension */
        int64_t nchw[4] = {shape[0], 1, shape[1], shape[2]};
        t = tensor_new(type->to, 4, nchw);
    } else {
        t = tensor_new(type->to, ndim, shape);
    }
    if (!t)
        goto fail;
    uint64_t header = 4 + 4 * (uint64_t)ndim;
    if (idx_read_data(gz, path, type, t, header) < 0
        || idx_check_end(gz, path, header + (uint64_t)tensor_numel(t) * type->size) < 0)
        goto fail;
    gzclose_r(gz);
    return t;
fail:
    tensor_release(t);
    gzclose_r(gz);
    return NULL;
}

struct tensor *ds_read_idx(const char *path) { return read_idx(path, false); }
struct tensor *ds_read_idx_images(const char *path) { return read_idx(path, true); }
