/* batch.c — batch gathering and the prefetching epoch iterator of batch.h.
 *
 * The gather is one pass per batch: row i of the result is row idx[i] of the dataset,
 * converted as it is copied (uint8 v -> v / 255.0f, which vectorises). Rows are split between
 * OpenMP threads when the batch is large, except on the producer thread.
 *
 * The producer thread and the caller share one slot guarded by a mutex: the thread fills it
 * with batch k and waits; batch_iter_next takes it (waiting if it is not ready yet) and wakes
 * the thread for batch k+1. So at most one batch is made ahead, and a batch is handed over
 * exactly once. */
#include "loupe/batch.h"

#include "loupe/core.h"
#include "../strided.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Elements per sample of x [N, ...], or -1 if a sample's elements are not contiguous. */
static int64_t sample_size(const struct tensor *x)
{
    int64_t d = 1;
    for (int k = x->ndim - 1; k >= 1; k--) {
        if (x->shape[k] != 1 && x->stride[k] != d)
            return -1;
        d *= x->shape[k];
    }
    return d;
}

static int check_indices(const char *op, const int64_t *idx, int64_t n, int64_t base,
                         int64_t rows)
{
    for (int64_t i = 0; i < n; i++)
        if (idx[i] - base < 0 || idx[i] - base >= rows)
            return err_set("%s: index %lld out of range for %lld samples", op,
                           (long long)idx[i], (long long)rows);
    return 0;
}

/* The gather itself; arguments already checked. o [n, d]. */
static void gather_rows(float *o, const struct tensor *x, int64_t d, const int64_t *idx,
                        int64_t n, int64_t base, bool parallel)
{
    int64_t rs = x->stride[0];
    bool par = parallel && n > 1 && n * d > PAR_MIN_ELEMS;
    if (x->dtype == DT_UINT8) {
        const uint8_t *src = tensor_u8(x);
        PARALLEL_FOR(par, i, n, {
            const uint8_t *s = src + (idx[i] - base) * rs;
            float *r = o + i * d;
            _Pragma("omp simd") for (int64_t j = 0; j < d; j++)
                r[j] = (float)s[j] / 255.0f;
        });
    } else {
        const float *src = tensor_f32(x);
        PARALLEL_FOR(par, i, n, {
            memcpy(o + i * d, src + (idx[i] - base) * rs, sizeof(float) * (size_t)d);
        });
    }
}

static struct tensor *new_batch(const struct tensor *x, int64_t n)
{
    int64_t shape[TENSOR_MAXDIM];
    memcpy(shape, x->shape, sizeof(int64_t) * (size_t)x->ndim);
    shape[0] = n;
    return tensor_new(DT_FLOAT32, x->ndim, shape);
}

static int check_dataset(const char *op, const struct tensor *x)
{
    if (x->dtype != DT_UINT8 && x->dtype != DT_FLOAT32)
        return err_set("%s: the dataset's x must be uint8 or float32, got %s", op,
                       dtype_name(x->dtype));
    if (x->ndim < 1)
        return err_set("%s: the dataset's x must have a sample dimension, got a 0-d tensor", op);
    return 0;
}

struct tensor *batch_gather(const struct tensor *x, const int64_t *idx, int64_t n, int64_t base,
                            bool parallel)
{
    if (check_dataset("batch_gather", x) < 0)
        return NULL;
    int64_t d = sample_size(x);
    if (d < 0) {
        err_set("batch_gather: the samples of x %s are not contiguous", tshape(x));
        return NULL;
    }
    if (check_indices("batch_gather", idx, n, base, x->shape[0]) < 0)
        return NULL;
    struct tensor *out = new_batch(x, n);
    if (out)
        gather_rows(tensor_f32(out), x, d, idx, n, base, parallel);
    return out;
}

static struct tensor *gather_labels(const struct tensor *y, const int64_t *idx, int64_t n,
                                    int64_t base)
{
    struct tensor *out = tensor_new(DT_INT64, 1, &n);
    if (!out)
        return NULL;
    const int64_t *src = tensor_i64(y);
    int64_t *o = tensor_i64(out), s = y->stride[0];
    for (int64_t i = 0; i < n; i++)
        o[i] = src[(idx[i] - base) * s];
    return out;
}

struct tensor *batch_gather_labels(const struct tensor *y, const int64_t *idx, int64_t n,
                                   int64_t base)
{
    if (y->dtype != DT_INT64 || y->ndim != 1) {
        err_set("batch_gather_labels: y must be int64 [N], got %s %s", dtype_name(y->dtype),
                tshape(y));
        return NULL;
    }
    if (check_indices("batch_gather_labels", idx, n, base, y->shape[0]) < 0)
        return NULL;
    return gather_labels(y, idx, n, base);
}

/* ---- the epoch iterator ---- */

struct batch_iter {
    struct tensor *x, *y, *perm; /* retained; perm NULL: in order (then `order` is used) */
    int64_t *order;              /* the positions of the epoch (base-relative as perm) */
    int64_t base, n, d, batch_size, count;
    int64_t next_out;            /* the batch batch_iter_next returns next */
    /* prefetch */
    bool threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t next_make;           /* the batch the thread makes next */
    bool full, failed, stop;
    struct tensor *slot_x, *slot_y;
    char err[512];
};

int64_t batch_iter_count(const struct batch_iter *it) { return it->count; }

/* Makes batch k (no error checks left but allocation). Returns 0 or -1 with err_set. */
static int make_batch(struct batch_iter *it, int64_t k, bool parallel, struct tensor **xb,
                      struct tensor **yb)
{
    int64_t start = k * it->batch_size;
    int64_t len = it->n - start < it->batch_size ? it->n - start : it->batch_size;
    const int64_t *idx = it->order + start;
    *xb = new_batch(it->x, len);
    *yb = *xb ? gather_labels(it->y, idx, len, it->base) : NULL;
    if (!*yb) {
        tensor_release(*xb);
        *xb = NULL;
        return -1;
    }
    gather_rows(tensor_f32(*xb), it->x, it->d, idx, len, it->base, parallel);
    return 0;
}

static void *producer(void *arg)
{
    struct batch_iter *it = arg;
    pthread_mutex_lock(&it->mu);
    for (;;) {
        while (!it->stop && (it->full || it->next_make >= it->count))
            pthread_cond_wait(&it->cv, &it->mu);
        if (it->stop)
            break;
        int64_t k = it->next_make++;
        pthread_mutex_unlock(&it->mu);
        struct tensor *xb = NULL, *yb = NULL;
        int rc = make_batch(it, k, false, &xb, &yb);
        pthread_mutex_lock(&it->mu);
        if (rc < 0) {
            /* err_msg() is this thread's buffer: copy it for the caller */
            snprintf(it->err, sizeof it->err, "%s", err_msg());
            it->failed = true;
            pthread_cond_broadcast(&it->cv);
            break;
        }
        it->slot_x = xb;
        it->slot_y = yb;
        it->full = true;
        pthread_cond_broadcast(&it->cv);
    }
    pthread_mutex_unlock(&it->mu);
    return NULL;
}

struct batch_iter *batch_iter_new(struct tensor *x, struct tensor *y, struct tensor *perm,
                                  int64_t base, int64_t n, int64_t batch_size, bool drop_last,
                                  bool prefetch)
{
    const char *op = "loader";
    if (check_dataset(op, x) < 0)
        return NULL;
    if (y->dtype != DT_INT64 || y->ndim != 1) {
        err_set("%s: the dataset's y must be int64 [N], got %s %s", op, dtype_name(y->dtype),
                tshape(y));
        return NULL;
    }
    if (n < 0 || n > x->shape[0] || n > y->shape[0]) {
        err_set("%s: %lld samples asked for, but x is %s and y %s", op, (long long)n,
                tshape(x), tshape(y));
        return NULL;
    }
    if (batch_size < 1) {
        err_set("%s: batch_size must be positive, got %lld", op, (long long)batch_size);
        return NULL;
    }
    if (perm && (perm->dtype != DT_INT64 || perm->ndim != 1 || perm->shape[0] < n)) {
        err_set("%s: the permutation must be int64 [>= %lld], got %s %s", op, (long long)n,
                dtype_name(perm->dtype), tshape(perm));
        return NULL;
    }
    struct batch_iter *it = calloc(1, sizeof *it);
    if (!it) {
        err_set("%s: out of memory", op);
        return NULL;
    }
    it->base = perm ? base : 0;
    it->n = n;
    it->batch_size = batch_size;
    it->count = n / batch_size + (!drop_last && n % batch_size != 0); /* no n + bs overflow */
    if (drop_last)
        it->n = it->count * batch_size;
    /* a dataset whose samples are strided views is copied once, here */
    it->x = sample_size(x) < 0 ? tensor_copy(x) : tensor_retain(x);
    it->y = tensor_retain(y);
    if (!it->x)
        goto fail;
    it->d = sample_size(it->x);
    if (perm) {
        it->perm = tensor_contiguous(perm);
        if (!it->perm)
            goto fail;
        it->order = tensor_i64(it->perm);
        if (check_indices(op, it->order, it->n, it->base, n) < 0)
            goto fail;
    } else {
        int64_t len = it->n > 0 ? it->n : 1;
        it->perm = tensor_new(DT_INT64, 1, &len);
        if (!it->perm)
            goto fail;
        it->order = tensor_i64(it->perm);
        for (int64_t i = 0; i < it->n; i++)
            it->order[i] = i;
    }
    if (prefetch && it->count > 0) {
        pthread_mutex_init(&it->mu, NULL);
        pthread_cond_init(&it->cv, NULL);
        it->threaded = true;
        int rc = pthread_create(&it->thread, NULL, producer, it);
        if (rc != 0) {
            pthread_mutex_destroy(&it->mu);
            pthread_cond_destroy(&it->cv);
            it->threaded = false;
            err_set("%s: cannot start the prefetch thread (%s)", op, strerror(rc));
            goto fail;
        }
    }
    return it;
fail:
    batch_iter_free(it);
    return NULL;
}

int batch_iter_next(struct batch_iter *it, struct tensor **xb, struct tensor **yb)
{
    *xb = *yb = NULL;
    if (it->next_out >= it->count)
        return 0;
    if (!it->threaded) {
        if (make_batch(it, it->next_out, true, xb, yb) < 0)
            return -1;
        it->next_out++;
        return 1;
    }
    pthread_mutex_lock(&it->mu);
    while (!it->full && !it->failed)
        pthread_cond_wait(&it->cv, &it->mu);
    if (!it->full) {
        pthread_mutex_unlock(&it->mu);
        return err_set("%s", it->err);
    }
    *xb = it->slot_x;
    *yb = it->slot_y;
    it->slot_x = it->slot_y = NULL;
    it->full = false;
    it->next_out++;
    pthread_cond_broadcast(&it->cv);
    pthread_mutex_unlock(&it->mu);
    return 1;
}

void batch_iter_free(struct batch_iter *it)
{
    if (!it)
        return;
    if (it->threaded) {
        pthread_mutex_lock(&it->mu);
        it->stop = true;
        pthread_cond_broadcast(&it->cv);
        pthread_mutex_unlock(&it->mu);
        pthread_join(it->thread, NULL);
        pthread_mutex_destroy(&it->mu);
        pthread_cond_destroy(&it->cv);
    }
    tensor_release(it->slot_x);
    tensor_release(it->slot_y);
    tensor_release(it->x);
    tensor_release(it->y);
    tensor_release(it->perm);
    free(it);
}
