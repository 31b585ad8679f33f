/* tensor_print.c — tensor_format(): PyTorch 1.13's tensor printing (torch/_tensor_str.py).
 *
 * The port follows the Python closely so the output matches character for character:
 *
 *   _Formatter      -> struct fmt, fmt_init(): one width, and for float32 the choice between
 *                      integer mode ("1."), fixed ("1.2500") and scientific ("1.2500e-05"),
 *                      decided over the nonzero finite values that will be shown.
 *   _vector_str     -> put_vector(): elements padded to the common width, wrapped so a line
 *                      holds floor((80 - indent) / (width + 2)) of them.
 *   _tensor_str_with_formatter -> put_tensor(): rows joined by "," and dim-1 newlines.
 *   get_summarized_data / summarize -> sel_*: past 1000 elements every dimension longer
 *                      than 6 shows its first and last 3 entries around "...".
 *   _add_suffixes   -> put_suffixes(): ", requires_grad=true" etc., moved to a new line
 *                      when the last line would pass 80 columns.
 *
 * Values are read through the tensor's strides, so views print without a copy. Numbers are
 * formatted from the float32 value widened to double, as Python does with .item(); glibc's
 * printf and Python's float formatting both round correctly, so the digits agree. Non-finite
 * values are spelled by hand because printf writes "-nan" where Python writes "nan". */
#include "loupe/print.h"

#include "loupe/autograd.h"
#include "loupe/core.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    PRINT_PRECISION = 4,
    PRINT_THRESHOLD = 1000,
    PRINT_EDGEITEMS = 3,
    PRINT_LINEWIDTH = 80,
    PREFIX_LEN = 7, /* strlen("tensor(") */
};

/* ---- growing string ---- */

struct sbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

static void sb_putn(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_puts(struct sbuf *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_repeat(struct sbuf *b, char c, int n)
{
    for (int i = 0; i < n; i++)
        sb_putn(b, &c, 1);
}

/* ---- which indices are shown ---- */

/* Number of entries of a dimension of length n that are printed, and the k-th of them. When
 * summarising, a dimension longer than 2*edgeitems shows its first and last edgeitems. */
static int64_t sel_count(int64_t n, bool summarize)
{
    return summarize && n > 2 * PRINT_EDGEITEMS ? 2 * PRINT_EDGEITEMS : n;
}

static int64_t sel_index(int64_t n, bool summarize, int64_t k)
{
    if (summarize && n > 2 * PRINT_EDGEITEMS && k >= PRINT_EDGEITEMS)
        return n - 2 * PRINT_EDGEITEMS + k;
    return k;
}

/* Whether the "..." marker goes before the k-th shown entry. */
static bool sel_gap_before(int64_t n, bool summarize, int64_t k)
{
    return summarize && n > 2 * PRINT_EDGEITEMS && k == PRINT_EDGEITEMS;
}

/* ---- element access ---- */

static double elem_f(const struct tensor *t, int64_t off) { return tensor_f32(t)[off]; }

static long long elem_i(const struct tensor *t, int64_t off)
{
    if (t->dtype == DT_INT64)
        return (long long)tensor_i64(t)[off];
    return (long long)tensor_u8(t)[off];
}

/* Calls fn(t, off, ctx) for every shown element (all of them, or the edges when summarising),
 * in row-major order; off is relative to tensor_data(t). */
typedef void (*visit_fn)(const struct tensor *t, int64_t off, void *ctx);

static void visit(const struct tensor *t, bool summarize, int dim, int64_t off, visit_fn fn,
                  void *ctx)
{
    if (dim == t->ndim) {
        fn(t, off, ctx);
        return;
    }
    int64_t n = t->shape[dim], cnt = sel_count(n, summarize);
    for (int64_t k = 0; k < cnt; k++)
        visit(t, summarize, dim + 1, off + sel_index(n, summarize, k) * t->stride[dim], fn, ctx);
}

/* ---- the formatter ---- */

struct fmt {
    bool floating;
    bool int_mode; /* every nonzero finite float is an integer: print "3." */
    bool sci_mode; /* "%.4e" */
    int width;
};

struct scan {
    bool any;
    bool int_mode;
    double min, max; /* over |v| of nonzero finite values */
    int width;
    const struct fmt *f;
};

static void scan_range(const struct tensor *t, int64_t off, void *ctx)
{
    struct scan *s = ctx;
    double v = elem_f(t, off);
    if (!isfinite(v) || v == 0)
        return;
    double a = fabs(v);
    if (!s->any || a < s->min)
        s->min = a;
    if (!s->any || a > s->max)
        s->max = a;
    s->any = true;
    if (v != ceil(v))
        s->int_mode = false;
}

/* Text of a float in the formatter's mode, without padding; returns its length. */
static int fmt_float_raw(char *buf, size_t n, const struct fmt *f, double v)
{
    if (isnan(v))
        return snprintf(buf, n, "nan");
    if (isinf(v))
        return snprintf(buf, n, v > 0 ? "inf" : "-inf");
    if (f->sci_mode)
        return snprintf(buf, n, "%.*e", PRINT_PRECISION, v);
    if (f->int_mode)
        return snprintf(buf, n, "%.0f.", v);
    return snprintf(buf, n, "%.*f", PRINT_PRECISION, v);
}

static void scan_width_float(const struct tensor *t, int64_t off, void *ctx)
{
    struct scan *s = ctx;
    double v = elem_f(t, off);
    if (!isfinite(v) || v == 0)
        return;
    char buf[64];
    int len = fmt_float_raw(buf, sizeof buf, s->f, v);
    if (len > s->width)
        s->width = len;
}

static void scan_width_int(const struct tensor *t, int64_t off, void *ctx)
{
    struct scan *s = ctx;
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%lld", elem_i(t, off));
    if (len > s->width)
        s->width = len;
}

static void fmt_init(struct fmt *f, const struct tensor *t, bool summarize)
{
    *f = (struct fmt){.floating = t->dtype == DT_FLOAT32, .int_mode = true, .width = 1};
    struct scan s = {.int_mode = true, .width = 1, .f = f};
    if (!f->floating) {
        visit(t, summarize, 0, 0, scan_width_int, &s);
        f->width = s.width;
        return;
    }
    visit(t, summarize, 0, 0, scan_range, &s);
    if (!s.any)
        return; /* only zeros and non-finite values: integer mode, width 1 */
    f->int_mode = s.int_mode;
    double ratio = s.max / s.min;
    if (f->int_mode)
        f->sci_mode = ratio > 1000.0 || s.max > 1.0e8;
    else
        f->sci_mode = ratio > 1000.0 || s.max > 1.0e8 || s.min < 1.0e-4;
    visit(t, summarize, 0, 0, scan_width_float, &s);
    f->width = s.width;
}

/* One element, right-aligned to the formatter's width. */
static void put_elem(struct sbuf *b, const struct tensor *t, const struct fmt *f, int64_t off)
{
    char buf[64];
    int len;
    if (f->floating)
        len = fmt_float_raw(buf, sizeof buf, f, elem_f(t, off));
    else
        len = snprintf(buf, sizeof buf, "%lld", elem_i(t, off));
    sb_repeat(b, ' ', f->width - len);
    sb_putn(b, buf, (size_t)len);
}

/* ---- layout ---- */

/* The last dimension: "[a, b, c,\n<indent+1>d, e]" with a fixed number of items per line. */
static void put_vector(struct sbuf *b, const struct tensor *t, const struct fmt *f,
                       bool summarize, int64_t off, int indent)
{
    int dim = t->ndim - 1;
    int64_t n = t->shape[dim], cnt = sel_count(n, summarize);
    int element_length = f->width + 2;
    int per_line = (int)floor((double)(PRINT_LINEWIDTH - indent) / element_length);
    if (per_line < 1)
        per_line = 1;

    sb_puts(b, "[");
    int item = 0; /* items so far, the "..." marker counting as one */
    for (int64_t k = 0; k < cnt; k++) {
        /* pass 0 (only where the gap is) writes the marker, pass 1 the entry itself */
        bool gap = sel_gap_before(n, summarize, k);
        for (int pass = gap ? 0 : 1; pass < 2; pass++, item++) {
            if (item > 0 && item % per_line == 0) {
                sb_puts(b, ",\n");
                sb_repeat(b, ' ', indent + 1);
            } else if (item > 0) {
                sb_puts(b, ", ");
            }
            if (pass == 0)
                sb_puts(b, " ...");
            else
                put_elem(b, t, f, off + sel_index(n, summarize, k) * t->stride[dim]);
        }
    }
    sb_puts(b, "]");
}

static void put_tensor(struct sbuf *b, const struct tensor *t, const struct fmt *f,
                       bool summarize, int dim, int64_t off, int indent)
{
    if (t->ndim == 0) {
        put_elem(b, t, f, off);
        return;
    }
    if (dim == t->ndim - 1) {
        put_vector(b, t, f, summarize, off, indent);
        return;
    }
    int64_t n = t->shape[dim], cnt = sel_count(n, summarize);
    int newlines = t->ndim - dim - 1; /* the sub-tensor's dim - 1 */
    sb_puts(b, "[");
    for (int64_t k = 0; k < cnt; k++) {
        bool gap = sel_gap_before(n, summarize, k); /* as in put_vector */
        for (int pass = gap ? 0 : 1; pass < 2; pass++) {
            if (k > 0) { /* separator: "," then dim-1 newlines and the indent */
                sb_puts(b, ",");
                sb_repeat(b, '\n', newlines);
                sb_repeat(b, ' ', indent + 1);
            }
            if (pass == 0)
                sb_puts(b, "...");
            else
                put_tensor(b, t, f, summarize, dim + 1,
                           off + sel_index(n, summarize, k) * t->stride[dim], indent + 1);
        }
    }
    sb_puts(b, "]");
}

/* Appends ", s1, s2)" to b, putting a suffix on its own line (indented under the first
 * element) when the current last line plus the suffix would pass the line width. */
static void put_suffixes(struct sbuf *b, char suffixes[][SHAPE_STR_MAX + 16], int n)
{
    if (b->oom)
        return;
    const char *nl = strrchr(b->p, '\n');
    /* Python: len(s) - s.rfind("\n") + 1, where rfind gives -1 for no newline. */
    long last_line_len = (long)b->len - (nl ? (long)(nl - b->p) : -1) + 1;
    for (int i = 0; i < n; i++) {
        long suffix_len = (long)strlen(suffixes[i]);
        if (last_line_len + suffix_len + 2 > PRINT_LINEWIDTH) {
            sb_puts(b, ",\n");
            sb_repeat(b, ' ', PREFIX_LEN);
            last_line_len = PREFIX_LEN + suffix_len;
        } else {
            sb_puts(b, ", ");
            last_line_len += suffix_len + 2;
        }
        sb_puts(b, suffixes[i]);
    }
    sb_puts(b, ")");
}

char *tensor_format(const struct tensor *t)
{
    struct sbuf b = {0};
    char suffixes[4][SHAPE_STR_MAX + 16];
    int n_suffix = 0;
    char shape[SHAPE_STR_MAX];
    int64_t numel = tensor_numel(t);

    sb_puts(&b, "tensor(");
    if (numel == 0) {
        /* PyTorch shows the shape unless it is (0,), and the dtype unless it is the default
         * floating type: with no elements nothing else tells an int64 tensor apart. */
        sb_puts(&b, "[]");
        if (t->ndim != 1)
            snprintf(suffixes[n_suffix++], sizeof suffixes[0], "size=%s",
                     shape_str(shape, sizeof shape, t->ndim, t->shape));
        if (t->dtype != DT_FLOAT32)
            snprintf(suffixes[n_suffix++], sizeof suffixes[0], "dtype=%s",
                     dtype_name(t->dtype));
    } else {
        bool summarize = numel > PRINT_THRESHOLD;
        struct fmt f;
        fmt_init(&f, t, summarize);
        put_tensor(&b, t, &f, summarize, 0, 0, PREFIX_LEN);
        /* loupe addition: a summarised tensor says its shape, which "..." hides. */
        if (summarize)
            snprintf(suffixes[n_suffix++], sizeof suffixes[0], "size=%s",
                     shape_str(shape, sizeof shape, t->ndim, t->shape));
        /* int64 counts as a default dtype in PyTorch (integer literals make one). */
        if (t->dtype == DT_UINT8)
            snprintf(suffixes[n_suffix++], sizeof suffixes[0], "dtype=%s",
                     dtype_name(t->dtype));
    }
    if (t->grad_fn)
        snprintf(suffixes[n_suffix++], sizeof suffixes[0], "grad_fn=<%s>",
                 t->grad_fn->name ? t->grad_fn->name : "?");
    else if (t->requires_grad)
        snprintf(suffixes[n_suffix++], sizeof suffixes[0], "requires_grad=true");
    put_suffixes(&b, suffixes, n_suffix);

    if (b.oom) {
        free(b.p);
        err_set("tensor_format: out of memory formatting a %s tensor", tshape(t));
        return NULL;
    }
    return b.p;
}
