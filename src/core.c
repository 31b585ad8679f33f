/* core.c — error buffer, accounted allocation, thread count and the interrupt flag. */
#include "loupe/core.h"

#include <cblas.h>
#include <omp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- errors ---- */

static _Thread_local char err_buf[1024];

int err_set(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_buf, sizeof err_buf, fmt, ap);
    va_end(ap);
    return -1;
}

const char *err_msg(void) { return err_buf; }

/* ---- memory ----
 * Small blocks come from malloc. Large ones (>= LARGE bytes) are 64-byte aligned and, when
 * freed, kept in a small cache for reuse: a fresh multi-megabyte block costs a page fault per
 * 4 KiB on first touch (measured: a 64 MiB add spent 3/4 of its time in the kernel), while a
 * training loop allocates the same large sizes again and again. Every block carries its
 * capacity just before the pointer handed out.
 *
 * The cache may hold as many bytes as the live set has shrunk below its peak, plus a quarter
 * of the peak for blocks whose sizes do not match exactly (at least CACHE_MIN_BYTES): memory
 * freed by a backward pass is reused by the next forward pass, yet the process never holds
 * much more than its peak live memory. (A ResNet-18 training step
 * spent a fifth of its time in page faults with a fixed 512 MB cache.) */

#define ALIGN 64
#define LARGE ((size_t)1 << 20)
#define CACHE_SLOTS 256
#define CACHE_MIN_BYTES ((size_t)64 << 20)
#define DEFAULT_LIMIT ((size_t)1 << 40) /* 1 TiB: refuses absurd header-declared sizes */

struct block_prefix {
    size_t capacity; /* usable bytes after the prefix */
    size_t pad;      /* small blocks: bytes from malloc's pointer to the 64-byte aligned block */
};

static atomic_size_t mem_live, mem_since_mark, mem_peak;
static size_t mem_limit;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static void *cache[CACHE_SLOTS]; /* user pointers of free large blocks */
static size_t cache_bytes;

size_t core_mem_limit(void)
{
    if (mem_limit == 0) {
        const char *env = getenv("LOUPE_MAX_BYTES");
        char *end;
        unsigned long long v = env ? strtoull(env, &end, 10) : 0;
        mem_limit = (env && *end == '\0' && v > 0) ? (size_t)v : DEFAULT_LIMIT;
    }
    return mem_limit;
}

void core_mem_set_limit(size_t nbytes) { mem_limit = nbytes; }

/* Decimal units (1 GB = 10^9 bytes), as disk and memory sizes are quoted by the kernel's
 * tools and by PyTorch's messages; beyond TB the number just grows. */
const char *core_format_bytes(char *buf, size_t n, double bytes)
{
    static const char *unit[] = {"B", "KB", "MB", "GB", "TB"};
    int u = 0;
    if (bytes >= 1000.0) /* then divide while "%.1f" would print 1000.0 or more */
        for (bytes /= 1000.0, u = 1; u < 4 && bytes >= 999.95; u++)
            bytes /= 1000.0;
    /* beyond a billion TB (sizes no machine has), exponent form keeps the text short */
    snprintf(buf, n, u == 0 ? "%.0f %s" : bytes < 1e9 ? "%.1f %s" : "%.1e %s", bytes, unit[u]);
    return buf;
}

static struct block_prefix *prefix_of(void *p) { return (struct block_prefix *)p - 1; }

/* A cached block with capacity in [n, 2n), or NULL. */
static void *cache_take(size_t n)
{
    void *best = NULL;
    int best_i = -1;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (!cache[i])
            continue;
        size_t c = prefix_of(cache[i])->capacity;
        if (c >= n && c / 2 < n && (!best || c < prefix_of(best)->capacity)) {
            best = cache[i];
            best_i = i;
        }
    }
    if (best) {
        cache[best_i] = NULL;
        cache_bytes -= prefix_of(best)->capacity;
    }
    pthread_mutex_unlock(&cache_lock);
    return best;
}

/* A block of ALIGN + n bytes. From HUGE bytes on, the block is aligned to 2 MiB and the
 * kernel is asked for transparent huge pages: first touch then faults once per 2 MiB instead
 * of once per 4 KiB (measured about 25x faster on a fresh 64 MiB buffer). */
#define HUGE ((size_t)4 << 20)
#define HUGE_ALIGN ((size_t)2 << 20)

static char *large_alloc(size_t n)
{
    if (n < HUGE)
        return aligned_alloc(ALIGN, ALIGN + n);
    size_t total = (ALIGN + n + HUGE_ALIGN - 1) / HUGE_ALIGN * HUGE_ALIGN;
    char *base = aligned_alloc(HUGE_ALIGN, total);
    if (base)
        madvise(base, total, MADV_HUGEPAGE);
    return base;
}

static void large_release(void *p)
{
    free((char *)p - ALIGN);
}

/* Keeps p for reuse if there is room; otherwise evicts the largest blocks to make room, or
 * frees p itself. */
static size_t cache_budget(void)
{
    size_t live = atomic_load(&mem_live), peak = atomic_load(&mem_peak);
    size_t room = (peak > live ? peak - live : 0) + peak / 4;
    return room > CACHE_MIN_BYTES ? room : CACHE_MIN_BYTES;
}

static void cache_put(void *p)
{
    size_t c = prefix_of(p)->capacity, budget = cache_budget();
    void *evict[CACHE_SLOTS];
    int nevict = 0;
    pthread_mutex_lock(&cache_lock);
    int slot = -1;
    if (c <= budget) {
        for (int i = 0; i < CACHE_SLOTS && slot < 0; i++)
            if (!cache[i])
                slot = i;
        while (slot >= 0 && cache_bytes + c > budget) {
            int big = -1;
            for (int i = 0; i < CACHE_SLOTS; i++)
                if (cache[i] && (big < 0 || prefix_of(cache[i])->capacity >
                                                prefix_of(cache[big])->capacity))
                    big = i;
            cache_bytes -= prefix_of(cache[big])->capacity;
            evict[nevict++] = cache[big];
            cache[big] = NULL;
        }
    }
    if (slot >= 0) {
        cache[slot] = p;
        cache_bytes += c;
    }
    pthread_mutex_unlock(&cache_lock);
    for (int i = 0; i < nevict; i++)
        large_release(evict[i]);
    if (slot < 0)
        large_release(p);
}

void core_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i])
            large_release(cache[i]);
        cache[i] = NULL;
    }
    cache_bytes = 0;
    pthread_mutex_unlock(&cache_lock);
}

void *core_alloc(size_t nbytes, const char *what)
{
    char human[32];
    if (nbytes > core_mem_limit()) { /* the same message as a refusal by the system */
        err_set("out of memory allocating %s (%s)", what,
                core_format_bytes(human, sizeof human, (double)nbytes));
        return NULL;
    }
    void *p;
    if (nbytes < LARGE) { /* malloc, aligned up by hand; pad finds malloc's pointer again */
        char *raw = malloc(sizeof(struct block_prefix) + ALIGN - 1 + (nbytes ? nbytes : 1));
        p = raw ? (void *)(((uintptr_t)raw + sizeof(struct block_prefix) + ALIGN - 1) &
                           ~(uintptr_t)(ALIGN - 1))
                : NULL;
        if (p) {
            prefix_of(p)->capacity = nbytes;
            prefix_of(p)->pad = (size_t)((char *)p - raw);
        }
    } else if (!(p = cache_take(nbytes))) {
        size_t rounded = (nbytes + ALIGN - 1) / ALIGN * ALIGN;
        char *base = large_alloc(rounded);
        if (!base && cache_bytes) { /* give the cache back and try once more */
            core_cache_clear();
            base = large_alloc(rounded);
        }
        p = base ? base + ALIGN : NULL;
        if (p)
            prefix_of(p)->capacity = rounded;
    }
    if (!p) {
        err_set("out of memory allocating %s (%s)", what,
                core_format_bytes(human, sizeof human, (double)nbytes));
        return NULL;
    }
    size_t live = atomic_fetch_add(&mem_live, nbytes) + nbytes;
    size_t peak = atomic_load(&mem_peak);
    while (live > peak && !atomic_compare_exchange_weak(&mem_peak, &peak, live))
        ;
    atomic_fetch_add(&mem_since_mark, nbytes);
    return p;
}

void *core_calloc(size_t nbytes, const char *what)
{
    void *p = core_alloc(nbytes, what);
    if (p)
        memset(p, 0, nbytes);
    return p;
}

void core_free(void *p, size_t nbytes)
{
    if (!p)
        return;
    atomic_fetch_sub(&mem_live, nbytes);
    if (nbytes < LARGE)
        free((char *)p - prefix_of(p)->pad);
    else
        cache_put(p);
}

size_t core_mem_live(void) { return atomic_load(&mem_live); }
size_t core_mem_since_mark(void) { return atomic_load(&mem_since_mark); }
void core_mem_mark_collected(void) { atomic_store(&mem_since_mark, 0); }

/* ---- threads ---- */

void core_set_threads(int n)
{
    if (n < 1)
        n = 1;
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int core_threads(void) { return omp_get_max_threads(); }

/* ---- interrupts ---- */

static volatile sig_atomic_t interrupted;
/* depth of core_defer_interrupts() sections; changed only by the Lua thread, outside
 * parallel regions, and read by loops on any thread */
static volatile sig_atomic_t deferred;

void core_interrupt(void) { interrupted = 1; }
bool core_interrupted(void) { return interrupted != 0 && deferred == 0; }
void core_clear_interrupt(void) { interrupted = 0; }
void core_defer_interrupts(void) { deferred++; }
void core_allow_interrupts(void)
{
    if (deferred > 0)
        deferred--;
}
