/* batch.h — training batches gathered from a dataset held in memory (src/data/batch.c), for
 * the loader of lua/loupe/data/loader.lua.
 *
 * A dataset is x [N, ...] (uint8 raw images, or float32) and y [N] int64 labels. A batch is a
 * new float32 tensor [b, ...] holding the rows idx[0..b-1] of x, uint8 scaled to [0, 1] as
 * torchvision's to_tensor (v / 255.0f, bit for bit), float32 copied; and the matching labels.
 * The dataset is never copied: each batch reads only its own rows.
 *
 * An epoch iterator (batch_iter) walks a permutation in batches. With `prefetch` a second
 * thread makes batch k+1 while the caller works on batch k: the iterator keeps its own
 * references to x, y and the permutation (taken on the caller's thread); the thread only reads
 * their data and allocates the new batch tensors, which it hands over under a mutex. It runs
 * without OpenMP (a team of its own would fight the training threads for the cores). Batches
 * handed out belong to the caller and are never written again. */
#ifndef LOUPE_BATCH_H
#define LOUPE_BATCH_H

#include "loupe/tensor.h"

/* out [n, ...] float32 from the rows idx[i] - base of x (uint8 or float32 [N, ...]). Every
 * index is checked against N first. `parallel` allows an OpenMP team. Returns a new tensor, or
 * NULL with err_set. */
struct tensor *batch_gather(const struct tensor *x, const int64_t *idx, int64_t n, int64_t base,
                            bool parallel);
/* out [n] int64 = y[idx[i] - base] (y int64 [N]). */
struct tensor *batch_gather_labels(const struct tensor *y, const int64_t *idx, int64_t n,
                                   int64_t base);

struct batch_iter;

/* The batches of one epoch over samples perm[0..n-1] (int64 [>= n], positions + base), or
 * 0..n-1 in order when perm is NULL; batch_size per batch, the last one smaller unless
 * drop_last leaves it out. x, y and perm are retained. y must hold at least the rows of x that
 * are used. With prefetch the producer thread starts at once on batch 0. Returns NULL with
 * err_set on bad arguments (shapes, dtypes, an index out of range, a thread that cannot
 * start). */
struct batch_iter *batch_iter_new(struct tensor *x, struct tensor *y, struct tensor *perm,
                                  int64_t base, int64_t n, int64_t batch_size, bool drop_last,
                                  bool prefetch);
/* Number of batches of the epoch. */
int64_t batch_iter_count(const struct batch_iter *it);
/* The next batch into *xb, *yb (owned by the caller): returns 1, or 0 at the end of the epoch,
 * or -1 with err_set (an error of the producer thread is reported here, on the caller's
 * thread). */
int batch_iter_next(struct batch_iter *it, struct tensor **xb, struct tensor **yb);
/* Stops and joins the producer thread (if any), releases everything. NULL-safe. */
void batch_iter_free(struct batch_iter *it);

#endif
