/* shape.c — views (view, reshape, permute, transpose, narrow, select, squeeze, unsqueeze,
 * expand, flatten), copies (contiguous, clone, dtype conversion, detach) and their
 * gradients. Views share storage; any dtype is accepted. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/ops.h"

#include <string.h>

/* ---- view / reshape ---- */

static int infer_shape(const char *op, const struct tensor *x, int ndim, const int64_t *in,
                       int64_t *out)
{
    int64_t known = 1, numel = tensor_numel(x);
    int infer = -1;
    /* sizes are user input: the product of the non-zero ones must fit (strides are products
     * of sizes too, also in an empty tensor) */
    bool overflow = false, zero = false;
    if (ndim > TENSOR_MAXDIM)
        return err_set("%s: %d dimensions requested, at most %d supported", op, ndim,
                       TENSOR_MAXDIM);
    for (int d = 0; d < ndim; d++) {
        out[d] = in[d];
        if (in[d] == -1) {
            if (infer >= 0)
                return err_set("%s: only one dimension can be inferred (-1) in %s", op,
                               shape_fmt(ndim, in));
            infer = d;
        } else if (in[d] < 0) {
            return err_set("%s: invalid size %lld in shape %s", op, (long long)in[d],
                           shape_fmt(ndim, in));
        } else if (in[d] == 0) {
            zero = true;
        } else {
            overflow |= __builtin_mul_overflow(known, in[d], &known);
        }
    }
    if (overflow)
        return err_set("%s: shape %s is invalid for %lld elements", op, shape_fmt(ndim, in),
                       (long long)numel);
    if (zero)
        known = 0;
    if (infer >= 0) {
        if (known == 0 || numel % known != 0)
            return err_set("%s: shape %s is invalid for %lld elements", op, shape_fmt(ndim, in),
                           (long long)numel);
        out[infer] = numel / known;
    } else if (known != numel) {
        return err_set("%s: shape %s is invalid for %lld elements", op, shape_fmt(ndim, in),
                       (long long)numel);
    }
    return 0;
}

/* Strides that let x's data be seen with `shape` without a copy (ATen's computeStride);
 * false when impossible. */
static bool view_strides(const struct tensor *x, int ndim, const int64_t *shape, int64_t *stride)
{
    if (x->ndim == 0 || tensor_numel(x) == 0) {
        contiguous_strides(ndim, shape, stride);
        return true;
    }
    int view_d = ndim - 1;
    int64_t chunk_base = x->stride[x->ndim - 1], tnumel = 1, vnumel = 1;
    for (int td = x->ndim - 1; td >= 0; td--) {
        tnumel *= x->shape[td];
        if (td == 0 || (x->shape[td - 1] != 1 && x->stride[td - 1] != tnumel * chunk_base)) {
            while (view_d >= 0 && (vnumel < tnumel || shape[view_d] == 1)) {
                stride[view_d] = vnumel * chunk_base;
                vnumel *= shape[view_d];
                view_d--;
            }
            if (vnumel != tnumel)
                return false;
            if (td > 0) {
                chunk_base = x->stride[td - 1];
                tnumel = 1;
                vnumel = 1;
            }
        }
    }
    return view_d == -1;
}

static int reshape_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    gi[0] = op_reshape(g, n->in[0].ndim, n->in[0].shape);
    return gi[0] ? 0 : -1;
}

static struct tensor *record_view(struct tensor *out, struct tensor *x, const char *name,
                                  ag_backward_fn bw)
{
    ag_record(&out, name, bw, 1, &x);
    return out;
}

struct tensor *op_view(struct tensor *x, int ndim, const int64_t *shape)
{
    int64_t s[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
    if (infer_shape("view", x, ndim, shape, s) < 0)
        return NULL;
    if (!view_strides(x, ndim, s, st)) {
        err_set("view: a tensor of shape %s with these strides cannot be viewed as %s; use "
                "reshape (which copies) or contiguous() first", tshape(x), shape_fmt(ndim, s));
        return NULL;
    }
    struct tensor *out = tensor_alias(x, ndim, s, st, x->offset);
    return record_view(out, x, "ViewBackward", reshape_backward);
}

struct tensor *op_reshape(struct tensor *x, int ndim, const int64_t *shape)
{
    int64_t s[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
    if (infer_shape("reshape", x, ndim, shape, s) < 0)
        return NULL;
    if (view_strides(x, ndim, s, st))
        return record_view(tensor_alias(x, ndim, s, st, x->offset), x, "ViewBackward",
                           reshape_backward);
    struct tensor *c = tensor_copy(x);
    if (!c)
        return NULL;
    struct tensor *out = tensor_alias(c, ndim, s, (contiguous_strides(ndim, s, st), st), 0);
    tensor_release(c);
    return record_view(out, x, "ReshapeBackward", reshape_backward);
}

struct tensor *op_flatten(struct tensor *x, int start, int end)
{
    if (x->ndim == 0) {
        int64_t one = 1;
        return op_reshape(x, 1, &one);
    }
    if ((start = dim_wrap("flatten", start, x->ndim)) < 0 ||
        (end = dim_wrap("flatten", end, x->ndim)) < 0)
        return NULL;
    if (start > end) {
        err_set("flatten: start dimension %d comes after end dimension %d", start + 1, end + 1);
        return NULL;
    }
    int64_t s[TENSOR_MAXDIM];
    int k = 0;
    for (int d = 0; d < x->ndim; d++) {
        if (d <= start || d > end)
            s[k++] = x->shape[d];
        else
            s[k - 1] *= x->shape[d];
    }
    return op_reshape(x, k, s);
}

/* ---- permute / transpose ---- */

static int permute_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    int inv[TENSOR_MAXDIM];
    for (int d = 0; d < n->in[0].ndim; d++)
        inv[n->iarg[d]] = d;
    gi[0] = op_permute(g, inv);
    return gi[0] ? 0 : -1;
}

struct tensor *op_permute(struct tensor *x, const int *perm)
{
    int64_t s[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
    bool seen[TENSOR_MAXDIM] = {0};
    for (int d = 0; d < x->ndim; d++) {
        int p = perm[d];
        if (p < 0 || p >= x->ndim || seen[p]) {
            err_set("permute: the dimensions do not form a permutation of 1..%d", x->ndim);
            return NULL;
        }
        seen[p] = true;
        s[d] = x->shape[p];
        st[d] = x->stride[p];
    }
    struct tensor *out = tensor_alias(x, x->ndim, s, st, x->offset);
    struct ag_node *n = ag_record(&out, "PermuteBackward", permute_backward, 1, &x);
    if (n)
        for (int d = 0; d < x->ndim; d++)
            n->iarg[d] = perm[d];
    return out;
}

struct tensor *op_transpose(struct tensor *x, int d0, int d1)
{
    if (x->ndim < 2 && d0 >= -1 && d0 <= 0 && d1 >= -1 && d1 <= 0)
        return op_view(x, x->ndim, x->shape);
    if ((d0 = dim_wrap("transpose", d0, x->ndim)) < 0 ||
        (d1 = dim_wrap("transpose", d1, x->ndim)) < 0)
        return NULL;
    int perm[TENSOR_MAXDIM];
    for (int d = 0; d < x->ndim; d++)
        perm[d] = d;
    perm[d0] = d1;
    perm[d1] = d0;
    return op_permute(x, perm);
}

/* ---- narrow / select ---- */

/* Gradient of a view that picks a sub-block: zeros, with g copied into the same block. */
static int narrow_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *z = tensor_zeros(DT_FLOAT32, n->in[0].ndim, n->in[0].shape);
    if (!z)
        return -1;
    struct tensor *block = n->iarg[2] < 0 ? op_select(z, (int)n->iarg[0], n->iarg[1])
                                          : op_narrow(z, (int)n->iarg[0], n->iarg[1], n->iarg[2]);
    if (!block || tensor_copy_into(block, g) < 0) {
        tensor_release(block);
        tensor_release(z);
        return -1;
    }
    tensor_release(block);
    gi[0] = z;
    return 0;
}

struct tensor *op_narrow(struct tensor *x, int dim, int64_t start, int64_t length)
{
    if ((dim = dim_wrap("narrow", dim, x->ndim)) < 0)
        return NULL;
    if (x->ndim == 0) {
        err_set("narrow: cannot narrow a 0-d tensor");
        return NULL;
    }
    int64_t size = x->shape[dim];
    if (start < 0 || length < 0 || start > size || length > size - start) {
        int64_t end;
        if (__builtin_add_overflow(start, length, &end))
            err_set("narrow: start %lld with length %lld out of range for dimension %d of size "
                    "%lld", (long long)start + 1, (long long)length, dim + 1, (long long)size);
        else
            err_set("narrow: range %lld..%lld out of range for dimension %d of size %lld",
                    (long long)start + 1, (long long)end, dim + 1, (long long)size);
        return NULL;
    }
    int64_t s[TENSOR_MAXDIM];
    memcpy(s, x->shape, sizeof s);
    s[dim] = length;
    struct tensor *out = tensor_alias(x, x->ndim, s, x->stride, x->offset + start * x->stride[dim]);
    struct ag_node *n = ag_record(&out, "NarrowBackward", narrow_backward, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = start;
        n->iarg[2] = length;
    }
    return out;
}

struct tensor *op_select(struct tensor *x, int dim, int64_t index)
{
    if (x->ndim == 0) {
        err_set("select: cannot index a 0-d tensor");
        return NULL;
    }
    if ((dim = dim_wrap("select", dim, x->ndim)) < 0)
        return NULL;
    int64_t size = x->shape[dim];
    if (index < -size || index >= size) {
        err_set("index %lld out of range for dimension %d of size %lld",
                (long long)(index < 0 ? index : index + 1), dim + 1, (long long)size);
        return NULL;
    }
    if (index < 0)
        index += size;
    int64_t s[TENSOR_MAXDIM], st[TENSOR_MAXDIM];
    int k = 0;
    for (int d = 0; d < x->ndim; d++)
        if (d != dim) {
            s[k] = x->shape[d];
            st[k++] = x->stride[d];
        }
    struct tensor *out = tensor_alias(x, k, s, st, x->offset + index * x->stride[dim]);
    struct ag_node *n = ag_record(&out, "SelectBackward", narrow_backward, 1, &x);
    if (n) {
        n->iarg[0] = dim;
        n->iarg[1] = index;
        n->iarg[2] = -1;
    }
    return out;
}

/* ---- squeeze / unsqueeze / expand ---- */

struct tensor *op_squeeze(struct tensor *x, int dim)
{
    int64_t s[TENSOR_MAXDIM];
    int k = 0;
    if (dim != DIM_ALL && x->ndim > 0 && (dim = dim_wrap("squeeze", dim, x->ndim)) < 0)
        return NULL;
    for (int d = 0; d < x->ndim; d++)
        if (!(x->shape[d] == 1 && (dim == DIM_ALL || dim == d)))
            s[k++] = x->shape[d];
    return op_view(x, k, s);
}

struct tensor *op_unsqueeze(struct tensor *x, int dim)
{
    if (x->ndim >= TENSOR_MAXDIM) {
        err_set("unsqueeze: at most %d dimensions supported", TENSOR_MAXDIM);
        return NULL;
    }
    if ((dim = dim_wrap("unsqueeze", dim, x->ndim + 1)) < 0)
        return NULL;
    int64_t s[TENSOR_MAXDIM];
    for (int d = 0, k = 0; d <= x->ndim; d++)
        s[d] = d == dim ? 1 : x->shape[k++];
    return op_view(x, x->ndim + 1, s);
}

static int expand_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    gi[0] = op_sum_to(g, n->in[0].ndim, n->in[0].shape);
    return gi[0] ? 0 : -1;
}

struct tensor *op_expand(struct tensor *x, int ndim, const int64_t *shape)
{
    if (ndim < x->ndim || ndim > TENSOR_MAXDIM) {
        err_set("expand: cannot expand shape %s to %s", tshape(x), shape_fmt(ndim, shape));
        return NULL;
    }
    int64_t s[TENSOR_MAXDIM], st[TENSOR_MAXDIM], numel = 1;
    int lead = ndim - x->ndim;
    for (int d = 0; d < ndim; d++) {
        int64_t have = d < lead ? 1 : x->shape[d - lead];
        int64_t want = shape[d] == -1 && d >= lead ? have : shape[d];
        if (want < 0 || (have != want && have != 1)) {
            err_set("expand: cannot expand shape %s to %s", tshape(x), shape_fmt(ndim, shape));
            return NULL;
        }
        s[d] = want;
        st[d] = (d < lead || have != want) ? 0 : x->stride[d - lead];
        if (want && __builtin_mul_overflow(numel, want, &numel)) { /* sizes must fit int64 */
            err_set("expand: out of memory: shape %s has too many elements",
                    shape_fmt(ndim, shape));
            return NULL;
        }
    }
    struct tensor *out = tensor_alias(x, ndim, s, st, x->offset);
    return record_view(out, x, "ExpandBackward", expand_backward);
}

/* ---- copies ---- */

static int identity_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    gi[0] = tensor_retain(g);
    return 0;
}

struct tensor *op_contiguous(struct tensor *x)
{
    if (tensor_is_contiguous(x))
        return tensor_retain(x);
    return op_clone(x);
}

struct tensor *op_clone(struct tensor *x)
{
    return record_view(tensor_copy(x), x, "CloneBackward", identity_backward);
}

struct tensor *op_to_dtype(struct tensor *x, enum dtype dt)
{
    struct tensor *out = tensor_to_dtype(x, dt);
    if (dt == DT_FLOAT32 && x->dtype == DT_FLOAT32)
        return record_view(out, x, "CloneBackward", identity_backward);
    return out;
}

struct tensor *op_detach(struct tensor *x)
{
    return tensor_alias(x, x->ndim, x->shape, x->stride, x->offset);
}
