/* test_safetensors.c — the safetensors reader and writer: round trips of every dtype and
 * layout, byte-exact agreement with the upstream serializer, one test per kind of malformed
 * file (each checking the message), a mutation sweep for crashes, and the real SqueezeNet 1.1
 * weights kept in datasets/weights/. Fixture files are made in a fresh temporary folder. */
#include "check.h"

#include "loupe/safetensors.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int setup_dir(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/loupe_st_XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[512];
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
            if (remove(p) != 0)
                return -1;
        }
    }
    if (d)
        closedir(d);
    return rmdir(tmpdir);
}

/* Path of a fixture in the temporary folder (a rotating static buffer). */
static const char *fx(const char *name)
{
    static char bufs[4][512];
    static int next;
    char *b = bufs[next++ & 3];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

static void write_bytes(const char *path, const void *bytes, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* A file with the given header length field, header text and data bytes. */
static void write_st_n(const char *path, uint64_t hlen, const char *json, size_t jl,
                       const void *data, size_t ndata)
{
    unsigned char *b = malloc(8 + jl + ndata + 1);
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, json, jl);
    if (data && ndata)
        memcpy(b + 8 + jl, data, ndata);
    write_bytes(path, b, 8 + jl + ndata);
    free(b);
}

static void write_st(const char *path, uint64_t hlen, const char *json, const void *data,
                     size_t ndata)
{
    write_st_n(path, hlen, json, strlen(json), data, ndata);
}

/* A well-formed file: header length = strlen(json). */
static void write_ok(const char *path, const char *json, const void *data, size_t ndata)
{
    write_st(path, strlen(json), json, data, ndata);
}

static unsigned char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n + 1);
    assert_int_equal(fread(b, 1, *n, f), *n);
    fclose(f);
    b[*n] = 0;
    return b;
}

/* st_read fails and the message contains `want`; the struct is left empty. */
static void expect_error(const char *path, const char *want)
{
    struct st_file f;
    int rc = st_read(path, &f);
    if (rc == 0 || !strstr(err_msg(), want))
        fail_msg("st_read('%s') rc=%d, message \"%s\", wanted \"%s\"", path, rc, err_msg(), want);
    assert_int_equal(f.count, 0);
    assert_null(f.tensors);
    assert_int_equal(f.nmeta, 0);
}

static void expect_same(const struct tensor *a, const struct tensor *b)
{
    assert_int_equal(a->dtype, b->dtype);
    assert_int_equal(a->ndim, b->ndim);
    for (int d = 0; d < a->ndim; d++)
        assert_int_equal(a->shape[d], b->shape[d]);
    for (int64_t i = 0; i < tensor_numel(a); i++)
        if (tensor_get_flat(a, i) != tensor_get_flat(b, i))
            fail_msg("element %lld: %g vs %g", (long long)i, tensor_get_flat(a, i),
                     tensor_get_flat(b, i));
}

static struct tensor *make(enum dtype dt, int ndim, const int64_t *shape, double base)
{
    struct tensor *t = tensor_new(dt, ndim, shape);
    assert_non_null(t);
    int64_t n = tensor_numel(t);
    for (int64_t i = 0; i < n; i++) {
        double v = base + (double)i * 1.5;
        switch (dt) {
        case DT_FLOAT32: tensor_f32(t)[i] = (float)v; break;
        case DT_INT64: tensor_i64(t)[i] = (int64_t)v * 1000000007LL - 5; break;
        case DT_UINT8: tensor_u8(t)[i] = (uint8_t)(i * 37 + 1); break;
        }
    }
    return t;
}

/* ---- round trips ---- */

static void test_roundtrip_dtypes(void **state)
{
    int64_t s1[2] = {2, 3}, s2[1] = {4}, s3[3] = {5, 1, 2};
    struct tensor *ts[3] = {make(DT_FLOAT32, 2, s1, -2.25), make(DT_INT64, 1, s2, -3),
                            make(DT_UINT8, 3, s3, 0)};
    const char *names[3] = {"w", "labels", "img"};
    const char *keys[2] = {"format", "epoch"}, *vals[2] = {"pt", "12"};
    assert_int_equal(st_write(fx("rt.st"), 3, names, ts, 2, keys, vals), 0);
    struct st_file f;
    assert_int_equal(st_read(fx("rt.st"), &f), 0);
    assert_int_equal(f.count, 3);
    for (int i = 0; i < 3; i++) {
        struct tensor *t = st_find(&f, names[i]);
        assert_non_null(t);
        expect_same(t, ts[i]);
        assert_false(t->requires_grad);
        tensor_release(ts[i]);
    }
    assert_null(st_find(&f, "nope"));
    assert_int_equal(f.nmeta, 2);
    /* metadata keys come back sorted */
    assert_string_equal(f.meta_keys[0], "epoch");
    assert_string_equal(f.meta_vals[0], "12");
    assert_string_equal(f.meta_keys[1], "format");
    assert_string_equal(f.meta_vals[1], "pt");
    st_file_free(&f);
    assert_int_equal(f.count, 0);
    st_file_free(&f); /* idempotent */
}

static void test_roundtrip_noncontiguous(void **state)
{
    int64_t s[2] = {3, 4};
    struct tensor *base = make(DT_FLOAT32, 2, s, 1);
    /* transpose: [4,3] with strides (1,4) */
    int64_t ts[2] = {4, 3}, tst[2] = {1, 4};
    struct tensor *tr = tensor_alias(base, 2, ts, tst, 0);
    /* every other column of row 1..2, offset view: [2,2] strides (4,2), offset 4 */
    int64_t vs[2] = {2, 2}, vst[2] = {4, 2};
    struct tensor *sub = tensor_alias(base, 2, vs, vst, 4);
    /* broadcast view: a [1,4] row expanded to [3,4] with stride 0 */
    int64_t es[2] = {3, 4}, est[2] = {0, 1};
    struct tensor *ex = tensor_alias(base, 2, es, est, 8);
    struct tensor *in[3] = {tr, sub, ex};
    const char *names[3] = {"tr", "sub", "ex"};
    assert_int_equal(st_write(fx("nc.st"), 3, names, in, 0, NULL, NULL), 0);
    struct st_file f;
    assert_int_equal(st_read(fx("nc.st"), &f), 0);
    for (int i = 0; i < 3; i++) {
        struct tensor *t = st_find(&f, names[i]);
        assert_non_null(t);
        assert_true(tensor_is_contiguous(t));
        expect_same(t, in[i]);
        tensor_release(in[i]);
    }
    assert_float_equal(tensor_get_flat(st_find(&f, "tr"), 1), 1 + 4 * 1.5, 0);
    st_file_free(&f);
    tensor_release(base);
}

static void test_roundtrip_scalar_and_empty(void **state)
{
    int64_t e1[2] = {0, 5}, e2[3] = {3, 0, 2}, e3[1] = {0};
    /* (a 0-d tensor made with a non-NULL shape pointer: tensor_scalar passes NULL to memcpy,
     * which UBSan reports) */
    struct tensor *ts[4] = {tensor_new(DT_FLOAT32, 0, e1), tensor_new(DT_FLOAT32, 2, e1),
                            tensor_new(DT_INT64, 3, e2), tensor_new(DT_UINT8, 1, e3)};
    const char *names[4] = {"scalar", "empty_f", "empty_l", "empty_b"};
    tensor_f32(ts[0])[0] = 3.5f;
    assert_int_equal(st_write(fx("se.st"), 4, names, ts, 0, NULL, NULL), 0);
    struct st_file f;
    assert_int_equal(st_read(fx("se.st"), &f), 0);
    assert_int_equal(f.count, 4);
    for (int i = 0; i < 4; i++) {
        expect_same(st_find(&f, names[i]), ts[i]);
        tensor_release(ts[i]);
    }
    assert_int_equal(st_find(&f, "scalar")->ndim, 0);
    assert_float_equal(tensor_f32(st_find(&f, "scalar"))[0], 3.5, 0);
    st_file_free(&f);
}

static void test_roundtrip_nothing(void **state)
{
    assert_int_equal(st_write(fx("none.st"), 0, NULL, NULL, 0, NULL, NULL), 0);
    struct st_file f;
    assert_int_equal(st_read(fx("none.st"), &f), 0);
    assert_int_equal(f.count, 0);
    assert_int_equal(f.nmeta, 0);
    st_file_free(&f);
}

/* ---- agreement with the upstream serializer (test vectors of safetensors' tensor.rs) ---- */

static void test_upstream_bytes(void **state)
{
    float v[6] = {0, 1, 2, 3, 4, 5};
    int64_t s[3] = {1, 2, 3};
    struct tensor *t = tensor_from_f32(3, s, v);
    const char *name = "attn.0";
    assert_int_equal(st_write(fx("up.st"), 1, &name, &t, 0, NULL, NULL), 0);
    size_t n;
    unsigned char *b = read_all(fx("up.st"), &n);
    const char *hdr = "{\"attn.0\":{\"dtype\":\"F32\",\"shape\":[1,2,3],\"data_offsets\":[0,24]}}";
    assert_int_equal(n, 8 + 64 + 24);
    assert_int_equal(b[0], 64);
    assert_memory_equal(b + 8, hdr, strlen(hdr)); /* 64 bytes exactly, no padding */
    assert_memory_equal(b + 72, v, 24);
    free(b);
    tensor_release(t);

    assert_int_equal(st_write(fx("up0.st"), 0, NULL, NULL, 0, NULL, NULL), 0);
    b = read_all(fx("up0.st"), &n);
    assert_int_equal(n, 16);
    assert_memory_equal(b, "\x08\0\0\0\0\0\0\0{}      ", 16);
    free(b);

    const char *k = "framework", *val = "pt";
    assert_int_equal(st_write(fx("up1.st"), 0, NULL, NULL, 1, &k, &val), 0);
    b = read_all(fx("up1.st"), &n);
    assert_int_equal(n, 48);
    assert_int_equal(b[0], 40);
    assert_memory_equal(b + 8, "{\"__metadata__\":{\"framework\":\"pt\"}}     ", 40);
    free(b);
}

/* Order in the buffer: I64, F32, U8 (descending alignment), then by name; each tensor's data
 * starts at a multiple of its element size from the start of the file. */
static void test_write_order_and_alignment(void **state)
{
    int64_t s[1] = {3};
    struct tensor *ts[5] = {make(DT_UINT8, 1, s, 0), make(DT_FLOAT32, 1, s, 0),
                            make(DT_INT64, 1, s, 0), make(DT_FLOAT32, 1, s, 0),
                            make(DT_INT64, 1, s, 0)};
    const char *names[5] = {"a_u8", "z_f32", "m_i64", "b_f32", "x/\"quoted\"\\é"};
    assert_int_equal(st_write(fx("ord.st"), 5, names, ts, 0, NULL, NULL), 0);
    size_t n;
    unsigned char *b = read_all(fx("ord.st"), &n);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | b[i];
    assert_int_equal(hlen % 8, 0);
    const char *h = (const char *)b + 8;
    const char *p_m = strstr(h, "\"m_i64\""), *p_x = strstr(h, "\"x/\\\"quoted\\\"\\\\é\"");
    const char *p_b = strstr(h, "\"b_f32\""), *p_z = strstr(h, "\"z_f32\"");
    const char *p_a = strstr(h, "\"a_u8\"");
    assert_true(p_m && p_x && p_b && p_z && p_a);
    assert_true(p_m < p_x && p_x < p_b && p_b < p_z && p_z < p_a);
    assert_non_null(strstr(h, "\"m_i64\":{\"dtype\":\"I64\",\"shape\":[3],\"data_offsets\":[0,24]}"));
    assert_non_null(strstr(h, "\"a_u8\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[72,75]}"));
    free(b);
    struct st_file f;
    assert_int_equal(st_read(fx("ord.st"), &f), 0);
    for (int i = 0; i < 5; i++) {
        expect_same(st_find(&f, names[i]), ts[i]);
        tensor_release(ts[i]);
    }
    st_file_free(&f);
}

/* ---- atomic writing ---- */

static int count_files(void)
{
    DIR *d = opendir(tmpdir);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_write_atomic(void **state)
{
    int before = count_files();
    int64_t s[1] = {4};
    struct tensor *t = make(DT_FLOAT32, 1, s, 7), *u = make(DT_FLOAT32, 1, s, 9);
    const char *name = "p";
    assert_int_equal(st_write(fx("at.st"), 1, &name, &t, 0, NULL, NULL), 0);
    assert_int_equal(count_files(), before + 1); /* no temporary left behind */
    struct stat st;
    assert_int_equal(stat(fx("at.st"), &st), 0);
    mode_t um = umask(0);
    umask(um);
    assert_int_equal(st.st_mode & 0777, 0666 & ~um); /* not mkstemp's 0600 */

    /* overwrite: the new content replaces the old */
    assert_int_equal(st_write(fx("at.st"), 1, &name, &u, 0, NULL, NULL), 0);
    struct st_file f;
    assert_int_equal(st_read(fx("at.st"), &f), 0);
    expect_same(st_find(&f, "p"), u);
    st_file_free(&f);

    /* a failing write leaves the old file untouched and no temporary */
    const char *dup[2] = {"p", "p"};
    struct tensor *two[2] = {t, t};
    assert_int_equal(st_write(fx("at.st"), 2, dup, two, 0, NULL, NULL), -1);
    assert_non_null(strstr(err_msg(), "tensor name 'p' appears twice"));
    assert_int_equal(count_files(), before + 1);
    assert_int_equal(st_read(fx("at.st"), &f), 0);
    expect_same(st_find(&f, "p"), u);
    st_file_free(&f);
    tensor_release(t);
    tensor_release(u);
}

static void test_write_errors(void **state)
{
    int64_t s[1] = {2};
    struct tensor *t = make(DT_FLOAT32, 1, s, 0);
    const char *name = "w";
    assert_int_equal(st_write(fx("nodir/x.st"), 1, &name, &t, 0, NULL, NULL), -1);
    assert_non_null(strstr(err_msg(), "cannot create a temporary file next to '"));
    assert_non_null(strstr(err_msg(), "nodir/x.st'"));
    assert_non_null(strstr(err_msg(), "No such file or directory"));

    const char *meta = "__metadata__";
    assert_int_equal(st_write(fx("e.st"), 1, &meta, &t, 0, NULL, NULL), -1);
    assert_non_null(strstr(err_msg(), "cannot be called '__metadata__'"));

    const char *keys[2] = {"k", "k"}, *vals[2] = {"1", "2"};
    assert_int_equal(st_write(fx("e.st"), 1, &name, &t, 2, keys, vals), -1);
    assert_non_null(strstr(err_msg(), "metadata key 'k' appears twice"));

    /* renaming over a directory fails: reported with both paths, temporary removed */
    int before = count_files();
    assert_int_equal(mkdir(fx("adir"), 0755), 0);
    assert_int_equal(st_write(fx("adir"), 1, &name, &t, 0, NULL, NULL), -1);
    assert_non_null(strstr(err_msg(), "cannot rename"));
    assert_int_equal(count_files(), before + 1);
    assert_int_equal(rmdir(fx("adir")), 0);
    tensor_release(t);
}

/* ---- dtype conversions on load ---- */

static void test_read_conversions(void **state)
{
    /* F16: 1, -2, 65504, 2^-24 (subnormal), inf; BF16: 1.5, -0.25; F64: 0.1, 1e300 (-> inf);
     * I32: -7, 2147483647; BOOL: 0, 5; I8: -128; U32: 4294967295; I16: -300; U16: 65535 */
    unsigned char data[] = {
        0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x7c, /* F16 [0,10) */
        0xc0, 0x3f, 0x80, 0xbe,                                     /* BF16 [10,14) */
        0x9a, 0x99, 0x99, 0x99, 0x99, 0x99, 0xb9, 0x3f,             /* F64 0.1 [14,22) */
        0x9c, 0x75, 0x88, 0x3c, 0xe4, 0x37, 0x7e, 0x7e,             /* F64 1e300 [22,30) */
        0xf9, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f,             /* I32 [30,38) */
        0x00, 0x05,                                                 /* BOOL [38,40) */
        0x80,                                                       /* I8 [40,41) */
        0xff, 0xff, 0xff, 0xff,                                     /* U32 [41,45) */
        0xd4, 0xfe,                                                 /* I16 [45,47) */
        0xff, 0xff,                                                 /* U16 [47,49) */
    };
    const char *json =
        "{\"h\":{\"dtype\":\"F16\",\"shape\":[5],\"data_offsets\":[0,10]},"
        "\"bf\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[10,14]},"
        "\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[14,30]},"
        "\"i\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[30,38]},"
        "\"b\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[38,40]},"
        "\"c\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[40,41]},"
        "\"u\":{\"dtype\":\"U32\",\"shape\":[],\"data_offsets\":[41,45]},"
        "\"s\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[45,47]},"
        "\"w\":{\"dtype\":\"U16\",\"shape\":[1,1],\"data_offsets\":[47,49]}}";
    write_ok(fx("conv.st"), json, data, sizeof data);
    struct st_file f;
    assert_int_equal(st_read(fx("conv.st"), &f), 0);
    struct tensor *h = st_find(&f, "h"), *bf = st_find(&f, "bf"), *d = st_find(&f, "d");
    assert_int_equal(h->dtype, DT_FLOAT32);
    float *hv = tensor_f32(h);
    assert_float_equal(hv[0], 1, 0);
    assert_float_equal(hv[1], -2, 0);
    assert_float_equal(hv[2], 65504, 0);
    assert_float_equal(hv[3], 5.9604644775390625e-08, 0);
    assert_true(isinf(hv[4]) && hv[4] > 0);
    assert_float_equal(tensor_f32(bf)[0], 1.5, 0);
    assert_float_equal(tensor_f32(bf)[1], -0.25, 0);
    assert_float_equal(tensor_f32(d)[0], 0.1f, 0);
    assert_true(isinf(tensor_f32(d)[1]) && tensor_f32(d)[1] > 0);
    struct tensor *i = st_find(&f, "i");
    assert_int_equal(i->dtype, DT_INT64);
    assert_int_equal(tensor_i64(i)[0], -7);
    assert_int_equal(tensor_i64(i)[1], 2147483647);
    assert_int_equal(st_find(&f, "b")->dtype, DT_UINT8);
    assert_int_equal(tensor_u8(st_find(&f, "b"))[0], 0);
    assert_int_equal(tensor_u8(st_find(&f, "b"))[1], 1);
    assert_int_equal(tensor_i64(st_find(&f, "c"))[0], -128);
    assert_int_equal(st_find(&f, "u")->ndim, 0);
    assert_int_equal(tensor_i64(st_find(&f, "u"))[0], 4294967295LL);
    assert_int_equal(tensor_i64(st_find(&f, "s"))[0], -300);
    assert_int_equal(tensor_i64(st_find(&f, "w"))[0], 65535);
    st_file_free(&f);
}

/* Tolerated: offsets in any order, overlapping, gaps and trailing bytes; unknown fields;
 * space padding after the JSON. */
static void test_read_lenient_layout(void **state)
{
    float v[8] = {1, 2, 3, 4, 5, 6, 7, 8}; /* bytes [16,32) unused: a gap */
    const char *json = "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16],\"x\":1},"
                       "\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
                       "\"__metadata__\":{}}      ";
    write_ok(fx("len.st"), json, v, sizeof v);
    struct st_file f;
    assert_int_equal(st_read(fx("len.st"), &f), 0);
    assert_int_equal(f.count, 2);
    assert_string_equal(f.names[0], "b"); /* header order is kept */
    assert_float_equal(tensor_f32(st_find(&f, "b"))[0], 3, 0);
    assert_float_equal(tensor_f32(st_find(&f, "a"))[2], 3, 0);
    st_file_free(&f);
}

/* ---- malformed files: one per kind of error ---- */

static void test_bad_missing_file(void **state)
{
    expect_error(fx("does-not-exist.st"), "cannot open '");
    expect_error(fx("does-not-exist.st"), "No such file or directory");
    expect_error(tmpdir, "is not a regular file");
}

static void test_bad_truncated_length(void **state)
{
    write_bytes(fx("t0.st"), "", 0);
    expect_error(fx("t0.st"), "safetensors: truncated header in file '");
    write_bytes(fx("t5.st"), "\x10\0\0\0\0", 5);
    expect_error(fx("t5.st"), "truncated header in file '");
    expect_error(fx("t5.st"), "t5.st' (5 bytes");
}

static void test_bad_header_longer_than_file(void **state)
{
    write_st(fx("long.st"), 1000, "{}", NULL, 0);
    expect_error(fx("long.st"), "truncated header in file '");
    expect_error(fx("long.st"), "header length 1000 exceeds the 2 bytes");
    write_st(fx("huge.st"), UINT64_MAX, "{}", NULL, 0);
    expect_error(fx("huge.st"), "header length 18446744073709551615 exceeds");
}

static void test_bad_header_above_limit(void **state)
{
    /* a sparse 200 MB file whose header claims 150 MB: refused before allocating */
    write_st(fx("big.st"), 150000000, "{}", NULL, 0);
    assert_int_equal(truncate(fx("big.st"), 200000000), 0);
    expect_error(fx("big.st"), "header length 150000000 in '");
    expect_error(fx("big.st"), "is above the limit of 100000000 bytes");
    unlink(fx("big.st"));
}

static void test_bad_json(void **state)
{
    write_ok(fx("j1.st"), "{\"a\": {\"dtype\": \"F32\",", NULL, 0);
    expect_error(fx("j1.st"), "invalid JSON header in '");
    write_ok(fx("j2.st"), "{\"a\" 1}", NULL, 0);
    expect_error(fx("j2.st"), "invalid JSON header in '");
    write_ok(fx("j3.st"), "{} xyz", NULL, 0);
    expect_error(fx("j3.st"), "invalid JSON header");
    write_ok(fx("j4.st"), "{\"\xff\xfe\":1}", NULL, 0); /* not UTF-8 */
    expect_error(fx("j4.st"), "invalid JSON header");
    write_st_n(fx("j5.st"), 4, "{}\0 ", 4, NULL, 0); /* header length covers a NUL byte */
    expect_error(fx("j5.st"), "invalid JSON header");
    write_ok(fx("j6.st"), "", NULL, 0);
    expect_error(fx("j6.st"), "invalid JSON header");
    write_ok(fx("j7.st"), "{\"a\":[1,],}", NULL, 0); /* strict: no trailing commas */
    expect_error(fx("j7.st"), "invalid JSON header");
    /* deeply nested arrays: refused by the depth limit, not by the stack */
    char deep[4096];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    write_ok(fx("j8.st"), deep, NULL, 0);
    expect_error(fx("j8.st"), "invalid JSON header");
}

static void test_bad_types(void **state)
{
    write_ok(fx("y1.st"), "[1,2]", NULL, 0);
    expect_error(fx("y1.st"), "the header of '");
    expect_error(fx("y1.st"), "is an array, expected a JSON object");
    write_ok(fx("y2.st"), "{\"fc.w\":5}", NULL, 0);
    expect_error(fx("y2.st"), "tensor 'fc.w' in '");
    expect_error(fx("y2.st"), "is described by an integer, expected an object");
    write_ok(fx("y3.st"), "{\"w\":{\"dtype\":4,\"shape\":[],\"data_offsets\":[0,4]}}", "abcd", 4);
    expect_error(fx("y3.st"), "tensor 'w' in '");
    expect_error(fx("y3.st"), "\"dtype\" is an integer, expected a string");
    write_ok(fx("y4.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,8]}}",
             "abcdefgh", 8);
    expect_error(fx("y4.st"), "\"shape\" is a string, expected an array");
    write_ok(fx("y5.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2]}}", NULL, 0);
    expect_error(fx("y5.st"), "tensor 'w' in '");
    expect_error(fx("y5.st"), "has no \"data_offsets\"");
    write_ok(fx("y6.st"), "{\"w\":{\"shape\":[2],\"data_offsets\":[0,8]}}", "abcdefgh", 8);
    expect_error(fx("y6.st"), "has no \"dtype\"");
    write_ok(fx("y7.st"), "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}}", "abcdefgh", 8);
    expect_error(fx("y7.st"), "has no \"shape\"");
    write_ok(fx("y8.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}",
             "abcdefgh", 8);
    expect_error(fx("y8.st"), "\"data_offsets\" must be two non-negative integers, got [0]");
    write_ok(fx("y9.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,\"8\"]}}",
             "abcdefgh", 8);
    expect_error(fx("y9.st"), "\"data_offsets\" must be two non-negative integers");
    write_ok(fx("y10.st"), "{\"__metadata__\":{\"k\":1}}", NULL, 0);
    expect_error(fx("y10.st"), "\"__metadata__\" entry 'k' in '");
    expect_error(fx("y10.st"), "is an integer, expected a string");
    write_ok(fx("y11.st"), "{\"__metadata__\":[\"k\"]}", NULL, 0);
    expect_error(fx("y11.st"), "\"__metadata__\" in '");
    expect_error(fx("y11.st"), "is an array, expected an object of strings");
}

static void test_bad_dtype(void **state)
{
    write_ok(fx("d1.st"), "{\"w\":{\"dtype\":\"F99\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             "abcd", 4);
    expect_error(fx("d1.st"), "tensor 'w' in '");
    expect_error(fx("d1.st"), "unknown dtype 'F99'");
    write_ok(fx("d2.st"), "{\"w\":{\"dtype\":\"U64\",\"shape\":[1],\"data_offsets\":[0,8]}}",
             "abcdefgh", 8);
    expect_error(fx("d2.st"), "dtype U64 is not supported");
    write_ok(fx("d3.st"), "{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
             "abcd", 4);
    expect_error(fx("d3.st"), "unknown dtype 'f32'");
}

static void test_bad_shape(void **state)
{
    write_ok(fx("s1.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,4]}}",
             "abcd", 4);
    expect_error(fx("s1.st"), "tensor 'w' in '");
    expect_error(fx("s1.st"), "shape entry 1 is not a non-negative integer (-3)");
    write_ok(fx("s2.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[2.5],\"data_offsets\":[0,4]}}",
             "abcd", 4);
    expect_error(fx("s2.st"), "shape entry 0 is not a non-negative integer (2.5)");
    write_ok(fx("s3.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[null],\"data_offsets\":[0,4]}}",
             "abcd", 4);
    expect_error(fx("s3.st"), "shape entry 0 is not a non-negative integer (null)");
    write_ok(fx("s4.st"),
             "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}",
             "a", 1);
    expect_error(fx("s4.st"), "has 9 dimensions, at most 8 are supported");
    write_ok(fx("s5.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],"
                          "\"data_offsets\":[0,4]}}", "abcd", 4);
    expect_error(fx("s5.st"), "shape entry 0 is not a non-negative integer");
}

static void test_bad_offsets_mismatch(void **state)
{
    static char data[800];
    write_ok(fx("w.st"),
             "{\"fc.weight\":{\"dtype\":\"F32\",\"shape\":[10,20],\"data_offsets\":[0,400]}}",
             data, sizeof data);
    struct st_file f;
    assert_int_equal(st_read(fx("w.st"), &f), -1);
    char want[1024];
    snprintf(want, sizeof want, "safetensors: tensor 'fc.weight' in '%s': data_offsets [0,400] "
             "do not match shape [10,20] F32 (800 bytes)", fx("w.st"));
    assert_string_equal(err_msg(), want);
    /* end before begin */
    write_ok(fx("w2.st"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[8,4]}}",
             data, 16);
    expect_error(fx("w2.st"), "data_offsets [8,4] do not match shape [0] U8 (0 bytes)");
    write_ok(fx("w3.st"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[-2,0]}}",
             data, 16);
    expect_error(fx("w3.st"), "\"data_offsets\" must be two non-negative integers, got [-2,0]");
}

static void test_bad_offsets_beyond_file(void **state)
{
    static char data[16];
    write_ok(fx("b1.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
             data, sizeof data);
    expect_error(fx("b1.st"), "tensor 'w' in '");
    expect_error(fx("b1.st"), "data_offsets [8,24] lie beyond the end of the data (16 bytes)");
    /* a huge but consistent declaration: refused without allocating 4 TB */
    write_ok(fx("b2.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[1000000000000],"
                          "\"data_offsets\":[0,4000000000000]}}", data, sizeof data);
    expect_error(fx("b2.st"), "lie beyond the end of the data");
    write_ok(fx("b3.st"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[0],"
                          "\"data_offsets\":[18446744073709551615,18446744073709551615]}}",
             data, sizeof data);
    expect_error(fx("b3.st"), "lie beyond the end of the data");
}

/* overlapping entries may not add up to more than the data: no amplification */
static void test_bad_amplification(void **state)
{
    static char data[64];
    char json[4096];
    size_t k = (size_t)snprintf(json, sizeof json, "{");
    for (int i = 0; i < 20; i++)
        k += (size_t)snprintf(json + k, sizeof json - k, "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":"
                              "[64],\"data_offsets\":[0,64]}", i ? "," : "", i);
    snprintf(json + k, sizeof json - k, "}");
    write_ok(fx("amp.st"), json, data, sizeof data);
    expect_error(fx("amp.st"), "declare 1280 bytes in total, more than the 64 bytes of data");
}

static void test_bad_shape_overflow(void **state)
{
    write_ok(fx("o1.st"), "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
                          "\"data_offsets\":[0,0]}}", NULL, 0);
    expect_error(fx("o1.st"), "tensor 'w' in '");
    expect_error(fx("o1.st"), "shape [4294967296,4294967296] F32 overflows");
    /* overflow even though a later dimension is 0, as upstream's checked product */
    write_ok(fx("o2.st"), "{\"w\":{\"dtype\":\"I64\",\"shape\":[2305843009213693952,8,0],"
                          "\"data_offsets\":[0,0]}}", NULL, 0);
    expect_error(fx("o2.st"), "overflows");
    /* just below the limit, consistent: then too large for the file */
    write_ok(fx("o3.st"), "{\"w\":{\"dtype\":\"U8\",\"shape\":[9223372036854775807],"
                          "\"data_offsets\":[0,9223372036854775807]}}", NULL, 0);
    expect_error(fx("o3.st"), "lie beyond the end of the data");
}

/* Every truncation and many byte mutations of a valid file: st_read returns 0 or -1 with a
 * message, never crashes (run under `make SANITIZE=1 test` to catch reads out of bounds). */
static void test_mutation_sweep(void **state)
{
    int64_t s1[2] = {2, 3}, s2[1] = {3};
    struct tensor *ts[3] = {make(DT_FLOAT32, 2, s1, 1), make(DT_INT64, 1, s2, 2),
                            make(DT_UINT8, 1, s2, 0)};
    const char *names[3] = {"a", "bb", "c"};
    const char *k = "m", *v = "x";
    assert_int_equal(st_write(fx("fz.st"), 3, names, ts, 1, &k, &v), 0);
    for (int i = 0; i < 3; i++)
        tensor_release(ts[i]);
    size_t n;
    unsigned char *orig = read_all(fx("fz.st"), &n);
    unsigned char *b = malloc(n);
    struct st_file f;
    for (size_t len = 0; len < n; len++) {
        write_bytes(fx("cut.st"), orig, len);
        assert_int_equal(st_read(fx("cut.st"), &f), -1);
        assert_true(strlen(err_msg()) > 0);
    }
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    const unsigned char interesting[] = {0, '"', '-', '9', '[', ']', '{', '}', ',', ':', 0xff, ' '};
    int ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(b, orig, n);
        for (int m = 0; m < 1 + iter % 3; m++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t pos = (size_t)(x >> 33) % n;
            b[pos] = interesting[(x >> 20) % sizeof interesting];
        }
        write_bytes(fx("mut.st"), b, n);
        int rc = st_read(fx("mut.st"), &f);
        assert_true(rc == 0 || rc == -1);
        if (rc == 0) {
            ok++;
            st_file_free(&f);
        }
    }
    print_message("mutation sweep: %d of 3000 mutants still loaded\n", ok);
    free(b);
    free(orig);
}

/* ---- real weights ---- */

static void test_squeezenet(void **state)
{
    const char *path = "datasets/weights/squeezenet1_1.safetensors";
    struct st_file f;
    if (st_read(path, &f) != 0)
        fail_msg("%s (tests run from the repository root)", err_msg());
    assert_int_equal(f.count, 52);
    int64_t total = 0;
    for (int i = 0; i < f.count; i++) {
        assert_int_equal(f.tensors[i]->dtype, DT_FLOAT32);
        total += tensor_numel(f.tensors[i]);
    }
    assert_int_equal(total, 1235496);
    struct tensor *w0 = st_find(&f, "features.0.weight");
    assert_non_null(w0);
    assert_string_equal(tshape(w0), "[64,3,3,3]");
    struct tensor *fc = st_find(&f, "classifier.1.weight");
    assert_non_null(fc);
    assert_string_equal(tshape(fc), "[1000,512,1,1]");
    assert_string_equal(tshape(st_find(&f, "classifier.1.bias")), "[1000]");
    assert_string_equal(tshape(st_find(&f, "features.3.expand3x3.weight")), "[64,16,3,3]");
    for (int64_t i = 0; i < tensor_numel(fc); i++)
        assert_true(isfinite(tensor_f32(fc)[i]));
    const char *arch = NULL;
    for (int i = 0; i < f.nmeta; i++)
        if (strcmp(f.meta_keys[i], "architecture") == 0)
            arch = f.meta_vals[i];
    assert_non_null(arch);
    assert_string_equal(arch, "torchvision.models.squeezenet1_1");

    /* re-save and reload: identical tensors and metadata */
    assert_int_equal(st_write(fx("sq.st"), f.count, (const char *const *)f.names, f.tensors,
                              f.nmeta, (const char *const *)f.meta_keys,
                              (const char *const *)f.meta_vals), 0);
    struct st_file g;
    assert_int_equal(st_read(fx("sq.st"), &g), 0);
    assert_int_equal(g.count, 52);
    assert_int_equal(g.nmeta, f.nmeta);
    for (int i = 0; i < f.count; i++) {
        struct tensor *a = f.tensors[i], *c = st_find(&g, f.names[i]);
        assert_non_null(c);
        assert_true(tensor_same_shape(a, c));
        assert_memory_equal(tensor_data(a), tensor_data(c), (size_t)tensor_numel(a) * 4);
    }
    st_file_free(&g);
    st_file_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_dtypes),
        cmocka_unit_test(test_roundtrip_noncontiguous),
        cmocka_unit_test(test_roundtrip_scalar_and_empty),
        cmocka_unit_test(test_roundtrip_nothing),
        cmocka_unit_test(test_upstream_bytes),
        cmocka_unit_test(test_write_order_and_alignment),
        cmocka_unit_test(test_write_atomic),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_read_conversions),
        cmocka_unit_test(test_read_lenient_layout),
        cmocka_unit_test(test_bad_missing_file),
        cmocka_unit_test(test_bad_truncated_length),
        cmocka_unit_test(test_bad_header_longer_than_file),
        cmocka_unit_test(test_bad_header_above_limit),
        cmocka_unit_test(test_bad_json),
        cmocka_unit_test(test_bad_types),
        cmocka_unit_test(test_bad_dtype),
        cmocka_unit_test(test_bad_shape),
        cmocka_unit_test(test_bad_offsets_mismatch),
        cmocka_unit_test(test_bad_offsets_beyond_file),
        cmocka_unit_test(test_bad_amplification),
        cmocka_unit_test(test_bad_shape_overflow),
        cmocka_unit_test(test_mutation_sweep),
        cmocka_unit_test(test_squeezenet),
    };
    return cmocka_run_group_tests_name("safetensors", tests, setup_dir, teardown_dir);
}
