/* rng.h — the one seeded pseudo-random generator.
 *
 * Counter-based: the stream is SplitMix64 applied to (seed, counter). A request for n numbers
 * takes counters [c, c+n) and advances c by n, so element i of a tensor depends only on the
 * seed and its position: results are bit-identical for the same seed whatever the thread
 * count, and filling a tensor parallelises without locks. */
#ifndef LOUPE_RNG_H
#define LOUPE_RNG_H

#include "loupe/tensor.h"

void rng_seed(uint64_t seed);
uint64_t rng_initial_seed(void);
/* Saves / restores the generator position (for checkpoints). */
void rng_get_state(uint64_t *seed, uint64_t *counter);
void rng_set_state(uint64_t seed, uint64_t counter);

/* Reserve n counters; returns the first. */
uint64_t rng_take(uint64_t n);
/* The 64-bit random word for counter c. */
uint64_t rng_word(uint64_t c);

/* The stream itself, for kernels that draw many numbers in vectorised loops: the word for
 * counter c of the stream with key `key` (SplitMix64's output function of key + (c+1)*gamma).
 * rng_key() is the key of the current seed, so rng_word(c) == rng_word_at(rng_key(), c);
 * rng_key_of(seed) is the key of another seed's stream, for a private generator (a data
 * loader's own seed) that leaves the global position alone. */
static inline uint64_t rng_mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static inline uint64_t rng_word_at(uint64_t key, uint64_t c)
{
    return rng_mix(key + (c + 1) * 0x9e3779b97f4a7c15ULL);
}
uint64_t rng_key(void);
uint64_t rng_key_of(uint64_t seed);
/* One uniform double in [0, 1) / one integer in [0, n) from the global stream. */
double rng_uniform1(void);
uint64_t rng_below(uint64_t n);

/* Fill a contiguous float32 tensor in place. */
int rng_fill_uniform(struct tensor *t, float lo, float hi);
int rng_fill_normal(struct tensor *t, float mean, float std);
/* The 2*RNG_NB standard normals of the block whose first pair has counter c (vectorised
 * float32 Box-Muller); rng_fill_normal and the noise transform are built on it. */
#define RNG_NB 64
void rng_normal_block(float *z, uint64_t key, uint64_t c);
/* Integers in [lo, hi) into an int64 (or float32) contiguous tensor. */
int rng_fill_randint(struct tensor *t, int64_t lo, int64_t hi);
/* A permutation of base..base+n-1 (int64). */
struct tensor *rng_randperm(int64_t n, int64_t base);
/* The same from counters [c0, c0 + n) of the stream `key` (the global position is untouched). */
struct tensor *rng_randperm_at(int64_t n, int64_t base, uint64_t key, uint64_t c0);

#endif
