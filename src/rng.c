/* rng.c — the counter-based generator of rng.h (SplitMix64 over a counter). */
#include "loupe/rng.h"

#include "loupe/core.h"
#include "strided.h"

#include <math.h>

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
int rng_fill_normal(struct tensor *t, float mean, float std)
{
    if (require_contig_f32("randn", t) < 0)
        return -1;
    int64_t n = tensor_numel(t), pairs = (n + 1) / 2;
    uint64_t c0 = rng_take((uint64_t)pairs), key = seed_key;
    float *o = tensor_f32(t);
    PARALLEL_FOR(n > PAR_MIN_ELEMS / 4, j, pairs, {
        uint64_t w = rng_word_at(key, c0 + (uint64_t)j);
        double u1 = ((double)(w >> 32) + 1.0) * 0x1.0p-32; /* (0, 1]: log is finite */
        double u2 = (double)(w & 0xffffffffu) * 0x1.0p-32;
        double r = sqrt(-2.0 * log(u1)), a = 2.0 * M_PI * u2;
        o[2 * j] = mean + std * (float)(r * cos(a));
        if (2 * j + 1 < n)
            o[2 * j + 1] = mean + std * (float)(r * sin(a));
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
