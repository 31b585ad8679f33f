/* core.c — error buffer, accounted allocation, thread count and the interrupt flag. */
#include "loupe/core.h"

#include <cblas.h>
#include <omp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- memory ---- */

#define ALIGN 64
#define DEFAULT_LIMIT ((size_t)1 << 40) /* 1 TiB: refuses absurd header-declared sizes */

static atomic_size_t mem_live, mem_since_mark;
static size_t mem_limit;

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

const char *core_format_bytes(char *buf, size_t n, double bytes)
{
    static const char *unit[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    int u = 0;
    while (bytes >= 1000.0 && u < 6) {
        bytes /= 1000.0;
        u++;
    }
    snprintf(buf, n, u == 0 ? "%.0f %s" : "%.1f %s", bytes, unit[u]);
    return buf;
}

void *core_alloc(size_t nbytes, const char *what)
{
    char human[32];
    if (nbytes > core_mem_limit()) {
        err_set("out of memory allocating %s (%s): above the limit of %s", what,
                core_format_bytes(human, sizeof human, (double)nbytes),
                core_format_bytes((char[32]){0}, 32, (double)core_mem_limit()));
        return NULL;
    }
    size_t rounded = (nbytes + ALIGN - 1) / ALIGN * ALIGN;
    void *p = aligned_alloc(ALIGN, rounded ? rounded : ALIGN);
    if (!p) {
        err_set("out of memory allocating %s (%s)", what,
                core_format_bytes(human, sizeof human, (double)nbytes));
        return NULL;
    }
    atomic_fetch_add(&mem_live, nbytes);
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
    free(p);
    atomic_fetch_sub(&mem_live, nbytes);
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

void core_interrupt(void) { interrupted = 1; }
bool core_interrupted(void) { return interrupted != 0; }
void core_clear_interrupt(void) { interrupted = 0; }
