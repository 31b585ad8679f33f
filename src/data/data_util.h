/* data_util.h — small helpers shared by the dataset readers in src/data/ (internal). */
#ifndef LOUPE_DATA_UTIL_H
#define LOUPE_DATA_UTIL_H

#include <stdbool.h>
#include <stdint.h>

/* The size of the regular file at path in *size; -1 with an error "<op>: cannot open '<path>':
 * <strerror>" (or "... is not a regular file"). */
int du_file_size(const char *op, const char *path, uint64_t *size);

/* a * b into *out, false if the product exceeds INT64_MAX. */
static inline bool du_mul(uint64_t a, uint64_t b, uint64_t *out)
{
    if (b != 0 && a > (uint64_t)INT64_MAX / b)
        return false;
    *out = a * b;
    return true;
}

/* The most bytes that `compressed` bytes of deflate data can inflate to: deflate's best ratio
 * is 1032:1 (a 258-byte match coded in 2 bits), plus slack for tiny streams. Used to reject
 * headers that claim more data than a compressed file can possibly hold, before allocating. */
static inline uint64_t du_inflate_bound(uint64_t compressed)
{
    return compressed > (UINT64_MAX - 4096) / 1032 ? UINT64_MAX : compressed * 1032 + 4096;
}

/* Big-endian loads. */
static inline uint32_t du_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* double -> float32 without the undefined behaviour of an out-of-range conversion. */
float du_f64_to_f32(double v);

#endif
