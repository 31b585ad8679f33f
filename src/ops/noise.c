/* noise.c — Gaussian noise added to a float batch in one pass (kornia's RandomGaussianNoise:
 * each sample, with probability p, gets N(mean, std^2) added to every element), on the hot
 * path of noise-augmented training (2048 x 1024 normals per batch).
 *
 * The normals come from the counter-based stream of rng.h through Box-Muller in float32 with
 * branch-free Cephes polynomials for log and sin/cos, so the whole generator vectorises
 * (SplitMix64's 64-bit multiplies included, on AVX-512) instead of calling libm's double log,
 * sin and cos per pair. Layout: the tensor is cut into blocks of 2*NB elements; pair j of
 * block b uses counter c0 + b*NB + j and gives elements j (r cos) and j + NB (r sin) of the
 * block. Every element therefore depends only on the seed and its position: the same seed
 * gives the same noise for any thread count, and blocks can be generated in any order.
 * Accuracy: the polynomials are within ~2 ulp of float32 log/sin/cos; u1 has 31 random bits,
 * so |z| <= sqrt(2 ln 2^32) = 6.66 (a tail of probability 3e-11 is cut off). */
#include "loupe/transforms.h"

#include "loupe/autograd.h"
#include "loupe/core.h"
#include "loupe/rng.h"
#include "../strided.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NB 64 /* pairs per block */

static inline float as_float(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t as_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* log(x) for normal positive floats (Cephes logf). */
static inline float log_pos(float x)
{
    uint32_t u = as_bits(x);
    int32_t e = (int32_t)(u >> 23) - 126; /* x = m 2^e, m in [0.5, 1) */
    float m = as_float((u & 0x007fffffu) | 0x3f000000u);
    int32_t small = m < 0.70710678f;      /* then m -> 2m in [sqrt(1/2), sqrt(2)) */
    e -= small;
    m = small ? m + m : m;
    float f = m - 1.0f, z = f * f;
    float y = 7.0376836292e-2f;
    y = y * f - 1.1514610310e-1f;
    y = y * f + 1.1676998740e-1f;
    y = y * f - 1.2420140846e-1f;
    y = y * f + 1.4249322787e-1f;
    y = y * f - 1.6668057665e-1f;
    y = y * f + 2.0000714765e-1f;
    y = y * f - 2.4999993993e-1f;
    y = y * f + 3.3333331174e-1f;
    y = y * f * z;
    float fe = (float)e;
    y += -2.12194440e-4f * fe - 0.5f * z;
    return f + y + 0.693359375f * fe;
}

/* z[0..2*NB) = the normals of the block whose first pair has counter c. */
static void normals_block(float *restrict z, uint64_t key, uint64_t c)
{
    _Pragma("omp simd") for (int j = 0; j < NB; j++) {
        uint64_t w = rng_word_at(key, c + (uint64_t)j);
        float u1 = ((float)(int32_t)(w >> 33) + 0.5f) * 0x1p-31f; /* (0, 1] */
        float u2 = (float)(int32_t)(w & 0xffffffu) * 0x1p-24f;   /* [0, 1) */
        float r = sqrtf(-2.0f * log_pos(u1));
        /* angle 2 pi u2 = k pi/2 + t with t in [-pi/4, pi/4] */
        float q = u2 * 4.0f;
        int32_t k = (int32_t)(q + 0.5f);
        float t = (q - (float)k) * 1.57079632679489662f, t2 = t * t;
        float s = ((-1.9515295891e-4f * t2 + 8.3321608736e-3f) * t2 - 1.6666654611e-1f) * t2 * t + t;
        float co = ((2.443315711809948e-5f * t2 - 1.388731625493765e-3f) * t2 +
                    4.166664568298827e-2f) * t2 * t2 - 0.5f * t2 + 1.0f;
        float cs = (k & 1) ? s : co, sn = (k & 1) ? co : s;
        z[j] = ((k + 1) & 2) ? -r * cs : r * cs;
        z[j + NB] = (k & 2) ? -r * sn : r * sn;
    }
}

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
    int64_t nblocks = (total + 2 * NB - 1) / (2 * NB);
    uint64_t c0 = rng_take((uint64_t)(nblocks * NB));
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
        float z[2 * NB];
        bool have = false;
        int64_t i0 = b * 2 * NB, i1 = i0 + 2 * NB < total ? i0 + 2 * NB : total;
        for (int64_t i = i0; i < i1;) { /* one sample's part of the block at a time */
            int64_t s = i / per, e = (s + 1) * per < i1 ? (s + 1) * per : i1;
            if (sel[s]) {
                if (!have)
                    normals_block(z, key, c0 + (uint64_t)b * NB);
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
