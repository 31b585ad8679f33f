/* fuzz.h — shared setup of the libFuzzer targets in tests/fuzz/ (built by `make fuzz`).
 *
 * The readers take paths, so fuzz_file() hands them the input as a file: an in-memory file
 * (memfd) reached through /proc/self/fd/N. It is a regular file of exactly the input's size,
 * and every open of that path gets its own offset, as a real file would. fuzz_init() lowers the
 * core's allocation limit (a target may lower it further), so that a header declaring a huge
 * size becomes loupe's out-of-memory error rather than a multi-gigabyte allocation, and runs
 * the core on one thread (a fuzzer wants every run to take the same path). */
#ifndef LOUPE_FUZZ_H
#define LOUPE_FUZZ_H

#include "loupe/core.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#define FUZZ_MAX_BYTES ((size_t)256 << 20) /* LOUPE_MAX_BYTES inside the targets */

static inline void fuzz_init(void)
{
    core_mem_set_limit(FUZZ_MAX_BYTES);
    core_set_threads(1);
}

/* The path of a file holding data[0..size-1] (the same memfd, rewritten on every call). */
static inline const char *fuzz_file(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("loupe-fuzz", MFD_CLOEXEC);
        if (fd < 0) {
            perror("memfd_create");
            abort();
        }
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
        perror("fuzz_file");
        abort();
    }
    return path;
}

#endif
