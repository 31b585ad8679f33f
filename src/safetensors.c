/* safetensors.c — the safetensors reader and writer (format and guarantees: safetensors.h).
 *
 * The reader treats the file as hostile: it parses and validates the whole header into a
 * small array of entries first, and only then allocates tensors and reads their bytes with
 * pread at offsets already proven to lie inside the file. The writer builds the header with
 * json-c (which does the string escaping), then writes to a temporary file that is renamed
 * over the target once everything is on disk. */
#include "loupe/safetensors.h"

#include "loupe/atomic_file.h"

#include "loupe/core.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Tensor bytes are copied straight between file and storage, which is only right on a
 * little-endian host (every machine loupe targets). */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host"
#endif

/* ---- dtypes ---- */

/* Every dtype name the format defines, in upstream's enum order (safetensors tensor.rs),
 * which is also the order of increasing alignment: the writer sorts by descending position in
 * this table, as upstream does (of the dtypes loupe writes: I64, then F32, then U8). `ok` false
 * means known but not loadable here. */
struct st_dtype {
    const char *name;
    size_t size;
    enum dtype to; /* what it loads as */
    bool ok;
};

static const struct st_dtype ST_DTYPES[] = {
    {"BOOL", 1, DT_UINT8, true},
    {"F4", 1, DT_UINT8, false},
    {"F6_E2M3", 1, DT_UINT8, false},
    {"F6_E3M2", 1, DT_UINT8, false},
    {"U8", 1, DT_UINT8, true},
    {"I8", 1, DT_INT64, true},
    {"F8_E5M2", 1, DT_UINT8, false},
    {"F8_E4M3", 1, DT_UINT8, false},
    {"F8_E8M0", 1, DT_UINT8, false},
    {"I16", 2, DT_INT64, true},
    {"U16", 2, DT_INT64, true},
    {"F16", 2, DT_FLOAT32, true},
    {"BF16", 2, DT_FLOAT32, true},
    {"I32", 4, DT_INT64, true},
    {"U32", 4, DT_INT64, true},
    {"F32", 4, DT_FLOAT32, true},
    {"C64", 8, DT_FLOAT32, false},
    {"F64", 8, DT_FLOAT32, true},
    {"I64", 8, DT_INT64, true},
    {"U64", 8, DT_INT64, false},
};
#define N_ST_DTYPES ((int)(sizeof ST_DTYPES / sizeof ST_DTYPES[0]))

static int st_dtype_find(const char *name)
{
    for (int i = 0; i < N_ST_DTYPES; i++)
        if (strcmp(ST_DTYPES[i].name, name) == 0)
            return i;
    return -1;
}

/* The file dtype a loupe dtype is written as (index into ST_DTYPES). */
static int st_dtype_of(enum dtype dt)
{
    switch (dt) {
    case DT_FLOAT32: return st_dtype_find("F32");
    case DT_INT64: return st_dtype_find("I64");
    case DT_UINT8: return st_dtype_find("U8");
    }
    return -1;
}

/* ---- reading: header validation ---- */

/* One tensor entry of the header, validated. name points into the JSON tree. */
struct st_entry {
    const char *name;
    int dt; /* index into ST_DTYPES */
    int ndim;
    int64_t shape[TENSOR_MAXDIM];
    uint64_t begin, end;
};

/* State shared by the validation helpers: the file name for messages and the buffer size. */
struct st_ctx {
    const char *path;
    uint64_t buf_len; /* bytes after the header */
};

static const char *json_type_word(struct json_object *o)
{
    switch (json_object_get_type(o)) {
    case json_type_null: return "null";
    case json_type_boolean: return "a boolean";
    case json_type_double: return "a non-integer number";
    case json_type_int: return "an integer";
    case json_type_object: return "an object";
    case json_type_array: return "an array";
    case json_type_string: return "a string";
    }
    return "?";
}

/* A JSON integer >= 0 as uint64 (json-c keeps integers above INT64_MAX as uint64). */
static int json_nonneg(struct json_object *o, uint64_t *v)
{
    if (!json_object_is_type(o, json_type_int))
        return -1;
    int64_t s = json_object_get_int64(o);
    if (s < 0)
        return -1;
    *v = s == INT64_MAX ? json_object_get_uint64(o) : (uint64_t)s;
    return 0;
}

static int entry_dtype(const struct st_ctx *c, const char *name, struct json_object *e,
                       struct st_entry *out)
{
    struct json_object *o;
    if (!json_object_object_get_ex(e, "dtype", &o))
        return err_set("safetensors: tensor '%s' in '%s' has no \"dtype\"", name, c->path);
    if (!json_object_is_type(o, json_type_string))
        return err_set("safetensors: tensor '%s' in '%s': \"dtype\" is %s, expected a string",
                       name, c->path, json_type_word(o));
    const char *s = json_object_get_string(o);
    out->dt = st_dtype_find(s);
    if (out->dt < 0)
        return err_set("safetensors: tensor '%s' in '%s': unknown dtype '%.40s'", name, c->path,
                       s);
    if (!ST_DTYPES[out->dt].ok)
        return err_set("safetensors: tensor '%s' in '%s': dtype %s is not supported (loupe "
                       "reads F32, F16, BF16, F64, I64, I32, I16, I8, U32, U16, U8, BOOL)",
                       name, c->path, s);
    return 0;
}

static int entry_shape(const struct st_ctx *c, const char *name, struct json_object *e,
                       struct st_entry *out)
{
    struct json_object *o;
    if (!json_object_object_get_ex(e, "shape", &o))
        return err_set("safetensors: tensor '%s' in '%s' has no \"shape\"", name, c->path);
    if (!json_object_is_type(o, json_type_array))
        return err_set("safetensors: tensor '%s' in '%s': \"shape\" is %s, expected an array",
                       name, c->path, json_type_word(o));
    size_t nd = json_object_array_length(o);
    if (nd > TENSOR_MAXDIM)
        return err_set("safetensors: tensor '%s' in '%s' has %zu dimensions, at most %d are "
                       "supported", name, c->path, nd, TENSOR_MAXDIM);
    out->ndim = (int)nd;
    for (size_t d = 0; d < nd; d++) {
        struct json_object *v = json_object_array_get_idx(o, d);
        uint64_t u;
        if (json_nonneg(v, &u) < 0 || u > INT64_MAX)
            return err_set("safetensors: tensor '%s' in '%s': shape entry %zu is not a "
                           "non-negative integer (%.40s)", name, c->path, d,
                           json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        out->shape[d] = (int64_t)u;
    }
    return 0;
}

static int entry_offsets(const struct st_ctx *c, const char *name, struct json_object *e,
                         struct st_entry *out)
{
    struct json_object *o;
    if (!json_object_object_get_ex(e, "data_offsets", &o))
        return err_set("safetensors: tensor '%s' in '%s' has no \"data_offsets\"", name,
                       c->path);
    if (!json_object_is_type(o, json_type_array) || json_object_array_length(o) != 2
        || json_nonneg(json_object_array_get_idx(o, 0), &out->begin) < 0
        || json_nonneg(json_object_array_get_idx(o, 1), &out->end) < 0)
        return err_set("safetensors: tensor '%s' in '%s': \"data_offsets\" must be two "
                       "non-negative integers, got %.60s", name, c->path,
                       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    return 0;
}

/* numel * element size, or false if it overflows 63 bits. */
static bool entry_nbytes(const struct st_entry *en, uint64_t *nbytes)
{
    uint64_t n = ST_DTYPES[en->dt].size;
    for (int d = 0; d < en->ndim; d++) {
        uint64_t s = (uint64_t)en->shape[d];
        if (s != 0 && n > (uint64_t)INT64_MAX / s)
            return false;
        n *= s;
    }
    *nbytes = n;
    return true;
}

/* Cross-checks shape, dtype and offsets, and the offsets against the buffer. */
static int entry_check(const struct st_ctx *c, const struct st_entry *en)
{
    const char *name = en->name, *dt = ST_DTYPES[en->dt].name;
    uint64_t nbytes;
    if (!entry_nbytes(en, &nbytes))
        return err_set("safetensors: tensor '%s' in '%s': shape %s %s overflows", name, c->path,
                       shape_fmt(en->ndim, en->shape), dt);
    if (en->end < en->begin || en->end - en->begin != nbytes)
        return err_set("safetensors: tensor '%s' in '%s': data_offsets [%llu,%llu] do not match "
                       "shape %s %s (%llu bytes)", name, c->path, (unsigned long long)en->begin,
                       (unsigned long long)en->end, shape_fmt(en->ndim, en->shape), dt,
                       (unsigned long long)nbytes);
    if (en->end > c->buf_len)
        return err_set("safetensors: tensor '%s' in '%s': data_offsets [%llu,%llu] lie beyond "
                       "the end of the data (%llu bytes)", name, c->path,
                       (unsigned long long)en->begin, (unsigned long long)en->end,
                       (unsigned long long)c->buf_len);
    return 0;
}

static int entry_parse(const struct st_ctx *c, const char *name, struct json_object *e,
                       struct st_entry *out)
{
    out->name = name;
    if (!json_object_is_type(e, json_type_object))
        return err_set("safetensors: tensor '%s' in '%s' is described by %s, expected an "
                       "object", name, c->path, json_type_word(e));
    if (entry_dtype(c, name, e, out) < 0 || entry_shape(c, name, e, out) < 0
        || entry_offsets(c, name, e, out) < 0)
        return -1;
    return entry_check(c, out);
}

static int meta_check(const struct st_ctx *c, struct json_object *m)
{
    if (!json_object_is_type(m, json_type_object))
        return err_set("safetensors: \"__metadata__\" in '%s' is %s, expected an object of "
                       "strings", c->path, json_type_word(m));
    json_object_object_foreach(m, k, v) {
        if (!json_object_is_type(v, json_type_string))
            return err_set("safetensors: \"__metadata__\" entry '%s' in '%s' is %s, expected a "
                           "string", k, c->path, json_type_word(v));
    }
    return 0;
}

/* Validates every entry of the header object into *entries (malloc'd, *n of them). */
static int header_entries(const struct st_ctx *c, struct json_object *root,
                          struct st_entry **entries, int *n, struct json_object **meta)
{
    *entries = NULL;
    *n = 0;
    *meta = NULL;
    if (!json_object_is_type(root, json_type_object))
        return err_set("safetensors: the header of '%s' is %s, expected a JSON object", c->path,
                       json_type_word(root));
    int len = json_object_object_length(root);
    struct st_entry *es = calloc(len > 0 ? (size_t)len : 1, sizeof *es);
    if (!es)
        return err_set("safetensors: out of memory reading the header of '%s'", c->path);
    int k = 0;
    json_object_object_foreach(root, name, val) {
        if (strcmp(name, "__metadata__") == 0) {
            if (meta_check(c, val) < 0)
                goto fail;
            *meta = val;
        } else if (k >= len || entry_parse(c, name, val, &es[k++]) < 0) {
            goto fail;
        }
    }
    /* Overlapping entries are accepted, but not an amplification: a few KB of header naming
     * the same big range a thousand times must not make us allocate a thousand copies. */
    uint64_t total = 0;
    for (int i = 0; i < k; i++)
        total += es[i].end - es[i].begin; /* each <= buf_len < 2^63: no overflow for k < 2^31 */
    if (total > c->buf_len) {
        err_set("safetensors: the tensors in '%s' declare %llu bytes in total, more than the "
                "%llu bytes of data in the file (overlapping data_offsets?)", c->path,
                (unsigned long long)total, (unsigned long long)c->buf_len);
        goto fail;
    }
    *entries = es;
    *n = k;
    return 0;
fail:
    free(es);
    return -1;
}

/* ---- reading: bytes ---- */

/* Reads exactly n bytes at offset off; -1 with an error on failure or end of file. */
static int read_at(int fd, const char *path, void *buf, size_t n, uint64_t off)
{
    char *p = buf;
    while (n > 0) {
        size_t chunk = n < ((size_t)1 << 30) ? n : ((size_t)1 << 30);
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return err_set("safetensors: reading '%s' failed: %s", path, strerror(errno));
        if (r == 0)
            return err_set("safetensors: unexpected end of file in '%s' (was it truncated while "
                           "being read?)", path);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static float f16_to_f32(uint16_t h)
{
    float sign = (h & 0x8000) ? -1.0f : 1.0f;
    int exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0)
        return sign * ldexpf((float)mant, -24); /* zero and subnormals */
    if (exp == 31)
        return mant ? NAN : sign * INFINITY;
    return sign * ldexpf((float)(mant | 0x400), exp - 25);
}

static float bf16_to_f32(uint16_t h)
{
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* double -> float without the undefined behaviour of an out-of-range conversion. */
static float f64_to_f32(double v)
{
    if (isnan(v))
        return NAN;
    if (v > FLT_MAX)
        return INFINITY;
    if (v < -FLT_MAX)
        return -INFINITY;
    return (float)v;
}

/* Converts n elements of file dtype `name` at src (little-endian, any alignment: memcpy
 * loads) into dst, whose dtype is ST_DTYPES[..].to. One loop per dtype, chosen once. */
#define CONVERT_LOOP(TS, DST, EXPR)                                                        \
    do {                                                                                   \
        for (int64_t i = 0; i < n; i++) {                                                  \
            TS v;                                                                          \
            memcpy(&v, src + (size_t)i * sizeof(TS), sizeof(TS));                          \
            (DST)[i] = (EXPR);                                                             \
        }                                                                                  \
    } while (0)

static void convert(const char *name, const unsigned char *src, int64_t n, void *dst)
{
    float *f = dst;
    int64_t *l = dst;
    uint8_t *b = dst;
    if (!strcmp(name, "F16")) CONVERT_LOOP(uint16_t, f, f16_to_f32(v));
    else if (!strcmp(name, "BF16")) CONVERT_LOOP(uint16_t, f, bf16_to_f32(v));
    else if (!strcmp(name, "F64")) CONVERT_LOOP(double, f, f64_to_f32(v));
    else if (!strcmp(name, "I8")) CONVERT_LOOP(int8_t, l, v);
    else if (!strcmp(name, "I16")) CONVERT_LOOP(int16_t, l, v);
    else if (!strcmp(name, "U16")) CONVERT_LOOP(uint16_t, l, v);
    else if (!strcmp(name, "I32")) CONVERT_LOOP(int32_t, l, v);
    else if (!strcmp(name, "U32")) CONVERT_LOOP(uint32_t, l, v);
    else if (!strcmp(name, "BOOL")) CONVERT_LOOP(uint8_t, b, v != 0);
}

/* The tensor for one validated entry, its bytes read from the file. */
static struct tensor *entry_load(int fd, const struct st_ctx *c, uint64_t data_start,
                                 const struct st_entry *en)
{
    const struct st_dtype *sd = &ST_DTYPES[en->dt];
    struct tensor *t = tensor_new(sd->to, en->ndim, en->shape);
    if (!t) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", err_msg());
        err_set("safetensors: tensor '%s' in '%s': %s", en->name, c->path, msg);
        return NULL;
    }
    size_t nbytes = (size_t)(en->end - en->begin);
    bool native = strcmp(sd->name, "F32") == 0 || strcmp(sd->name, "I64") == 0
                  || strcmp(sd->name, "U8") == 0;
    if (nbytes == 0)
        return t;
    if (native) {
        if (read_at(fd, c->path, tensor_data(t), nbytes, data_start + en->begin) < 0)
            goto fail;
        return t;
    }
    /* other dtypes are converted a bounded chunk at a time: an F64 tensor would otherwise
     * need a buffer twice the size of its float32 result */
    enum { CHUNK = 1 << 16 };
    unsigned char *tmp = malloc(CHUNK * sd->size);
    if (!tmp) {
        err_set("safetensors: out of memory reading tensor '%s' in '%s'", en->name, c->path);
        goto fail;
    }
    int64_t numel = tensor_numel(t);
    size_t osize = dtype_size(t->dtype);
    for (int64_t i = 0; i < numel; i += CHUNK) {
        int64_t m = numel - i < CHUNK ? numel - i : CHUNK;
        if (read_at(fd, c->path, tmp, (size_t)m * sd->size,
                    data_start + en->begin + (uint64_t)i * sd->size) < 0) {
            free(tmp);
            goto fail;
        }
        convert(sd->name, tmp, m, (char *)tensor_data(t) + (size_t)i * osize);
    }
    free(tmp);
    return t;
fail:
    tensor_release(t);
    return NULL;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* Copies the metadata strings into f. */
static int fill_meta(const struct st_ctx *c, struct json_object *meta, struct st_file *f)
{
    if (!meta)
        return 0;
    int n = json_object_object_length(meta);
    f->meta_keys = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
    f->meta_vals = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
    if (!f->meta_keys || !f->meta_vals)
        return err_set("safetensors: out of memory reading the metadata of '%s'", c->path);
    json_object_object_foreach(meta, k, v) {
        if (f->nmeta >= n)
            break;
        f->meta_keys[f->nmeta] = dup_str(k);
        f->meta_vals[f->nmeta] = dup_str(json_object_get_string(v));
        f->nmeta++;
        if (!f->meta_keys[f->nmeta - 1] || !f->meta_vals[f->nmeta - 1])
            return err_set("safetensors: out of memory reading the metadata of '%s'", c->path);
    }
    return 0;
}

/* Allocates and reads every tensor of a validated header into f. */
static int fill_tensors(int fd, const struct st_ctx *c, uint64_t data_start,
                        const struct st_entry *es, int n, struct st_file *f)
{
    f->names = calloc(n > 0 ? (size_t)n : 1, sizeof(char *));
    f->tensors = calloc(n > 0 ? (size_t)n : 1, sizeof(struct tensor *));
    if (!f->names || !f->tensors)
        return err_set("safetensors: out of memory reading '%s'", c->path);
    for (int i = 0; i < n; i++) {
        f->count = i + 1;
        f->names[i] = dup_str(es[i].name);
        if (!f->names[i])
            return err_set("safetensors: out of memory reading '%s'", c->path);
        f->tensors[i] = entry_load(fd, c, data_start, &es[i]);
        if (!f->tensors[i])
            return -1;
    }
    return 0;
}

/* Parses the header bytes as strict JSON. Returns the tree (caller puts it) or NULL. */
static struct json_object *parse_header(const struct st_ctx *c, const char *buf, size_t n)
{
    struct json_tokener *tok = json_tokener_new_ex(64);
    if (!tok) {
        err_set("safetensors: out of memory parsing the header of '%s'", c->path);
        return NULL;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *root = json_tokener_parse_ex(tok, buf, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    /* The padding after the object may only be spaces (upstream pads with ' '). */
    while (root && end < n && (buf[end] == ' ' || buf[end] == '\t' || buf[end] == '\n'
                               || buf[end] == '\r'))
        end++;
    if (!root || end != n) {
        json_object_put(root);
        if (jerr == json_tokener_continue || (jerr == json_tokener_success && end >= n))
            err_set("safetensors: invalid JSON header in '%s': the JSON ends early", c->path);
        else if (jerr == json_tokener_success)
            err_set("safetensors: invalid JSON header in '%s': unexpected bytes after the "
                    "JSON at byte %zu", c->path, end);
        else
            err_set("safetensors: invalid JSON header in '%s': %s at byte %zu", c->path,
                    json_tokener_error_desc(jerr), end);
        return NULL;
    }
    return root;
}

/* Checks the 8-byte length field against the file size; returns the header length or -1. */
static int64_t header_length(int fd, const char *path, uint64_t file_size)
{
    unsigned char b[8];
    if (file_size < 8)
        return err_set("safetensors: truncated header in file '%s' (%llu bytes, the 8-byte "
                       "header length is missing)", path, (unsigned long long)file_size);
    if (read_at(fd, path, b, 8, 0) < 0)
        return -1;
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | b[i];
    if (n > file_size - 8)
        return err_set("safetensors: truncated header in file '%s': header length %llu exceeds "
                       "the %llu bytes that follow it", path, (unsigned long long)n,
                       (unsigned long long)(file_size - 8));
    if (n > ST_MAX_HEADER)
        return err_set("safetensors: header length %llu in '%s' is above the limit of %llu "
                       "bytes", (unsigned long long)n, path,
                       (unsigned long long)ST_MAX_HEADER);
    return (int64_t)n;
}

/* Reads and validates the header; then the tensors. fd is open on the file. */
static int read_fd(int fd, const char *path, uint64_t file_size, struct st_file *out)
{
    int64_t hlen = header_length(fd, path, file_size);
    if (hlen < 0)
        return -1;
    struct st_ctx c = {path, file_size - 8 - (uint64_t)hlen};
    char *hdr = malloc((size_t)hlen + 1);
    if (!hdr)
        return err_set("safetensors: out of memory reading the header of '%s'", path);
    struct json_object *root = NULL, *meta = NULL;
    struct st_entry *es = NULL;
    int n = 0, rc = -1;
    if (read_at(fd, path, hdr, (size_t)hlen, 8) < 0)
        goto done;
    hdr[hlen] = '\0';
    root = parse_header(&c, hdr, (size_t)hlen);
    if (!root || header_entries(&c, root, &es, &n, &meta) < 0)
        goto done;
    if (fill_meta(&c, meta, out) < 0 || fill_tensors(fd, &c, 8 + (uint64_t)hlen, es, n, out) < 0)
        goto done;
    rc = 0;
done:
    free(es);
    json_object_put(root);
    free(hdr);
    return rc;
}

int st_read(const char *path, struct st_file *out)
{
    memset(out, 0, sizeof *out);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set("safetensors: cannot open '%s': %s", path, strerror(errno));
    struct stat st;
    int rc = -1;
    if (fstat(fd, &st) < 0)
        err_set("safetensors: cannot stat '%s': %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        err_set("safetensors: '%s' is not a regular file", path);
    else
        rc = read_fd(fd, path, (uint64_t)st.st_size, out);
    close(fd);
    if (rc < 0)
        st_file_free(out);
    return rc;
}

void st_file_free(struct st_file *f)
{
    for (int i = 0; i < f->count; i++) {
        if (f->names)
            free(f->names[i]);
        if (f->tensors)
            tensor_release(f->tensors[i]);
    }
    for (int i = 0; i < f->nmeta; i++) {
        free(f->meta_keys[i]);
        free(f->meta_vals[i]);
    }
    free(f->names);
    free(f->tensors);
    free(f->meta_keys);
    free(f->meta_vals);
    memset(f, 0, sizeof *f);
}

struct tensor *st_find(const struct st_file *f, const char *name)
{
    for (int i = 0; i < f->count; i++)
        if (f->names[i] && strcmp(f->names[i], name) == 0)
            return f->tensors[i];
    return NULL;
}

/* ---- writing ---- */

/* A tensor to write, in the order it goes into the file. */
struct st_item {
    const char *name;
    struct tensor *t;
    int dt; /* index into ST_DTYPES */
};

/* Upstream order: descending dtype alignment (position in ST_DTYPES), then name bytes. */
static int item_cmp(const void *pa, const void *pb)
{
    const struct st_item *a = pa, *b = pb;
    if (a->dt != b->dt)
        return a->dt > b->dt ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int str_cmp(const void *pa, const void *pb)
{
    return strcmp(*(const char *const *)pa, *(const char *const *)pb);
}

/* Sorted copy of n strings in *out (malloc'd); -1 if two are equal (the duplicate in *dup). */
static int sorted_unique(int n, const char *const *s, const char ***out, const char **dup)
{
    *out = malloc((n > 0 ? (size_t)n : 1) * sizeof(char *));
    if (!*out)
        return err_set("safetensors: out of memory");
    if (n <= 0)
        return 0; /* s may be NULL, which memcpy and qsort do not accept even for 0 items */
    memcpy(*out, s, (size_t)n * sizeof(char *));
    qsort(*out, (size_t)n, sizeof(char *), str_cmp);
    for (int i = 1; i < n; i++)
        if (strcmp((*out)[i - 1], (*out)[i]) == 0) {
            *dup = (*out)[i];
            return -1;
        }
    return 0;
}

static int check_write_args(const char *path, int n, const char *const *names,
                            struct tensor *const *tensors, int nmeta,
                            const char *const *keys, const char *const *vals)
{
    if (n < 0 || nmeta < 0 || (n > 0 && (!names || !tensors))
        || (nmeta > 0 && (!keys || !vals)))
        return err_set("safetensors: invalid arguments writing '%s'", path);
    for (int i = 0; i < n; i++) {
        if (!names[i] || !tensors[i])
            return err_set("safetensors: missing name or tensor #%d writing '%s'", i + 1, path);
        if (strcmp(names[i], "__metadata__") == 0)
            return err_set("safetensors: a tensor cannot be called '__metadata__' (writing '%s')",
                           path);
    }
    for (int i = 0; i < nmeta; i++)
        if (!keys[i] || !vals[i])
            return err_set("safetensors: missing metadata key or value #%d writing '%s'", i + 1,
                           path);
    const char **sorted = NULL, *dup = NULL;
    int rc = sorted_unique(n, names, &sorted, &dup);
    if (rc < 0 && dup)
        err_set("safetensors: tensor name '%s' appears twice (writing '%s')", dup, path);
    free(sorted);
    if (rc < 0)
        return -1;
    return 0;
}

static struct json_object *json_shape(int ndim, const int64_t *v)
{
    struct json_object *a = json_object_new_array_ext(ndim);
    for (int d = 0; a && d < ndim; d++)
        if (json_object_array_add(a, json_object_new_int64(v[d])) < 0) {
            json_object_put(a);
            return NULL;
        }
    return a;
}

/* {"dtype":..,"shape":..,"data_offsets":[begin,end]} for one item. */
static struct json_object *json_entry(const struct st_item *it, uint64_t begin, uint64_t end)
{
    struct json_object *e = json_object_new_object();
    int64_t off[2] = {(int64_t)begin, (int64_t)end};
    struct json_object *shape = json_shape(it->t->ndim, it->t->shape);
    struct json_object *offs = json_shape(2, off);
    struct json_object *dt = json_object_new_string(ST_DTYPES[it->dt].name);
    if (!e || !shape || !offs || !dt) {
        json_object_put(e);
        json_object_put(shape);
        json_object_put(offs);
        json_object_put(dt);
        return NULL;
    }
    json_object_object_add(e, "dtype", dt);
    json_object_object_add(e, "shape", shape);
    json_object_object_add(e, "data_offsets", offs);
    return e;
}

static struct json_object *json_meta(int nmeta, const char *const *keys,
                                     const char *const *vals, const char *path)
{
    const char **sorted = NULL, *dup = NULL;
    struct json_object *m = NULL;
    if (sorted_unique(nmeta, keys, &sorted, &dup) < 0) {
        if (dup)
            err_set("safetensors: metadata key '%s' appears twice (writing '%s')", dup, path);
        goto done;
    }
    m = json_object_new_object();
    for (int i = 0; m && i < nmeta; i++) {
        /* find the value of sorted[i]: keys are few, a linear scan is fine */
        int j = 0;
        while (keys[j] != sorted[i])
            j++;
        json_object_object_add(m, sorted[i], json_object_new_string(vals[j]));
    }
    if (!m)
        err_set("safetensors: out of memory writing '%s'", path);
done:
    free(sorted);
    return m;
}

/* The padded header text for the items (in file order) and metadata; *total_data gets the
 * byte-buffer size. Returns a malloc'd string of length *len (a multiple of 8). */
static char *build_header(const char *path, int n, const struct st_item *items, int nmeta,
                          const char *const *keys, const char *const *vals, size_t *len)
{
    struct json_object *root = json_object_new_object();
    char *out = NULL;
    if (!root)
        goto oom;
    if (nmeta > 0) {
        struct json_object *m = json_meta(nmeta, keys, vals, path);
        if (!m)
            goto fail;
        json_object_object_add(root, "__metadata__", m);
    }
    uint64_t offset = 0;
    for (int i = 0; i < n; i++) {
        uint64_t nb = (uint64_t)tensor_numel(items[i].t) * ST_DTYPES[items[i].dt].size;
        struct json_object *e = json_entry(&items[i], offset, offset + nb);
        if (!e)
            goto oom;
        json_object_object_add(root, items[i].name, e);
        offset += nb;
    }
    const char *s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN
                                                          | JSON_C_TO_STRING_NOSLASHESCAPE);
    if (!s)
        goto oom;
    size_t sl = strlen(s), padded = (sl + 7) / 8 * 8;
    out = malloc(padded + 1);
    if (!out)
        goto oom;
    memcpy(out, s, sl);
    memset(out + sl, ' ', padded - sl);
    out[padded] = '\0';
    *len = padded;
    json_object_put(root);
    return out;
oom:
    err_set("safetensors: out of memory writing '%s'", path);
fail:
    json_object_put(root);
    return NULL;
}

/* Writes header and data to an open stream; -1 with an error naming `path`. */
static int write_stream(FILE *fp, const char *path, const char *hdr, size_t hlen, int n,
                        const struct st_item *items)
{
    unsigned char lenb[8];
    for (int i = 0; i < 8; i++)
        lenb[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (fwrite(lenb, 1, 8, fp) != 8 || fwrite(hdr, 1, hlen, fp) != hlen)
        return err_set("safetensors: writing '%s' failed: %s", path, strerror(errno));
    for (int i = 0; i < n; i++) {
        struct tensor *c = tensor_contiguous(items[i].t);
        if (!c)
            return -1;
        size_t nb = (size_t)tensor_numel(c) * dtype_size(c->dtype);
        size_t w = nb ? fwrite(tensor_data(c), 1, nb, fp) : 0;
        tensor_release(c);
        if (w != nb)
            return err_set("safetensors: writing '%s' failed: %s", path, strerror(errno));
    }
    return 0;
}

/* Writes to a fresh temporary next to path and renames it over path (atomic_file.h). */
static int write_atomic(const char *path, const char *hdr, size_t hlen, int n,
                        const struct st_item *items)
{
    struct atomic_file af;
    if (af_open(&af, path, "safetensors") < 0)
        return -1;
    if (write_stream(af.fp, af.tmp, hdr, hlen, n, items) < 0) {
        af_abort(&af);
        return -1;
    }
    return af_commit(&af, path, "safetensors");
}

int st_write(const char *path, int n, const char *const *names, struct tensor *const *tensors,
             int nmeta, const char *const *meta_keys, const char *const *meta_vals)
{
    if (check_write_args(path, n, names, tensors, nmeta, meta_keys, meta_vals) < 0)
        return -1;
    struct st_item *items = malloc((n > 0 ? (size_t)n : 1) * sizeof *items);
    if (!items)
        return err_set("safetensors: out of memory writing '%s'", path);
    for (int i = 0; i < n; i++)
        items[i] = (struct st_item){names[i], tensors[i], st_dtype_of(tensors[i]->dtype)};
    if (n > 0)
        qsort(items, (size_t)n, sizeof *items, item_cmp);
    size_t hlen = 0;
    char *hdr = build_header(path, n, items, nmeta, meta_keys, meta_vals, &hlen);
    int rc = hdr ? write_atomic(path, hdr, hlen, n, items) : -1;
    free(hdr);
    free(items);
    return rc;
}
