/* noise.c — Gaussian noise added to a float batch in one pass (kornia's RandomGaussianNoise:
 * each sample, with probability p, gets N(mean, std^2) added to every element), on the hot
 * path of noise-augmented training (2048 x 1024 normals per batch).
 *
 * The normals come in blocks from rng_normal_block (rng.h: vectorised float32 Box-Muller,
 * each element a function of the seed and its position only), so the same seed gives the
 * same noise for any thread count. */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/rng.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int noise_backward(struct ag_node *n, struct tensor *g, struct tensor **gi)
{
    gi[0] = tensor_retain(g);
    return 0;
}

struct tensor *op_add_noise(struct tensor *x, int64_t nsamples, float mean, float std, double p)
{
    if (x->dtype != DT_FLOAT32) {
        err_set("gaussian_noise: expected a float32 tensor, got %s", dtype_name(x->dtype));
        return NULL;
    }
    int64_t total = tensor_numel(x);
    if (nsamples < 1 || total % nsamples != 0) {
        err_set("gaussian_noise: %s does not split into %lld samples", tshape(x),
                (long long)nsamples);
        return NULL;
    }
    int64_t per = total / nsamples;
    uint8_t *sel = malloc((size_t)nsamples);
    if (!sel) {
        err_set("gaussian_noise: out of memory");
        return NULL;
    }
    /* the coins first, then the noise of every element (drawn or not), so an element's noise
     * depends on its position only */
    uint64_t key = rng_key(), cc = rng_take((uint64_t)nsamples);
    for (int64_t s = 0; s < nsamples; s++)
        sel[s] = p >= 1.0 || (double)(rng_word_at(key, cc + (uint64_t)s) >> 11) * 0x1p-53 < p;
    int64_t nblocks = (total + 2 * RNG_NB - 1) / (2 * RNG_NB);
    uint64_t c0 = rng_take((uint64_t)(nblocks * RNG_NB));
    struct tensor *xc = tensor_contiguous(x);
    struct tensor *out = xc ? tensor_new(DT_FLOAT32, x->ndim, x->shape) : NULL;
    if (!out) {
        tensor_release(xc);
        free(sel);
        return NULL;
    }
    const float *xv = tensor_f32(xc);
    float *o = tensor_f32(out);
    PARALLEL_FOR(total > PAR_MIN_ELEMS / 4, b, nblocks, {
        float z[2 * RNG_NB];
        bool have = false;
        int64_t i0 = b * 2 * RNG_NB, i1 = i0 + 2 * RNG_NB < total ? i0 + 2 * RNG_NB : total;
        for (int64_t i = i0; i < i1;) { /* one sample's part of the block at a time */
            int64_t s = i / per, e = (s + 1) * per < i1 ? (s + 1) * per : i1;
            if (sel[s]) {
                if (!have)
                    rng_normal_block(z, key, c0 + (uint64_t)b * RNG_NB);
                have = true;
                _Pragma("omp simd") for (int64_t k = i; k < e; k++)
                    o[k] = xv[k] + (z[k - i0] * std + mean);
            } else {
                memcpy(o + i, xv + i, sizeof(float) * (size_t)(e - i));
            }
            i = e;
        }
    });
    tensor_release(xc);
    free(sel);
    ag_record(&out, "AddNoiseBackward", noise_backward, 1, &x);
    return out;
}
