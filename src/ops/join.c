/* join.c — cat, stack, index_select, gather and masked_select, with their gradients.
 * Index tensors are int64 holding positions + index_base (1 from Lua, 0 from C). */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"

#include <stdlib.h>
#include <string.h>

/* ---- cat / stack ---- */

static int cat_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    int dim = (int)n->iarg[0];
    int64_t start = 0;
    for (int i = 0; i < n->n_in; i++) {
        int64_t len = n->in[i].shape[dim];
        if (ag_needs(n, i)) {
            struct tensor *v = op_narrow(g, dim, start, len);
            if (!v)
                return -1;
            gi[i] = v;
        }
        start += len;
    }
    return 0;
}

struct tensor *op_cat(int n, struct tensor *const *xs, int dim)
{
    if (n < 1) {
        err_set("cat: expected a non-empty list of tensors");
        return NULL;
    }
    const struct tensor *x0 = xs[0];
    if (x0->ndim == 0) {
        err_set("cat: zero-dimensional tensor 1 cannot be concatenated");
        return NULL;
    }
    if ((dim = dim_wrap("cat", dim, x0->ndim)) < 0)
        return NULL;
    int64_t shape[TENSOR_MAXDIM];
    memcpy(shape, x0->shape, sizeof shape);
    shape[dim] = 0;
    for (int i = 0; i < n; i++) {
        const struct tensor *x = xs[i];
        bool ok = x->ndim == x0->ndim && x->dtype == x0->dtype;
        for (int d = 0; ok && d < x->ndim; d++)
            ok = d == dim || x->shape[d] == x0->shape[d];
        if (!ok) {
            err_set("cat: tensor %d has shape %s %s, expected %s %s except in dimension %d", i + 1,
                    tshape(x), dtype_name(x->dtype), tshape(x0), dtype_name(x0->dtype), dim + 1);
            return NULL;
        }
        shape[dim] += x->shape[dim];
    }
    struct tensor *out = tensor_new(x0->dtype, x0->ndim, shape);
    if (!out)
        return NULL;
    int64_t start = 0;
    for (int i = 0; i < n; i++) {
        struct tensor *dst = tensor_alias(out, out->ndim, out->shape, out->stride, 0);
        if (!dst) {
            tensor_release(out);
            return NULL;
        }
        dst->shape[dim] = xs[i]->shape[dim];
        dst->offset = start * out->stride[dim];
        tensor_copy_into(dst, xs[i]);
        tensor_release(dst);
        start += xs[i]->shape[dim];
    }
    struct ag_node *node = ag_record(&out, "CatBackward", cat_backward, n, xs);
    if (node)
        node->iarg[0] = dim;
    return out;
}

struct tensor *op_stack(int n, struct tensor *const *xs, int dim)
{
    if (n < 1) {
        err_set("stack: expected a non-empty list of tensors");
        return NULL;
    }
    if ((dim = dim_wrap("stack", dim, xs[0]->ndim + 1)) < 0)
        return NULL;
    struct tensor **us = calloc((size_t)n, sizeof *us);
    if (!us) {
        err_set("stack: out of memory");
        return NULL;
    }
    struct tensor *out = NULL;
    int i;
    for (i = 0; i < n; i++) {
        if (!tensor_same_shape(xs[i], xs[0])) {
            err_set("stack: tensor %d has shape %s, expected %s like tensor 1", i + 1,
                    tshape(xs[i]), tshape(xs[0]));
            break;
        }
        if (!(us[i] = op_unsqueeze(xs[i], dim)))
            break;
    }
    if (i == n)
        out = op_cat(n, us, dim);
    for (int k = 0; k < n; k++)
        tensor_release(us[k]);
    free(us);
    return out;
}

/* ---- index_select / gather ---- */

static int check_index(const char *op, const struct tensor *idx)
{
    if (idx->dtype != DT_INT64)
        return err_set("%s: index must be an int64 tensor, got %s (convert with :long())", op,
                       dtype_name(idx->dtype));
    return 0;
}

/* Element i (row-major) of an int64 tensor, exactly: tensor_get_flat goes through a double,
 * and casting 2^63 back is undefined. */
static int64_t get_i64(const struct tensor *t, int64_t i)
{
    int64_t off = 0;
    for (int d = t->ndim - 1; d >= 0; d--) {
        off += (i % t->shape[d]) * t->stride[d];
        i /= t->shape[d];
    }
    return tensor_i64(t)[off];
}

/* idx_out[i] = idx[i] - base, checked against size. */
static int64_t *read_indices(const char *op, const struct tensor *idx, int64_t base,
                             int64_t size, int dim)
{
    int64_t n = tensor_numel(idx);
    int64_t *out = malloc(sizeof *out * (size_t)(n ? n : 1));
    if (!out) {
        err_set("%s: out of memory", op);
        return NULL;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t v = get_i64(idx, i);
        if (v < base || v - base >= size) { /* v < base first: v - base may overflow */
            err_set("%s: index %lld out of range for dimension %d of size %lld", op,
                    (long long)v, dim + 1, (long long)size);
            free(out);
            return NULL;
        }
        out[i] = v - base;
    }
    return out;
}

/* out[.., j, ..] = x[.., idx[j], ..] along dim, or the transpose (scatter-add) if add. */
static void select_rows(struct tensor *dst, const struct tensor *src, int dim,
                        const int64_t *ix, int64_t nidx, bool add)
{
    int64_t outer = 1, inner = 1;
    const struct tensor *big = add ? dst : src, *small = add ? src : dst;
    for (int d = 0; d < dim; d++)
        outer *= big->shape[d];
    for (int d = dim + 1; d < big->ndim; d++)
        inner *= big->shape[d];
    int64_t bsz = big->shape[dim];
    size_t es = dtype_size(dst->dtype);
    char *db = tensor_data(dst);
    const char *sb = tensor_data(src);
    (void)small;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < nidx; j++) {
            int64_t bi = (o * bsz + ix[j]) * inner, si = (o * nidx + j) * inner;
            if (add) {
                float *d = (float *)db + bi;
                const float *s = (const float *)sb + si;
                for (int64_t k = 0; k < inner; k++)
                    d[k] += s[k];
            } else {
                memcpy(db + si * (int64_t)es, sb + bi * (int64_t)es, (size_t)inner * es);
            }
        }
}

static int index_select_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *idx = ag_saved(n, 0);
    if (!idx)
        return -1;
    int dim = (int)n->iarg[0];
    int64_t *ix = read_indices("index_select", idx, n->iarg[1], n->in[0].shape[dim], dim);
    struct tensor *gc = ix ? tensor_contiguous(g) : NULL;
    struct tensor *z = gc ? tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape) : NULL;
    if (z)
        select_rows(z, gc, dim, ix, tensor_numel(idx), true);
    free(ix);
    tensor_release(gc);
    gi[0] = z;
    return z ? 0 : -1;
}

struct tensor *op_index_select(struct tensor *x, int dim, struct tensor *idx, int64_t base)
{
    if (check_index("index_select", idx) < 0)
        return NULL;
    if (idx->ndim > 1) {
        err_set("index_select: index must be 1-D, got shape %s", tshape(idx));
        return NULL;
    }
    if (x->ndim == 0) {
        err_set("index_select: cannot index a 0-d tensor");
        return NULL;
    }
    if ((dim = dim_wrap("index_select", dim, x->ndim)) < 0)
        return NULL;
    int64_t nidx = tensor_numel(idx);
    int64_t *ix = read_indices("index_select", idx, base, x->shape[dim], dim);
    if (!ix)
        return NULL;
    int64_t shape[TENSOR_MAXDIM];
    memcpy(shape, x->shape, sizeof shape);
    shape[dim] = nidx;
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *out = xc ? tensor_new(x->dtype, x->ndim, shape) : NULL;
    if (out)
        select_rows(out, xc, dim, ix, nidx, false);
    free(ix);
    tensor_release(xc);
    struct ag_node *n = ag_record(&out, "IndexSelectBackward", index_select_backward, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = base;
        ag_save(n, idx);
    }
    return out;
}

/* Walks idx's positions; for each, the flat offset into x (contiguous strides of x's shape)
 * with dim replaced by the index value. Returns -1 on an out-of-range index. */
static int gather_offsets(const char *op, const struct tensor *x_shape_src, int dim,
                          const struct tensor *idx, int64_t base, int64_t *offs)
{
    int64_t xst[TENSOR_MAXDIM];
    contiguous_strides(x_shape_src->ndim, x_shape_src->shape, xst);
    int64_t n = tensor_numel(idx), size = x_shape_src->shape[dim];
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = 0;
        for (int d = idx->ndim - 1; d >= 0; d--) {
            int64_t k = rem % idx->shape[d];
            rem /= idx->shape[d];
            if (d != dim)
                off += k * xst[d];
        }
        int64_t v = get_i64(idx, i);
        if (v < base || v - base >= size)
            return err_set("%s: index %lld out of range for dimension %d of size %lld", op,
                           (long long)v, dim + 1, (long long)size);
        offs[i] = off + (v - base) * xst[dim];
    }
    return 0;
}

static int gather_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *idx = ag_saved(n, 0);
    if (!idx)
        return -1;
    int dim = (int)n->iarg[0];
    struct tensor *z = tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape);
    struct tensor *gc = z ? tensor_contiguous(g) : NULL;
    int64_t cnt = tensor_numel(idx);
    int64_t *offs = gc ? malloc(sizeof *offs * (size_t)(cnt ? cnt : 1)) : NULL;
    int rc = offs ? gather_offsets("gather", z, dim, idx, n->iarg[1], offs) : -1;
    if (rc == 0) {
        float *zs = tensor_f32(z);
        const float *gs = tensor_f32(gc);
        for (int64_t i = 0; i < cnt; i++)
            zs[offs[i]] += gs[i];
    }
    free(offs);
    tensor_release(gc);
    if (rc < 0) {
        tensor_release(z);
        return -1;
    }
    gi[0] = z;
    return 0;
}

struct tensor *op_gather(struct tensor *x, int dim, struct tensor *idx, int64_t base)
{
    if (check_index("gather", idx) < 0)
        return NULL;
    if ((dim = dim_wrap("gather", dim, x->ndim)) < 0)
        return NULL;
    bool ok = idx->ndim == x->ndim;
    for (int d = 0; ok && d < x->ndim; d++)
        ok = d == dim || idx->shape[d] <= x->shape[d];
    if (!ok) {
        err_set("gather: index of shape %s does not fit input of shape %s in dimension %d",
                tshape(idx), tshape(x), dim + 1);
        return NULL;
    }
    int64_t cnt = tensor_numel(idx);
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *out = xc ? tensor_new(x->dtype, idx->ndim, idx->shape) : NULL;
    int64_t *offs = out ? malloc(sizeof *offs * (size_t)(cnt ? cnt : 1)) : NULL;
    if (!offs || gather_offsets("gather", xc, dim, idx, base, offs) < 0) {
        if (out && !offs)
            err_set("gather: out of memory");
        free(offs);
        tensor_release(xc);
        tensor_release(out);
        return NULL;
    }
    size_t es = dtype_size(x->dtype);
    char *ob = tensor_data(out);
    const char *xb = tensor_data(xc);
    for (int64_t i = 0; i < cnt; i++)
        memcpy(ob + i * (int64_t)es, xb + offs[i] * (int64_t)es, es);
    free(offs);
    tensor_release(xc);
    struct ag_node *n = ag_record(&out, "GatherBackward", gather_backward, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = base;
        ag_save(n, idx);
    }
    return out;
}

/* ---- masked_select ---- */

static int masked_select_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *mask = ag_saved(n, 0);
    if (!mask)
        return -1;
    int nd = (int)n->iarg[0];
    int64_t shape[TENSOR_MAXDIM];
    for (int d = 0; d < nd; d++)
        shape[d] = n->iarg[1 + d];
    struct tensor *z = tensor_zeros(DT_FLOAT32, nd, shape);
    struct tensor *me = z ? op_expand(mask, nd, shape) : NULL;
    struct tensor *gc = me ? tensor_contiguous(g) : NULL;
    if (!gc) {
        tensor_release(z);
        tensor_release(me);
        return -1;
    }
    float *zs = tensor_f32(z);
    const float *gs = tensor_f32(gc);
    for (int64_t i = 0, k = 0, m = tensor_numel(z); i < m; i++)
        if (tensor_get_flat(me, i) != 0)
            zs[i] = gs[k++];
    tensor_release(me);
    tensor_release(gc);
    gi[0] = op_sum_to(z, n->in[0].ndim, n->in[0].shape);
    tensor_release(z);
    return gi[0] ? 0 : -1;
}

struct tensor *op_masked_select(struct tensor *x, struct tensor *mask)
{
    int64_t shape[TENSOR_MAXDIM];
    int nd = shape_broadcast("masked_select", x->ndim, x->shape, mask->ndim, mask->shape, shape);
    if (nd < 0)
        return NULL;
    struct tensor *xe = op_expand(x, nd, shape); /* views; detached below */
    struct tensor *me = xe ? op_expand(mask, nd, shape) : NULL;
    if (!me) {
        tensor_release(xe);
        return NULL;
    }
    int64_t m = tensor_numel(me), count = 0;
    for (int64_t i = 0; i < m; i++)
        count += tensor_get_flat(me, i) != 0;
    struct tensor *out = tensor_new(x->dtype, 1, &count);
    if (out) {
        size_t es = dtype_size(x->dtype);
        struct tensor *xc = tensor_contiguous(xe);
        if (!xc) {
            tensor_release(out);
            out = NULL;
        } else {
            const char *xs = tensor_data(xc);
            char *os = tensor_data(out);
            for (int64_t i = 0, k = 0; i < m; i++)
                if (tensor_get_flat(me, i) != 0)
                    memcpy(os + (k++) * (int64_t)es, xs + i * (int64_t)es, es);
            tensor_release(xc);
        }
    }
    tensor_release(xe);
    tensor_release(me);
    struct ag_node *n = ag_record(&out, "MaskedSelectBackward", masked_select_backward, 1, &x);
    if (n) {
        n->iarg[0] = nd;
        for (int d = 0; d < nd; d++)
            n->iarg[1 + d] = shape[d];
        ag_save(n, mask);
    }
    return out;
}
