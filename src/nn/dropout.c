/* dropout.c — inverted dropout: each element is zeroed with probability p and the survivors
 * are scaled by 1/(1-p), so the expected output equals the input; identity (the input itself,
 * as PyTorch returns it) when not training or p == 0.
 *
 * Element i draws the uniform of counter c0 + i of the seeded generator (rng.h), so the mask
 * depends only on the seed, the generator position and the element's position: the same seed
 * gives the same mask whatever the thread count. The mask (0 or the scale) is kept for
 * backward: gx = g * mask. */
#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/nn.h"
#include "loupe/ops.h"
#include "loupe/rng.h"
#include "nn_util.h"
#include "../strided.h"

static int dropout_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    struct tensor *mask = ag_saved(n, 0);
    if (!mask)
        return -1;
    gi[0] = op_mul(g, mask);
    return gi[0] ? 0 : -1;
}

struct tensor *op_dropout(struct tensor *x, double p, bool training)
{
    if (nn_require_f32("dropout", "input", x) < 0)
        return NULL;
    if (!(p >= 0 && p <= 1)) {
        err_set("dropout: probability must be in [0, 1], got %g", p);
        return NULL;
    }
    if (!training || p == 0)
        return tensor_retain(x);
    int64_t total = tensor_numel(x);
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *mask = xc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    struct tensor *y = mask ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (y) {
        uint64_t c0 = rng_take((uint64_t)total);
        float scale = (float)(1.0 / (1.0 - p)); /* unused (inf) when p == 1: nothing is kept */
        const float *xp = tensor_f32(xc);
        float *mp = tensor_f32(mask), *yp = tensor_f32(y);
        const int64_t block = 4096;
        PARALLEL_FOR(total > PAR_MIN_ELEMS, b, (total + block - 1) / block, {
            int64_t end = (b + 1) * block < total ? (b + 1) * block : total;
            for (int64_t i = b * block; i < end; i++) {
                double u = (double)(rng_word(c0 + (uint64_t)i) >> 11) * 0x1.0p-53;
                float m = u >= p ? scale : 0.0f;
                mp[i] = m;
                yp[i] = xp[i] * m;
            }
        });
    }
    tensor_release(xc);
    struct ag_node *n = ag_record(&y, "DropoutBackward", dropout_backward, 1, &x);
    if (n)
        ag_save(n, mask);
    tensor_release(mask);
    return y;
}
