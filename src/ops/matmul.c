/* matmul.c — mm, bmm, matmul through cblas_sgemm, and einsum as a chain of bmm contractions.
 *
 * Operands are passed to BLAS without copying whenever their strides are row- or
 * column-major (transposes and expanded batch dims are free); anything else is copied to a
 * contiguous buffer first, as torch7's addmm does. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"

#include <cblas.h>
#include <stdio.h>
#include <string.h>

/* How to hand a [rows, cols] matrix with strides (rs, cs) to BLAS: row-major (NoTrans) or
 * column-major (Trans) with leading dimension ld; false if neither fits. A size-1 dim's
 * stride is meaningless (views leave anything there), so it never disqualifies. */
static bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, CBLAS_TRANSPOSE *tr,
                        int64_t *ld)
{
    int64_t mincols = cols > 1 ? cols : 1, minrows = rows > 1 ? rows : 1;
    if (cols == 1)
        cs = 1;
    if (rows == 1)
        rs = mincols;
    if (cs == 1 && rs >= mincols) {
        *tr = CblasNoTrans;
        *ld = rs;
        return true;
    }
    if (rows == 1 && cs >= 1) { /* a row vector read with stride cs: column-major, ld = cs */
        *tr = CblasTrans;
        *ld = cs;
        return true;
    }
    if (rs == 1 && cs >= minrows) {
        *tr = CblasTrans;
        *ld = cs;
        return true;
    }
    return false;
}

/* c[m,n] = a[m,k] @ b[k,n] for 2-D float32 views (c contiguous, freshly allocated). */
static int gemm_2d(float *c, const struct tensor *a, int64_t a_off, const struct tensor *b,
                   int64_t b_off, int64_t m, int64_t k, int64_t n, int ad, int bd)
{
    CBLAS_TRANSPOSE ta, tb;
    int64_t lda, ldb;
    if (m == 0 || n == 0)
        return 0;
    if (k == 0) {
        memset(c, 0, sizeof(float) * (size_t)(m * n));
        return 0;
    }
    if (!blas_layout(m, k, a->stride[ad], a->stride[ad + 1], &ta, &lda) ||
        !blas_layout(k, n, b->stride[bd], b->stride[bd + 1], &tb, &ldb))
        return -1; /* caller copies and retries */
    cblas_sgemm(CblasRowMajor, ta, tb, (int)m, (int)n, (int)k, 1.0f, tensor_f32(a) + a_off,
                (int)lda, tensor_f32(b) + b_off, (int)ldb, 0.0f, c, (int)n);
    return 0;
}

static int check_f32(const char *op, const struct tensor *a, const struct tensor *b)
{
    if (a->dtype != DT_FLOAT32 || b->dtype != DT_FLOAT32)
        return err_set("%s: expected float32 tensors, got %s and %s", op, dtype_name(a->dtype),
                       dtype_name(b->dtype));
    return 0;
}

static bool fits_int(int64_t v) { return v <= 0x7fffffff; }

/* ---- mm ---- */

static int mm_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1);
    if (!a || !b)
        return -1;
    if (ag_needs(n, 0)) { /* g @ b^T */
        struct tensor *bt = op_transpose(b, 0, 1);
        gi[0] = bt ? op_mm(g, bt) : NULL;
        tensor_release(bt);
        if (!gi[0])
            return -1;
    }
    if (ag_needs(n, 1)) { /* a^T @ g */
        struct tensor *at = op_transpose(a, 0, 1);
        gi[1] = at ? op_mm(at, g) : NULL;
        tensor_release(at);
        if (!gi[1])
            return -1;
    }
    return 0;
}

struct tensor *op_mm(struct tensor *a, struct tensor *b)
{
    if (check_f32("mm", a, b) < 0)
        return NULL;
    if (a->ndim != 2 || b->ndim != 2 || a->shape[1] != b->shape[0]) {
        err_set("mm: shapes %s and %s do not match", tshape(a), tshape(b));
        return NULL;
    }
    int64_t m = a->shape[0], k = a->shape[1], n = b->shape[1], shape[2] = {m, n};
    if (!fits_int(m) || !fits_int(k) || !fits_int(n)) {
        err_set("mm: shapes %s and %s exceed BLAS's 32-bit sizes", tshape(a), tshape(b));
        return NULL;
    }
    struct tensor *out = tensor_new(DT_FLOAT32, 2, shape);
    if (!out)
        return NULL;
    if (gemm_2d(tensor_f32(out), a, 0, b, 0, m, k, n, 0, 0) < 0) {
        struct tensor *ac = tensor_copy(a), *bc = ac ? tensor_copy(b) : NULL;
        if (!bc) {
            tensor_release(ac);
            tensor_release(out);
            return NULL;
        }
        gemm_2d(tensor_f32(out), ac, 0, bc, 0, m, k, n, 0, 0);
        tensor_release(ac);
        tensor_release(bc);
    }
    struct tensor *ins[2] = {a, b};
    struct ag_node *node = ag_record(&out, "MmBackward", mm_backward, 2, ins);
    if (node) {
        ag_save(node, a);
        ag_save(node, b);
    }
    return out;
}

/* ---- bmm ---- */

static int bmm_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *a = ag_saved(n, 0), *b = ag_saved(n, 1);
    if (!a || !b)
        return -1;
    if (ag_needs(n, 0)) {
        struct tensor *bt = op_transpose(b, 1, 2);
        gi[0] = bt ? op_bmm(g, bt) : NULL;
        tensor_release(bt);
        if (!gi[0])
            return -1;
    }
    if (ag_needs(n, 1)) {
        struct tensor *at = op_transpose(a, 1, 2);
        gi[1] = at ? op_bmm(at, g) : NULL;
        tensor_release(at);
        if (!gi[1])
            return -1;
    }
    return 0;
}

struct tensor *op_bmm(struct tensor *a, struct tensor *b)
{
    if (check_f32("bmm", a, b) < 0)
        return NULL;
    if (a->ndim != 3 || b->ndim != 3 || a->shape[0] != b->shape[0] || a->shape[2] != b->shape[1]) {
        err_set("bmm: shapes %s and %s do not match", tshape(a), tshape(b));
        return NULL;
    }
    int64_t B = a->shape[0], m = a->shape[1], k = a->shape[2], n = b->shape[2];
    int64_t shape[3] = {B, m, n};
    if (!fits_int(m) || !fits_int(k) || !fits_int(n)) {
        err_set("bmm: shapes %s and %s exceed BLAS's 32-bit sizes", tshape(a), tshape(b));
        return NULL;
    }
    struct tensor *out = tensor_new(DT_FLOAT32, 3, shape);
    if (!out)
        return NULL;
    struct tensor *ac = tensor_retain(a), *bc = tensor_retain(b);
    CBLAS_TRANSPOSE t;
    int64_t ld;
    if (!blas_layout(m, k, a->stride[1], a->stride[2], &t, &ld)) {
        tensor_release(ac);
        ac = tensor_copy(a);
    }
    if (!blas_layout(k, n, b->stride[1], b->stride[2], &t, &ld)) {
        tensor_release(bc);
        bc = tensor_copy(b);
    }
    if (!ac || !bc) {
        tensor_release(ac);
        tensor_release(bc);
        tensor_release(out);
        return NULL;
    }
    int64_t i = 0;
    for (; i < B && !core_interrupted(); i++) /* polled between the sgemms */
        gemm_2d(tensor_f32(out) + i * m * n, ac, i * ac->stride[0], bc, i * bc->stride[0], m, k,
                n, 1, 1);
    tensor_release(ac);
    tensor_release(bc);
    if (i < B) {
        err_set("bmm: interrupted");
        tensor_release(out);
        return NULL;
    }
    struct tensor *ins[2] = {a, b};
    struct ag_node *node = ag_record(&out, "BmmBackward", bmm_backward, 2, ins);
    if (node) {
        ag_save(node, a);
        ag_save(node, b);
    }
    return out;
}

/* ---- matmul (NumPy semantics, composed of differentiable ops) ---- */

static struct tensor *squeeze_result(struct tensor *r, int dim)
{
    if (!r)
        return NULL;
    struct tensor *s = op_squeeze(r, dim);
    tensor_release(r);
    return s;
}

struct tensor *op_matmul(struct tensor *a, struct tensor *b)
{
    if (check_f32("matmul", a, b) < 0)
        return NULL;
    if (a->ndim == 0 || b->ndim == 0) {
        err_set("matmul: both arguments need at least 1 dimension, got %s and %s", tshape(a),
                tshape(b));
        return NULL;
    }
    if (a->ndim == 1 && b->ndim == 1) {
        if (a->shape[0] != b->shape[0]) {
            err_set("matmul: shapes %s and %s do not match", tshape(a), tshape(b));
            return NULL;
        }
        struct tensor *p = op_mul(a, b), *s = p ? op_sum(p, DIM_ALL, false) : NULL;
        tensor_release(p);
        return s;
    }
    if (a->shape[a->ndim - 1] != b->shape[b->ndim == 1 ? 0 : b->ndim - 2]) {
        err_set("matmul: shapes %s and %s do not match", tshape(a), tshape(b));
        return NULL;
    }
    if (a->ndim == 1) { /* [k] @ [..., k, n] */
        struct tensor *a2 = op_unsqueeze(a, 0);
        struct tensor *r = a2 ? op_matmul(a2, b) : NULL;
        tensor_release(a2);
        return squeeze_result(r, -2);
    }
    if (b->ndim == 1) { /* [..., m, k] @ [k] */
        struct tensor *b2 = op_unsqueeze(b, 1);
        struct tensor *r = b2 ? op_matmul(a, b2) : NULL;
        tensor_release(b2);
        return squeeze_result(r, -1);
    }
    int64_t m = a->shape[a->ndim - 2], k = a->shape[a->ndim - 1];
    int64_t kb = b->shape[b->ndim - 2], n = b->shape[b->ndim - 1];
    if (k != kb) {
        err_set("matmul: shapes %s and %s do not match", tshape(a), tshape(b));
        return NULL;
    }
    if (a->ndim == 2 && b->ndim == 2)
        return op_mm(a, b);
    if (b->ndim == 2) { /* fold a's batch dims into rows: one big gemm */
        int64_t flat[2] = {-1, k}, shape[TENSOR_MAXDIM];
        struct tensor *a2 = op_reshape(a, 2, flat);
        struct tensor *r = a2 ? op_mm(a2, b) : NULL;
        tensor_release(a2);
        if (!r)
            return NULL;
        memcpy(shape, a->shape, sizeof shape);
        shape[a->ndim - 1] = n;
        struct tensor *out = op_reshape(r, a->ndim, shape);
        tensor_release(r);
        return out;
    }
    /* broadcast the batch dims, then one bmm */
    int64_t batch[TENSOR_MAXDIM], ea[TENSOR_MAXDIM], eb[TENSOR_MAXDIM], out_shape[TENSOR_MAXDIM];
    int nb = shape_broadcast("matmul", a->ndim - 2, a->shape, b->ndim - 2, b->shape, batch);
    if (nb < 0 || nb + 2 > TENSOR_MAXDIM)
        return NULL;
    int64_t B = 1;
    for (int d = 0; d < nb; d++)
        B *= batch[d];
    memcpy(ea, batch, sizeof(int64_t) * (size_t)nb);
    memcpy(eb, batch, sizeof(int64_t) * (size_t)nb);
    memcpy(out_shape, batch, sizeof(int64_t) * (size_t)nb);
    ea[nb] = m, ea[nb + 1] = k, eb[nb] = k, eb[nb + 1] = n;
    out_shape[nb] = m, out_shape[nb + 1] = n;
    int64_t sa[3] = {B, m, k}, sb[3] = {B, k, n};
    struct tensor *ax = op_expand(a, nb + 2, ea), *bx = ax ? op_expand(b, nb + 2, eb) : NULL;
    struct tensor *a3 = bx ? op_reshape(ax, 3, sa) : NULL, *b3 = a3 ? op_reshape(bx, 3, sb) : NULL;
    struct tensor *r = b3 ? op_bmm(a3, b3) : NULL;
    struct tensor *out = r ? op_reshape(r, nb + 2, out_shape) : NULL;
    tensor_release(ax);
    tensor_release(bx);
    tensor_release(a3);
    tensor_release(b3);
    tensor_release(r);
    return out;
}

/* ---- einsum ---- */

#define EIN_MAX 8

struct ein_operand {
    struct tensor *t; /* owned */
    char idx[TENSOR_MAXDIM + 1];
};

/* Sums out the dims of x whose letters are not in `keep`. */
static int ein_sum_out(struct ein_operand *x, const char *keep)
{
    for (int d = (int)strlen(x->idx) - 1; d >= 0; d--) {
        if (strchr(keep, x->idx[d]))
            continue;
        struct tensor *s = op_sum(x->t, d, false);
        if (!s)
            return -1;
        tensor_release(x->t);
        x->t = s;
        memmove(x->idx + d, x->idx + d + 1, strlen(x->idx + d + 1) + 1);
    }
    return 0;
}

/* Moves x's dims into the order of letters in `order` (all of x's letters). */
static struct tensor *ein_permute(const struct ein_operand *x, const char *order)
{
    int perm[TENSOR_MAXDIM];
    for (int d = 0; order[d]; d++)
        perm[d] = (int)(strchr(x->idx, order[d]) - x->idx);
    return op_permute(x->t, perm);
}

static int64_t ein_size(const struct ein_operand *x, const char *letters)
{
    int64_t n = 1;
    for (const char *c = letters; *c; c++)
        n *= x->t->shape[strchr(x->idx, *c) - x->idx];
    return n;
}

/* a := contraction of a and b keeping the letters in `keep`. */
static int ein_contract(struct ein_operand *a, struct ein_operand *b, const char *keep)
{
    char batch[TENSOR_MAXDIM + 1] = "", contr[TENSOR_MAXDIM + 1] = "";
    char aonly[TENSOR_MAXDIM + 1] = "", bonly[TENSOR_MAXDIM + 1] = "";
    char keep_a[TENSOR_MAXDIM * (EIN_MAX + 2) + 1], keep_b[TENSOR_MAXDIM * (EIN_MAX + 2) + 1];
    snprintf(keep_a, sizeof keep_a, "%s%s", keep, b->idx);
    snprintf(keep_b, sizeof keep_b, "%s%s", keep, a->idx);
    if (ein_sum_out(a, keep_a) < 0 || ein_sum_out(b, keep_b) < 0)
        return -1;
    for (const char *c = a->idx; *c; c++) {
        char s[2] = {*c, 0};
        strcat(strchr(b->idx, *c) ? (strchr(keep, *c) ? batch : contr) : aonly, s);
    }
    for (const char *c = b->idx; *c; c++)
        if (!strchr(a->idx, *c))
            strncat(bonly, c, 1);
    char oa[3 * TENSOR_MAXDIM + 1], ob[3 * TENSOR_MAXDIM + 1], res[3 * TENSOR_MAXDIM + 1];
    snprintf(oa, sizeof oa, "%s%s%s", batch, aonly, contr);
    snprintf(ob, sizeof ob, "%s%s%s", batch, contr, bonly);
    snprintf(res, sizeof res, "%s%s%s", batch, aonly, bonly);
    if (strlen(res) > TENSOR_MAXDIM)
        return err_set("einsum: intermediate result needs more than %d dimensions", TENSOR_MAXDIM);
    int64_t nb = ein_size(a, batch), na = ein_size(a, aonly), nc = ein_size(a, contr);
    int64_t nbo = ein_size(b, bonly);
    int64_t s3a[3] = {nb, na, nc}, s3b[3] = {nb, nc, nbo}, rshape[TENSOR_MAXDIM];
    int k = 0;
    for (const char *c = batch; *c; c++)
        rshape[k++] = a->t->shape[strchr(a->idx, *c) - a->idx];
    for (const char *c = aonly; *c; c++)
        rshape[k++] = a->t->shape[strchr(a->idx, *c) - a->idx];
    for (const char *c = bonly; *c; c++)
        rshape[k++] = b->t->shape[strchr(b->idx, *c) - b->idx];
    struct tensor *pa = ein_permute(a, oa), *pb = pa ? ein_permute(b, ob) : NULL;
    struct tensor *ra = pb ? op_reshape(pa, 3, s3a) : NULL, *rb = ra ? op_reshape(pb, 3, s3b) : NULL;
    struct tensor *prod = rb ? op_bmm(ra, rb) : NULL;
    struct tensor *out = prod ? op_reshape(prod, k, rshape) : NULL;
    tensor_release(pa);
    tensor_release(pb);
    tensor_release(ra);
    tensor_release(rb);
    tensor_release(prod);
    if (!out)
        return -1;
    tensor_release(a->t);
    a->t = out;
    strcpy(a->idx, res);
    return 0;
}

/* Parses "ab,bc->ac" (spaces ignored; without "->" the output is the letters that appear
 * once, in alphabetical order, as NumPy does). */
static int ein_parse(const char *eq, int n, struct ein_operand *ops, char *out)
{
    char clean[256];
    int len = 0;
    for (const char *c = eq; *c; c++)
        if (*c != ' ') {
            if (len >= 255)
                return err_set("einsum: equation too long");
            clean[len++] = *c;
        }
    clean[len] = 0;
    if (strstr(clean, "..."))
        return err_set("einsum: '...' (ellipsis) is not supported in '%s'", eq);
    char *arrow = strstr(clean, "->");
    if (arrow)
        *arrow = 0;
    int k = 0;
    char *tok = clean;
    for (;;) {
        char *comma = strchr(tok, ',');
        if (comma)
            *comma = 0;
        if (k >= n)
            return err_set("einsum: equation '%s' has more operands than the %d given", eq, n);
        if (strlen(tok) > TENSOR_MAXDIM)
            return err_set("einsum: operand %d has too many indices in '%s'", k + 1, eq);
        strcpy(ops[k].idx, tok);
        k++;
        if (!comma)
            break;
        tok = comma + 1;
    }
    if (k != n)
        return err_set("einsum: equation '%s' names %d operands, %d given", eq, k, n);
    int count[128] = {0};
    for (int i = 0; i < n; i++) {
        for (const char *c = ops[i].idx; *c; c++) {
            if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z')))
                return err_set("einsum: invalid index '%c' in '%s'", *c, eq);
            if (strchr(c + 1, *c))
                return err_set("einsum: index '%c' repeats within operand %d of '%s' "
                               "(diagonals are not supported)", *c, i + 1, eq);
            count[(int)*c]++;
        }
        if ((int)strlen(ops[i].idx) != ops[i].t->ndim)
            return err_set("einsum: operand %d has %d dimensions but '%s' gives it %d indices",
                           i + 1, ops[i].t->ndim, ops[i].idx, (int)strlen(ops[i].idx));
    }
    if (arrow) {
        const char *o = arrow + 2;
        if (strlen(o) > TENSOR_MAXDIM)
            return err_set("einsum: too many output indices in '%s'", eq);
        for (const char *c = o; *c; c++) {
            if (*c < 0 || !count[(int)*c])
                return err_set("einsum: output index '%c' does not appear in the inputs of '%s'",
                               *c, eq);
            if (strchr(c + 1, *c))
                return err_set("einsum: output index '%c' repeats in '%s'", *c, eq);
        }
        strcpy(out, o);
    } else {
        int m = 0;
        for (int c = 0; c < 128; c++)
            if (count[c] == 1)
                out[m++] = (char)c;
        out[m] = 0;
        if (m > TENSOR_MAXDIM)
            return err_set("einsum: too many output indices in '%s'", eq);
    }
    /* sizes agree */
    int64_t size[128];
    for (int c = 0; c < 128; c++)
        size[c] = -1;
    for (int i = 0; i < n; i++)
        for (int d = 0; ops[i].idx[d]; d++) {
            int c = ops[i].idx[d];
            if (size[c] >= 0 && size[c] != ops[i].t->shape[d])
                return err_set("einsum: index '%c' has size %lld in operand %d but %lld "
                               "elsewhere in '%s'", c, (long long)ops[i].t->shape[d], i + 1,
                               (long long)size[c], eq);
            size[c] = ops[i].t->shape[d];
        }
    return 0;
}

struct tensor *op_einsum(const char *eq, int n, struct tensor *const *operands)
{
    if (n < 1 || n > EIN_MAX) {
        err_set("einsum: between 1 and %d operands supported, got %d", EIN_MAX, n);
        return NULL;
    }
    struct ein_operand ops[EIN_MAX];
    char out_idx[TENSOR_MAXDIM + 1];
    for (int i = 0; i < n; i++) {
        ops[i].t = operands[i];
        if (operands[i]->dtype != DT_FLOAT32) {
            err_set("einsum: operand %d is %s, expected float32", i + 1,
                    dtype_name(operands[i]->dtype));
            return NULL;
        }
    }
    if (ein_parse(eq, n, ops, out_idx) < 0)
        return NULL;
    for (int i = 0; i < n; i++)
        tensor_retain(ops[i].t);
    int rc = 0;
    for (int i = 1; i < n && rc == 0; i++) {
        /* letters still needed: the output's and those of the operands not yet contracted */
        char keep[TENSOR_MAXDIM * EIN_MAX + TENSOR_MAXDIM + 1];
        strcpy(keep, out_idx);
        for (int j = i + 1; j < n; j++)
            strcat(keep, ops[j].idx);
        rc = ein_contract(&ops[0], &ops[i], keep);
    }
    if (rc == 0)
        rc = ein_sum_out(&ops[0], out_idx);
    struct tensor *out = rc == 0 ? ein_permute(&ops[0], out_idx) : NULL;
    for (int i = 0; i < n; i++)
        tensor_release(ops[i].t);
    return out;
}
