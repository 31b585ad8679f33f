/* linear.c — the fully connected layer y = x w^T + b over the last dimension of x: one sgemm
 * over all leading dimensions flattened into rows, with the bias folded in (the rows of y start
 * as b and the product is added with beta = 1). Backward: gx = g w, gw = g^T x, gb = column
 * sums of g, all over the flattened rows. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"

static int linear_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *w = ag_saved(n, 1);
    if (!x || !w)
        return -1;
    struct tensor *gc = tensor_contiguous(g);
    if (!gc)
        return -1;
    int rc = nn_affine_backward(n, tensor_f32(gc), x, w, n->iarg[0], n->iarg[1], n->iarg[2], gi);
    tensor_release(gc);
    return rc;
}

int nn_check_affine(const char *op, const struct tensor *x, const struct tensor *w,
                    const struct tensor *b)
{
    if (nn_require_f32(op, "input", x) < 0 || nn_require_f32(op, "weight", w) < 0 ||
        (b && nn_require_f32(op, "bias", b) < 0))
        return -1;
    if (w->ndim != 2)
        return err_set("%s: weight must be 2-D [out, in], got %s", op, tshape(w));
    if (x->ndim < 1 || x->shape[x->ndim - 1] != w->shape[1])
        return err_set("%s: input %s does not match weight %s (expects [..., %lld])", op,
                       tshape(x), tshape(w), (long long)w->shape[1]);
    if (b && (b->ndim != 1 || b->shape[0] != w->shape[0]))
        return err_set("%s: bias %s does not match weight %s (expects [%lld])", op, tshape(b),
                       tshape(w), (long long)w->shape[0]);
    if (nn_require_blas_sizes(op, x) < 0 || nn_require_blas_sizes(op, w) < 0)
        return -1;
    return 0;
}

struct tensor *op_linear(struct tensor *x, struct tensor *w, struct tensor *b)
{
    if (nn_check_affine("linear", x, w, b) < 0)
        return NULL;
    int64_t R = w->shape[0], D = w->shape[1], M = 1, shape[TENSOR_MAXDIM];
    for (int d = 0; d < x->ndim - 1; d++) {
        M *= x->shape[d];
        shape[d] = x->shape[d];
    }
    shape[x->ndim - 1] = R;
    struct tensor *xc = tensor_contiguous(x), *wc = xc ? tensor_contiguous(w) : NULL;
    struct tensor *bc = wc && b ? tensor_contiguous(b) : NULL;
    struct tensor *y = wc && (bc || !b) ? tensor_new(DT_FLOAT32, x->ndim, shape) : NULL;
    if (y)
        nn_affine_rows(tensor_f32(y), tensor_f32(xc), tensor_f32(wc), bc ? tensor_f32(bc) : NULL,
                       M, D, R);
    struct tensor *ins[3] = {x, w, b};
    struct ag_node *n = ag_record(&y, "LinearBackward", linear_backward, b ? 3 : 2, ins);
    if (n) {
        n->iarg[0] = M;
        n->iarg[1] = D;
        n->iarg[2] = R;
        ag_save(n, xc);
        ag_save(n, wc);
    }
    tensor_release(xc);
    tensor_release(wc);
    tensor_release(bc);
    return y;
}
