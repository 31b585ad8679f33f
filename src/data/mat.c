/* mat.c — MATLAB level-5 MAT files, the format of SVHN's train/test/extra_32x32.mat (data.h).
 *
 * Layout: a 128-byte header (text, subsystem offset, version 0x0100, endian indicator "IM" or
 * "MI"), then data elements. An element is an 8-byte tag (uint32 type, uint32 byte count) and
 * its data; inside an array, elements are padded to 8 bytes, and one of at most 4 bytes may
 * use the "small" format (type and count packed into the first 4 bytes, data in the next 4).
 * A variable is an miMATRIX element holding, in order, array flags (class, complex bit), the
 * dimensions, the name, and the real part (whose stored type may be narrower than the class:
 * MATLAB stores a double array of small integers as uint8). MATLAB 7 wraps each variable in an
 * miCOMPRESSED element: a zlib stream whose inflated bytes are the miMATRIX element.
 *
 * The file is mapped read-only (ds_read_mat_mem takes bytes already in memory, as the fuzz
 * target does) and read through a byte source (struct src) that is either a window of the
 * mapping or an inflate stream over one, so both kinds of element share one parser. Every
 * count is checked against what remains of its enclosing element before it is used: for a
 * mapped element that bounds it by the file; for a compressed one, the enclosing size was
 * itself bounded by the most its compressed bytes can inflate to (data_util.h), so no header
 * can make us allocate more than the file could hold. The parser never descends into
 * cells or structs, so its depth is fixed: top-level element, optional compression, array.
 * Unrequested variables are skipped without inflating their data. */
#include "loupe/data.h"

#include "loupe/core.h"
#include "data_util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "mat.c assumes a little-endian host"
#endif

/* data types (the mi* codes) and array classes (the mx* codes) of the format */
enum {
    MI_INT8 = 1, MI_UINT8 = 2, MI_INT16 = 3, MI_UINT16 = 4, MI_INT32 = 5, MI_UINT32 = 6,
    MI_SINGLE = 7, MI_DOUBLE = 9, MI_INT64 = 12, MI_UINT64 = 13, MI_MATRIX = 14,
    MI_COMPRESSED = 15
};
enum { MX_DOUBLE = 6, MX_SINGLE = 7, MX_UINT8 = 9, MX_UINT64 = 15 };
#define MAT_NAME_MAX 256 /* MATLAB names have at most 63 characters; longer ones match nothing */
#define MAT_SEEN_MAX 200 /* bytes of the "it holds: ..." list in the missing-variable error */

static int mi_size(uint32_t type)
{
    static const int sizes[14] = {0, 1, 1, 2, 2, 4, 4, 4, 0, 8, 0, 0, 8, 8};
    return type < 14 ? sizes[type] : 0;
}

static const char *mi_name(uint32_t type)
{
    static const char *names[14] = {"?", "int8", "uint8", "int16", "uint16", "int32", "uint32",
                                    "single", "?", "double", "?", "?", "int64", "uint64"};
    return type < 14 ? names[type] : "?";
}

static const char *mx_name(int cls)
{
    static const char *names[16] = {"an unknown kind of array", "a cell array", "a struct",
                                    "an object", "a char array", "a sparse array", "double",
                                    "single", "int8", "uint8", "int16", "uint16", "int32",
                                    "uint32", "int64", "uint64"};
    return cls >= 0 && cls < 16 ? names[cls] : names[0];
}

/* ---- the file and the requested variables ---- */

struct mat_ctx {
    const char *path;
    const unsigned char *base; /* the mapped file */
    uint64_t size;
    bool swap; /* big-endian file */
    int n;
    const char *const *names;
    struct tensor **out;
    char seen[MAT_SEEN_MAX]; /* names met so far, for the missing-variable message */
};

static uint32_t ld32(const struct mat_ctx *m, const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return m->swap ? __builtin_bswap32(v) : v;
}

static void note_seen(struct mat_ctx *m, const char *name)
{
    size_t len = strlen(m->seen), add = strlen(name);
    if (!name[0] || len + add + 3 > sizeof m->seen)
        return; /* the list only names what fits */
    if (len) {
        memcpy(m->seen + len, ", ", 2);
        len += 2;
    }
    memcpy(m->seen + len, name, add + 1);
}

/* ---- byte sources: a window of the mapping, or an inflate stream over one ---- */

struct src {
    struct mat_ctx *m;
    const unsigned char *p; /* mapped: the next byte */
    z_stream *z;            /* compressed: the stream (NULL when mapped) */
    uint64_t elem;          /* compressed: file offset of the element's tag */
    uint64_t pos;           /* compressed: bytes inflated so far */
};

/* Where the source is, for messages. */
static const char *src_where(const struct src *s, char *buf, size_t n)
{
    if (!s->z)
        snprintf(buf, n, "offset %llu", (unsigned long long)(s->p - s->m->base));
    else
        snprintf(buf, n, "offset %llu of the data inflated from the compressed element at "
                 "offset %llu", (unsigned long long)s->pos, (unsigned long long)s->elem);
    return buf;
}

/* Inflates exactly n bytes into dst (dst NULL: discards them). */
static int src_inflate(struct src *s, unsigned char *dst, uint64_t n, const char *what)
{
    unsigned char scratch[4096];
    char where[160];
    while (n > 0) {
        if (core_interrupted())
            return err_set("read_mat: interrupted");
        uint64_t room = dst ? n : (n < sizeof scratch ? n : sizeof scratch);
        s->z->next_out = dst ? dst : scratch;
        /* 16 MiB at a time (tens of ms), so Ctrl-C is polled while a large array inflates */
        s->z->avail_out = room < (1u << 24) ? (uInt)room : (1u << 24);
        uInt asked = s->z->avail_out;
        int rc = inflate(s->z, Z_NO_FLUSH);
        uInt got = asked - s->z->avail_out;
        if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR)
            return err_set("read_mat: corrupt compressed data in '%s' at %s (reading %s): %s",
                           s->m->path, src_where(s, where, sizeof where), what,
                           s->z->msg ? s->z->msg : zError(rc));
        s->pos += got;
        n -= got;
        if (dst)
            dst += got;
        if (n > 0 && (rc == Z_STREAM_END || got == 0))
            return err_set("read_mat: '%s' is truncated: the compressed element at offset %llu "
                           "ends after %llu inflated bytes, inside %s", s->m->path,
                           (unsigned long long)s->elem, (unsigned long long)s->pos, what);
    }
    return 0;
}

/* Reads exactly n bytes into dst (NULL: skips them). The caller has checked n against the
 * enclosing element, and a mapped element lies inside the file. (Whole arrays are never
 * skipped this way: the top level moves on by the element's size, unread.) */
static int src_read(struct src *s, void *dst, uint64_t n, const char *what)
{
    if (s->z)
        return src_inflate(s, dst, n, what);
    if (dst)
        memcpy(dst, s->p, n);
    s->p += n;
    return 0;
}

/* Inflates the rest of a compressed element, so that zlib checks the stream's Adler-32. */
static int src_finish(struct src *s)
{
    unsigned char scratch[4096];
    char where[160];
    for (;;) {
        s->z->next_out = scratch;
        s->z->avail_out = sizeof scratch;
        int rc = inflate(s->z, Z_NO_FLUSH);
        s->pos += sizeof scratch - s->z->avail_out;
        if (rc == Z_STREAM_END)
            return 0;
        if (rc == Z_BUF_ERROR && s->z->avail_in == 0)
            return err_set("read_mat: '%s' is truncated: the compressed element at offset %llu "
                           "ends before its zlib stream does", s->m->path,
                           (unsigned long long)s->elem);
        if (rc != Z_OK)
            return err_set("read_mat: corrupt compressed data in '%s' at %s: %s", s->m->path,
                           src_where(s, where, sizeof where), s->z->msg ? s->z->msg : zError(rc));
    }
}

/* ---- elements inside an array ---- */

/* A sub-element's tag, read and checked against the bytes left in its array (*left). */
struct sub {
    uint32_t type, nbytes;
    bool small;             /* small format: the data are in `data` */
    unsigned char data[4];
    uint64_t pad;           /* padding bytes after the data */
};

/* "variable 'X'", or "an array" while its name is not known yet. */
static const char *var_label(const char *var, char *buf, size_t n)
{
    if (!var)
        return "an array";
    snprintf(buf, n, "variable '%s'", var);
    return buf;
}

static int sub_tag(struct src *s, uint64_t *left, struct sub *e, const char *var,
                   const char *what)
{
    struct mat_ctx *m = s->m;
    char where[160], label[MAT_NAME_MAX + 16];
    src_where(s, where, sizeof where); /* the tag's position, for the messages below */
    if (*left < 8)
        return err_set("read_mat: '%s': %s of %s missing at %s (the array ends)", m->path,
                       what, var_label(var, label, sizeof label), where);
    unsigned char tag[8];
    if (src_read(s, tag, 8, what) < 0)
        return -1;
    *left -= 8;
    uint32_t w0 = ld32(m, tag);
    e->small = (w0 >> 16) != 0;
    if (e->small) {
        e->type = w0 & 0xffff;
        e->nbytes = w0 >> 16;
        e->pad = 0;
        memcpy(e->data, tag + 4, 4);
        if (e->nbytes > 4)
            return err_set("read_mat: '%s': %s of %s at %s has a small-format tag claiming %u "
                           "bytes (at most 4 fit)", m->path, what,
                           var_label(var, label, sizeof label), where, e->nbytes);
        return 0;
    }
    e->type = w0;
    e->nbytes = ld32(m, tag + 4);
    uint64_t padded = ((uint64_t)e->nbytes + 7) & ~(uint64_t)7;
    e->pad = padded - e->nbytes;
    if (padded > *left)
        return err_set("read_mat: '%s': %s of %s at %s claim %u bytes, but only %llu remain in "
                       "the array (truncated or corrupt)", m->path, what,
                       var_label(var, label, sizeof label), where, e->nbytes,
                       (unsigned long long)*left);
    *left -= padded;
    return 0;
}

/* Reads the first min(cap, nbytes) data bytes of e into dst and skips the rest and the
 * padding. */
static int sub_data(struct src *s, const struct sub *e, void *dst, uint64_t cap,
                    const char *what)
{
    uint64_t take = e->nbytes < cap ? e->nbytes : cap;
    if (e->small) {
        memcpy(dst, e->data, take);
        return 0;
    }
    if (src_read(s, dst, take, what) < 0)
        return -1;
    return src_read(s, NULL, e->nbytes - take + e->pad, what);
}

/* ---- numeric data ---- */

/* Element i of a stored array of type mi, as an integer (*is_int) or a double. */
static void load_value(const struct mat_ctx *m, uint32_t mi, const unsigned char *src,
                       int64_t i, int64_t *iv, double *dv, bool *is_int)
{
    int size = mi_size(mi);
    unsigned char b[8];
    for (int k = 0; k < size; k++)
        b[k] = src[(size_t)i * size + (m->swap ? size - 1 - k : k)];
    *is_int = true;
    switch (mi) {
    case MI_INT8: *iv = (int8_t)b[0]; break;
    case MI_UINT8: *iv = b[0]; break;
    case MI_INT16: { int16_t v; memcpy(&v, b, 2); *iv = v; break; }
    case MI_UINT16: { uint16_t v; memcpy(&v, b, 2); *iv = v; break; }
    case MI_INT32: { int32_t v; memcpy(&v, b, 4); *iv = v; break; }
    case MI_UINT32: { uint32_t v; memcpy(&v, b, 4); *iv = v; break; }
    case MI_INT64: { int64_t v; memcpy(&v, b, 8); *iv = v; break; }
    case MI_UINT64: {
        uint64_t v;
        memcpy(&v, b, 8);
        /* beyond int64: kept as a double, so int64 outputs reject it and floats round it */
        if (v > (uint64_t)INT64_MAX) {
            *is_int = false;
            *dv = (double)v;
        } else {
            *iv = (int64_t)v;
        }
        break;
    }
    case MI_SINGLE: { float v; memcpy(&v, b, 4); *dv = v; *is_int = false; break; }
    case MI_DOUBLE: { double v; memcpy(&v, b, 8); *dv = v; *is_int = false; break; }
    }
}

/* Converts n stored elements into t (whose dtype follows the MATLAB class), checking that each
 * fits: an integer class holds integers in its range. */
static int convert(const struct mat_ctx *m, const char *var, uint32_t mi, int cls,
                   const unsigned char *src, int64_t n, struct tensor *t)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t iv = 0;
        double dv = 0;
        bool is_int;
        load_value(m, mi, src, i, &iv, &dv, &is_int);
        if (t->dtype == DT_FLOAT32) {
            tensor_f32(t)[i] = is_int ? (float)iv : du_f64_to_f32(dv);
            continue;
        }
        bool ok = is_int || (dv == floor(dv) && dv >= -0x1p63 && dv < 0x1p63);
        int64_t v = is_int ? iv : ok ? (int64_t)dv : 0;
        if (ok && t->dtype == DT_UINT8)
            ok = v >= 0 && v <= 255;
        if (!ok)
            return err_set("read_mat: variable '%s' in '%s': element %lld (%g, stored as %s) "
                           "does not fit its class %s", var, m->path, (long long)i + 1,
                           is_int ? (double)iv : dv, mi_name(mi), mx_name(cls));
        if (t->dtype == DT_UINT8)
            tensor_u8(t)[i] = (uint8_t)v;
        else
            tensor_i64(t)[i] = v;
    }
    return 0;
}

/* Reads the real part e (already tagged) of variable var into a new tensor *t. */
static int read_real(struct src *s, const struct sub *e, const char *var, int cls, int ndim,
                     const int64_t *dims, struct tensor **t)
{
    struct mat_ctx *m = s->m;
    char where[160];
    int size = mi_size(e->type);
    if (size == 0)
        return err_set("read_mat: variable '%s' in '%s': its data at %s have type %u, not a "
                       "numeric type", var, m->path, src_where(s, where, sizeof where),
                       e->type);
    int64_t shape[TENSOR_MAXDIM];
    uint64_t numel = 1, nbytes = 0;
    bool fits = true;
    for (int d = 0; d < ndim; d++) {
        shape[d] = dims[ndim - 1 - d];
        fits = fits && du_mul(numel, (uint64_t)shape[d], &numel);
    }
    fits = fits && du_mul(numel, (uint64_t)size, &nbytes);
    if (!fits || nbytes != e->nbytes) {
        char need[32] = "over 2^63";
        if (fits)
            snprintf(need, sizeof need, "%llu", (unsigned long long)nbytes);
        return err_set("read_mat: variable '%s' in '%s': dimensions %s of %s need %s bytes of "
                       "data, but its data element at %s holds %u", var, m->path,
                       shape_fmt(ndim, dims), mi_name(e->type), need,
                       src_where(s, where, sizeof where), e->nbytes);
    }
    enum dtype dt = cls == MX_DOUBLE || cls == MX_SINGLE ? DT_FLOAT32
                  : cls == MX_UINT8 ? DT_UINT8 : DT_INT64;
    *t = tensor_new(dt, ndim, shape);
    if (!*t)
        return -1;
    if (e->type == MI_UINT8 && dt == DT_UINT8) /* SVHN's images: straight into the tensor */
        return sub_data(s, e, tensor_u8(*t), nbytes, "the array data");
    unsigned char *buf = malloc(nbytes ? nbytes : 1);
    if (!buf)
        return err_set("read_mat: out of memory reading variable '%s' of '%s'", var, m->path);
    int rc = sub_data(s, e, buf, nbytes, "the array data");
    if (rc == 0)
        rc = convert(m, var, e->type, cls, buf, (int64_t)numel, *t);
    free(buf);
    return rc;
}

/* The index of name among the requested variables, or -1. */
static int wanted(const struct mat_ctx *m, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (strcmp(m->names[i], name) == 0)
            return i;
    return -1;
}

/* Parses one miMATRIX element of `left` bytes (its tag already read). Keeps it in m->out if
 * it is requested (reading stops after the real part: an imaginary part is refused and
 * nothing else follows it). Returns 1 if kept, 0 if skipped, -1 on error. */
static int parse_matrix(struct src *s, uint64_t left)
{
    struct mat_ctx *m = s->m;
    if (left == 0)
        return 0; /* an empty array element, as MATLAB writes inside structs */
    struct sub e;
    unsigned char flags[8];
    if (sub_tag(s, &left, &e, NULL, "the array flags") < 0)
        return -1;
    if (e.type != MI_UINT32 || e.nbytes != 8) {
        char where[160];
        return err_set("read_mat: '%s': the array at %s does not start with array flags "
                       "(type %u, %u bytes; expected uint32, 8 bytes)", m->path,
                       src_where(s, where, sizeof where), e.type, e.nbytes);
    }
    if (sub_data(s, &e, flags, 8, "the array flags") < 0)
        return -1;
    uint32_t f = ld32(m, flags);
    int cls = f & 0xff;
    bool complex = f & 0x800;

    /* dimensions: kept up to TENSOR_MAXDIM; more only matter if the variable is requested */
    int32_t raw[TENSOR_MAXDIM];
    if (sub_tag(s, &left, &e, NULL, "the dimensions") < 0
        || sub_data(s, &e, raw, sizeof raw, "the dimensions") < 0)
        return -1;
    bool dims_ok = e.type == MI_INT32 && e.nbytes % 4 == 0 && e.nbytes >= 8
                   && e.nbytes <= 4 * TENSOR_MAXDIM;
    int ndim = (int)(e.nbytes / 4);
    int64_t dims[TENSOR_MAXDIM];
    for (int d = 0; dims_ok && d < ndim; d++) {
        dims[d] = (int32_t)ld32(m, (unsigned char *)&raw[d]);
        dims_ok = dims[d] >= 0;
    }

    char name[MAT_NAME_MAX + 1] = "";
    if (sub_tag(s, &left, &e, NULL, "the array name") < 0
        || sub_data(s, &e, name, MAT_NAME_MAX, "the array name") < 0)
        return -1;
    name[e.nbytes < MAT_NAME_MAX ? e.nbytes : MAT_NAME_MAX] = '\0';
    note_seen(m, name);
    int want = wanted(m, name);
    if (want < 0)
        return 0;

    if (cls < MX_DOUBLE || cls > MX_UINT64)
        return err_set("read_mat: variable '%s' in '%s' is %s, not a numeric array", name,
                       m->path, mx_name(cls));
    if (complex)
        return err_set("read_mat: variable '%s' in '%s' is complex; loupe reads real arrays "
                       "only", name, m->path);
    if (!dims_ok)
        return err_set("read_mat: variable '%s' in '%s' has invalid dimensions (%u bytes of "
                       "type %u; expected 2 to %d non-negative int32 sizes)", name, m->path,
                       e.nbytes, e.type, TENSOR_MAXDIM);
    struct tensor *t = NULL;
    if (sub_tag(s, &left, &e, name, "the array data") < 0
        || read_real(s, &e, name, cls, ndim, dims, &t) < 0) {
        tensor_release(t);
        return -1;
    }
    tensor_release(m->out[want]); /* a later variable of the same name wins */
    m->out[want] = t;
    return 1;
}

/* ---- top-level elements ---- */

/* An miCOMPRESSED element of nbytes at file offset off (tag included in neither). */
static int parse_compressed(struct mat_ctx *m, uint64_t off, uint64_t nbytes)
{
    z_stream z = {0};
    z.next_in = (unsigned char *)m->base + off + 8;
    z.avail_in = (uInt)nbytes; /* a uint32 count */
    if (inflateInit(&z) != Z_OK)
        return err_set("read_mat: out of memory reading '%s'", m->path);
    struct src s = {.m = m, .z = &z, .elem = off};
    unsigned char tag[8];
    int rc = src_read(&s, tag, 8, "the tag of the compressed element");
    uint32_t type = rc == 0 ? ld32(m, tag) : 0, inner = rc == 0 ? ld32(m, tag + 4) : 0;
    if (rc == 0 && type == MI_MATRIX) {
        if (inner > du_inflate_bound(nbytes))
            rc = err_set("read_mat: '%s': the compressed element at offset %llu claims an array "
                         "of %u bytes, more than its %llu compressed bytes can hold (corrupt)",
                         m->path, (unsigned long long)off, inner, (unsigned long long)nbytes);
        else
            rc = parse_matrix(&s, inner);
        if (rc == 1)
            rc = src_finish(&s);
    } /* anything else compressed (not written by MATLAB) is skipped */
    inflateEnd(&z);
    return rc < 0 ? -1 : 0;
}

static int parse_header(struct mat_ctx *m)
{
    const unsigned char *h = m->base;
    if (h[126] == 'I' && h[127] == 'M')
        m->swap = false;
    else if (h[126] == 'M' && h[127] == 'I')
        m->swap = true;
    else
        return err_set("read_mat: '%s' is not a MATLAB 5 MAT file (no endian indicator at "
                       "offset 126; a MATLAB 4 file?)", m->path);
    unsigned version = m->swap ? (unsigned)h[124] << 8 | h[125] : (unsigned)h[125] << 8 | h[124];
    if (version == 0x0200)
        return err_set("read_mat: '%s' is a MATLAB 7.3 (HDF5) MAT file; loupe reads MATLAB 5 "
                       "files (save it again with save -v7)", m->path);
    if (version != 0x0100)
        return err_set("read_mat: '%s': unknown MAT file version 0x%04x (expected 0x0100)",
                       m->path, version);
    return 0;
}

static int parse_file(struct mat_ctx *m)
{
    if (parse_header(m) < 0)
        return -1;
    uint64_t off = 128;
    while (off < m->size) {
        if (m->size - off < 8)
            return err_set("read_mat: '%s' is truncated: %llu stray bytes at offset %llu",
                           m->path, (unsigned long long)(m->size - off),
                           (unsigned long long)off);
        uint32_t type = ld32(m, m->base + off), nbytes = ld32(m, m->base + off + 4);
        if (type >> 16)
            return err_set("read_mat: '%s': corrupt element tag at offset %llu (type 0x%08x)",
                           m->path, (unsigned long long)off, type);
        if (nbytes > m->size - off - 8)
            return err_set("read_mat: '%s' is truncated: the element at offset %llu claims %u "
                           "bytes, but only %llu remain", m->path, (unsigned long long)off,
                           nbytes, (unsigned long long)(m->size - off - 8));
        if (type == MI_COMPRESSED) {
            if (parse_compressed(m, off, nbytes) < 0)
                return -1;
        } else if (type == MI_MATRIX) {
            struct src s = {.m = m, .p = m->base + off + 8};
            if (parse_matrix(&s, nbytes) < 0)
                return -1;
        } /* other top-level elements hold no variables */
        off += 8 + (uint64_t)nbytes;
    }
    for (int i = 0; i < m->n; i++)
        if (!m->out[i])
            return err_set("read_mat: '%s' has no variable '%s' (it holds: %s)", m->path,
                           m->names[i], m->seen[0] ? m->seen : "nothing");
    return 0;
}

static int too_short(const char *path, uint64_t size)
{
    return err_set("read_mat: '%s' is too short for a MAT file (%llu bytes; the header alone "
                   "has 128)", path, (unsigned long long)size);
}

int ds_read_mat_mem(const char *path, const void *data, uint64_t size, int n,
                    const char *const *names, struct tensor **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    if (size < 128)
        return too_short(path, size);
    struct mat_ctx m = {.path = path, .base = data, .size = size, .n = n, .names = names,
                        .out = out};
    int rc = parse_file(&m);
    if (rc < 0)
        for (int i = 0; i < n; i++) {
            tensor_release(out[i]);
            out[i] = NULL;
        }
    return rc;
}

int ds_read_mat(const char *path, int n, const char *const *names, struct tensor **out)
{
    for (int i = 0; i < n; i++)
        out[i] = NULL;
    uint64_t size;
    if (du_file_size("read_mat", path, &size) < 0)
        return -1;
    if (size < 128)
        return too_short(path, size);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set("read_mat: cannot open '%s': %s", path, strerror(errno));
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return err_set("read_mat: cannot map '%s': %s", path, strerror(errno));
    int rc = ds_read_mat_mem(path, map, size, n, names, out);
    munmap(map, size);
    return rc;
}
