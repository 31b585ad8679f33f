/* rng.c — the counter-based generator of rng.h (SplitMix64 over a counter). */
#include "loupe/rng.h"

#include "loupe/core.h"
#include "strided.h"

#include <math.h>
#include <string.h>

static uint64_t seed_key = 0x853c49e6748fea9bULL, counter;
static uint64_t initial_seed;

uint64_t rng_key_of(uint64_t seed) { return rng_mix(seed ^ 0x6a09e667f3bcc909ULL); }

uint64_t rng_key(void) { return seed_key; }

void rng_seed(uint64_t seed)
{
    initial_seed = seed;
    seed_key = rng_key_of(seed);
    counter = 0;
}

uint64_t rng_initial_seed(void) { return initial_seed; }

void rng_get_state(uint64_t *seed, uint64_t *c)
{
    *seed = initial_seed;
    *c = counter;
}

void rng_set_state(uint64_t seed, uint64_t c)
{
    rng_seed(seed);
    counter = c;
}

uint64_t rng_take(uint64_t n)
{
    uint64_t c = counter;
    counter += n;
    return c;
}

uint64_t rng_word(uint64_t c) { return rng_word_at(seed_key, c); }

static inline double to_unit(uint64_t w) { return (double)(w >> 11) * 0x1.0p-53; }

double rng_uniform1(void) { return to_unit(rng_word(rng_take(1))); }

/* Lemire's multiply-shift: maps a 64-bit word onto [0, n) with negligible bias. */
static inline uint64_t below(uint64_t w, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)w * n) >> 64);
}

uint64_t rng_below(uint64_t n) { return below(rng_word(rng_take(1)), n); }

static int require_contig_f32(const char *op, const struct tensor *t)
{
    if (t->dtype != DT_FLOAT32 || !tensor_is_contiguous(t))
        return err_set("%s: expected a contiguous float32 tensor", op);
    return 0;
}

int rng_fill_uniform(struct tensor *t, float lo, float hi)
{
    if (require_contig_f32("rand", t) < 0)
        return -1;
    int64_t n = tensor_numel(t);
    uint64_t c0 = rng_take((uint64_t)n), key = seed_key;
    float *o = tensor_f32(t), span = hi - lo;
    PARALLEL_FOR(n > PAR_MIN_ELEMS, i, n, {
        float u = (float)(rng_word_at(key, c0 + (uint64_t)i) >> 40) * 0x1.0p-24f;
        o[i] = lo + span * u;
    });
    return 0;
}

/* Box-Muller: word j gives two normals, for elements 2j and 2j+1. */
/* Float32 Box-Muller with branch-free Cephes polynomials for log and sin/cos, so the whole
 * generator vectorises (SplitMix64's 64-bit multiplies included, on AVX-512) instead of
 * calling libm's double log, sin and cos per pair (measured about 15x faster). Pair j of a
 * block uses counter c + j and gives elements j (r cos) and j + RNG_NB (r sin). Accuracy:
 * the polynomials are within ~2 ulp of float32 log/sin/cos; u1 has 31 random bits, so
 * |z| <= sqrt(2 ln 2^32) = 6.66 (a tail of probability 3e-11 is cut off). */

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

/* z[0..2*RNG_NB) = the normals of the block whose first pair has counter c. */
void rng_normal_block(float *restrict z, uint64_t key, uint64_t c)
{
    _Pragma("omp simd") for (int j = 0; j < RNG_NB; j++) {
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
        z[j + RNG_NB] = (k & 2) ? -r * sn : r * sn;
    }
}

int rng_fill_normal(struct tensor *t, float mean, float std)
{
    if (require_contig_f32("randn", t) < 0)
        return -1;
    int64_t n = tensor_numel(t), nblocks = (n + 2 * RNG_NB - 1) / (2 * RNG_NB);
    uint64_t c0 = rng_take((uint64_t)(nblocks * RNG_NB)), key = seed_key;
    float *o = tensor_f32(t);
    PARALLEL_FOR(n > PAR_MIN_ELEMS / 4, b, nblocks, {
        float z[2 * RNG_NB];
        rng_normal_block(z, key, c0 + (uint64_t)b * RNG_NB);
        int64_t i0 = b * 2 * RNG_NB, m = n - i0 < 2 * RNG_NB ? n - i0 : 2 * RNG_NB;
        _Pragma("omp simd") for (int64_t k = 0; k < m; k++) o[i0 + k] = z[k] * std + mean;
    });
    return 0;
}

int rng_fill_randint(struct tensor *t, int64_t lo, int64_t hi)
{
    if (!tensor_is_contiguous(t) || t->dtype == DT_UINT8)
        return err_set("randint: expected a contiguous int64 or float32 tensor");
    if (hi <= lo)
        return err_set("randint: empty range [%lld, %lld)", (long long)lo, (long long)hi);
    int64_t n = tensor_numel(t);
    /* unsigned arithmetic: hi - lo may exceed INT64_MAX (randint(-2^63, 2)) */
    uint64_t c0 = rng_take((uint64_t)n), key = seed_key, span = (uint64_t)hi - (uint64_t)lo;
    for (int64_t i = 0; i < n; i++) {
        int64_t v = (int64_t)((uint64_t)lo + below(rng_word_at(key, c0 + (uint64_t)i), span));
        if (t->dtype == DT_INT64)
            tensor_i64(t)[i] = v;
        else
            tensor_f32(t)[i] = (float)v;
    }
    return 0;
}

struct tensor *rng_randperm(int64_t n, int64_t base)
{
    if (n < 0) {
        err_set("randperm: n must be non-negative, got %lld", (long long)n);
        return NULL;
    }
    return rng_randperm_at(n, base, seed_key, rng_take((uint64_t)n));
}

struct tensor *rng_randperm_at(int64_t n, int64_t base, uint64_t key, uint64_t c0)
{
    if (n < 0) {
        err_set("randperm: n must be non-negative, got %lld", (long long)n);
        return NULL;
    }
    struct tensor *t = tensor_new(DT_INT64, 1, &n);
    if (!t)
        return NULL;
    int64_t *p = tensor_i64(t);
    for (int64_t i = 0; i < n; i++)
        p[i] = i + base;
    for (int64_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        int64_t j = (int64_t)below(rng_word_at(key, c0 + (uint64_t)i), (uint64_t)i + 1);
        int64_t tmp = p[i];
        p[i] = p[j];
        p[j] = tmp;
    }
    return t;
}
