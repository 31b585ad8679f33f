/* core.h — errors, memory accounting, threads and interrupts shared by the whole C core.
 *
 * The core never aborts, exits or longjmps. A function that fails calls err_set() with a
 * message naming the operation and the values involved, cleans up, and returns NULL or -1.
 * The caller (usually a Lua binding) reads the message with err_msg(). The buffer is
 * thread-local, like dlerror(). */
#ifndef LOUPE_CORE_H
#define LOUPE_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LOUPE_VERSION "0.1.0"

#if defined(__GNUC__)
#define LOUPE_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define LOUPE_PRINTF(a, b)
#endif

/* Record an error message (printf-style); returns -1 so callers can `return err_set(...)`. */
int err_set(const char *fmt, ...) LOUPE_PRINTF(1, 2);
/* The last message recorded on this thread ("" if none). */
const char *err_msg(void);

/* Aligned (64-byte) allocation of tensor-sized buffers. Counts live bytes and bytes allocated
 * since the last core_mem_mark_collected(), and refuses sizes above core_mem_limit() with an
 * error naming `what` and the size. Returns NULL (with err_set) on failure. */
void *core_alloc(size_t nbytes, const char *what);
void *core_calloc(size_t nbytes, const char *what);
void core_free(void *p, size_t nbytes);

/* Returns the cached large blocks to the system (at shutdown, or under memory pressure). */
void core_cache_clear(void);

size_t core_mem_live(void);        /* bytes currently held by core_alloc */
size_t core_mem_since_mark(void);  /* bytes allocated since the last mark */
void core_mem_mark_collected(void);
size_t core_mem_limit(void);       /* largest single allocation; LOUPE_MAX_BYTES overrides */
void core_mem_set_limit(size_t nbytes);

/* Human-readable byte count ("36.1 GB") into buf. */
const char *core_format_bytes(char *buf, size_t n, double bytes);

/* Threads: one OpenMP pool shared with OpenBLAS (its OpenMP build). */
void core_set_threads(int n);
int core_threads(void);

/* Interrupt flag, set from a signal handler (Ctrl-C, SIGTERM) and polled by long loops at
 * safe points: a loop that sees core_interrupted() stops, cleans up and fails with an error
 * "<op>: interrupted", leaving its inputs as they were. Between core_defer_interrupts() and
 * the matching core_allow_interrupts() (nestable) core_interrupted() answers false, so a
 * sequence that must not stop half-way (an optimizer step over every parameter) completes;
 * the flag stays set and takes effect after the section. */
void core_interrupt(void);
bool core_interrupted(void);
void core_clear_interrupt(void);
void core_defer_interrupts(void);
void core_allow_interrupts(void);

#endif
