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
/* One uniform double in [0, 1) / one integer in [0, n) from the global stream. */
double rng_uniform1(void);
uint64_t rng_below(uint64_t n);

/* Fill a contiguous float32 tensor in place. */
int rng_fill_uniform(struct tensor *t, float lo, float hi);
int rng_fill_normal(struct tensor *t, float mean, float std);
/* Integers in [lo, hi) into an int64 (or float32) contiguous tensor. */
int rng_fill_randint(struct tensor *t, int64_t lo, int64_t hi);
/* A permutation of base..base+n-1 (int64). */
struct tensor *rng_randperm(int64_t n, int64_t base);

#endif
