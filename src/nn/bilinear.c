/* bilinear.c — the bilinear layer of the bilinear MLP (BILINEAR_SPEC.md, section 1):
 *     pre = x w^T + b            [M, 2H]   one sgemm for both halves, bias folded in
 *     y   = pre[:, :H] * pre[:, H:]        elementwise, OpenMP over rows
 * with w [2H, D] holding the left map in rows 0..H-1 and the right map in rows H..2H-1.
 * Backward, fused: gpre = [g * right, g * left] in one pass, then the three products of a
 * linear layer (gx = gpre w, gw = gpre^T x, gb = column sums). `pre` is the only tensor kept
 * besides x and w. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "nn_util.h"
#include "../strided.h"

static int bilinear_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *x = ag_saved(n, 0), *w = ag_saved(n, 1), *pre = ag_saved(n, 2);
    if (!x || !w || !pre)
        return -1;
    int64_t M = n->iarg[0], D = n->iarg[1], H = n->iarg[2];
    int64_t shape[2] = {M, 2 * H};
    struct tensor *gc = tensor_contiguous(g);
    struct tensor *gpre = gc ? tensor_new(DT_FLOAT32, 2, shape) : NULL;
    int rc = -1;
    if (gpre) {
        const float *gp = tensor_f32(gc), *pp = tensor_f32(pre);
        float *o = tensor_f32(gpre);
        PARALLEL_FOR(M * H > PAR_MIN_ELEMS, r, M, {
            const float *gr = gp + r * H, *left = pp + r * 2 * H, *right = left + H;
            float *ol = o + r * 2 * H, *orr = ol + H;
            _Pragma("omp simd") for (int64_t h = 0; h < H; h++) {
                ol[h] = gr[h] * right[h];
                orr[h] = gr[h] * left[h];
            }
        });
        rc = nn_affine_backward(n, o, x, w, M, D, 2 * H, gi);
    }
    tensor_release(gpre);
    tensor_release(gc);
    return rc;
}

struct tensor *op_bilinear(struct tensor *x, struct tensor *w, struct tensor *b)
{
    if (nn_check_affine("bilinear", x, w, b) < 0)
        return NULL;
    if (w->shape[0] % 2) {
        err_set("bilinear: weight %s must have an even number of rows (left and right halves)",
                tshape(w));
        return NULL;
    }
    int64_t H = w->shape[0] / 2, D = w->shape[1], M = 1, shape[TENSOR_MAXDIM];
    for (int d = 0; d < x->ndim - 1; d++) {
        M *= x->shape[d];
        shape[d] = x->shape[d];
    }
    shape[x->ndim - 1] = H;
    int64_t pshape[2] = {M, 2 * H};
    struct tensor *xc = tensor_contiguous(x), *wc = xc ? tensor_contiguous(w) : NULL;
    struct tensor *bc = wc && b ? tensor_contiguous(b) : NULL;
    struct tensor *pre = wc && (bc || !b) ? tensor_new(DT_FLOAT32, 2, pshape) : NULL;
    struct tensor *y = pre ? tensor_new(DT_FLOAT32, x->ndim, shape) : NULL;
    if (y) {
        const float *pp = tensor_f32(pre);
        float *o = tensor_f32(y);
        nn_affine_rows(tensor_f32(pre), tensor_f32(xc), tensor_f32(wc),
                       bc ? tensor_f32(bc) : NULL, M, D, 2 * H);
        PARALLEL_FOR(M * H > PAR_MIN_ELEMS, r, M, {
            const float *left = pp + r * 2 * H, *right = left + H;
            float *orow = o + r * H;
            _Pragma("omp simd") for (int64_t h = 0; h < H; h++) orow[h] = left[h] * right[h];
        });
    }
    struct tensor *ins[3] = {x, w, b};
    struct ag_node *n = ag_record(&y, "BilinearBackward", bilinear_backward, b ? 3 : 2, ins);
    if (n) {
        n->iarg[0] = M;
        n->iarg[1] = D;
        n->iarg[2] = H;
        ag_save(n, xc);
        ag_save(n, wc);
        ag_save(n, pre);
    }
    tensor_release(pre);
    tensor_release(xc);
    tensor_release(wc);
    tensor_release(bc);
    return y;
}
