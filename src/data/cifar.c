/* cifar.c — the binary version of CIFAR-10 and CIFAR-100 (data.h).
 *
 * A file is a sequence of fixed-size records: label byte(s), then a 32x32 image as 1024 red,
 * 1024 green and 1024 blue bytes, rows top to bottom. That is exactly loupe's [3, 32, 32]
 * layout, so pixels are copied as they are. Every file's size is checked to be a whole number
 * of records before the tensors are allocated; labels are checked as they are read. */
#include "loupe/data.h"

#include "loupe/core.h"
#include "data_util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CIFAR_PIXELS 3072 /* 3 x 32 x 32 */
#define CIFAR_BATCH 1024  /* records per read */

/* Reads one file's `count` records into x / y (pointing at the file's first record). */
static int cifar_read_file(const char *path, int label_bytes, int label, int num_classes,
                           int64_t count, unsigned char *buf, uint8_t *x, int64_t *y)
{
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return err_set("read_cifar: cannot open '%s': %s", path, strerror(errno));
    size_t rec = (size_t)label_bytes + CIFAR_PIXELS;
    int rc = 0;
    for (int64_t r = 0; r < count && rc == 0; r += CIFAR_BATCH) {
        if (core_interrupted()) {
            rc = err_set("read_cifar: interrupted");
            break;
        }
        int64_t m = count - r < CIFAR_BATCH ? count - r : CIFAR_BATCH;
        if (fread(buf, rec, (size_t)m, fp) != (size_t)m) {
            rc = err_set("read_cifar: '%s' is truncated (it shrank while being read?) in "
                         "record %lld", path, (long long)r + 1);
            break;
        }
        for (int64_t i = 0; i < m; i++) {
            const unsigned char *p = buf + (size_t)i * rec;
            int v = p[label];
            if (v >= num_classes) {
                rc = err_set("read_cifar: '%s' record %lld (offset %llu): label %d is not in "
                             "0..%d", path, (long long)(r + i + 1),
                             (unsigned long long)(r + i) * rec + (unsigned)label, v,
                             num_classes - 1);
                break;
            }
            y[r + i] = v + 1;
            memcpy(x + (size_t)(r + i) * CIFAR_PIXELS, p + label_bytes, CIFAR_PIXELS);
        }
    }
    fclose(fp);
    return rc;
}

int ds_read_cifar(int n, const char *const *paths, int label_bytes, int label, int num_classes,
                  struct tensor **x, struct tensor **y)
{
    *x = *y = NULL;
    if (n < 1 || label_bytes < 1 || label_bytes > 2 || label < 0 || label >= label_bytes
        || num_classes < 1 || num_classes > 256)
        return err_set("read_cifar: bad arguments (%d files, %d label bytes, label %d, %d "
                       "classes)", n, label_bytes, label, num_classes);
    uint64_t rec = (uint64_t)label_bytes + CIFAR_PIXELS, total = 0;
    int64_t *counts = malloc((size_t)n * sizeof *counts);
    if (!counts)
        return err_set("read_cifar: out of memory");
    for (int f = 0; f < n; f++) {
        uint64_t size;
        if (du_file_size("read_cifar", paths[f], &size) < 0)
            goto fail;
        if (size == 0 || size % rec != 0) {
            err_set("read_cifar: '%s' holds %llu bytes, not a whole number of %llu-byte "
                    "records (%d label byte%s + 3072 pixels): truncated, or not a CIFAR-%s "
                    "binary file", paths[f], (unsigned long long)size, (unsigned long long)rec,
                    label_bytes, label_bytes > 1 ? "s" : "", label_bytes > 1 ? "100" : "10");
            goto fail;
        }
        counts[f] = (int64_t)(size / rec);
        total += size / rec;
    }
    int64_t xs[4] = {(int64_t)total, 3, 32, 32}, ys[1] = {(int64_t)total};
    unsigned char *buf = NULL;
    *x = tensor_new(DT_UINT8, 4, xs);
    *y = *x ? tensor_new(DT_INT64, 1, ys) : NULL;
    buf = *y ? malloc(CIFAR_BATCH * rec) : NULL;
    if (!buf) {
        if (*y)
            err_set("read_cifar: out of memory");
        goto fail;
    }
    int64_t first = 0;
    for (int f = 0; f < n; f++) {
        if (cifar_read_file(paths[f], label_bytes, label, num_classes, counts[f], buf,
                            tensor_u8(*x) + (size_t)first * CIFAR_PIXELS,
                            tensor_i64(*y) + first) < 0) {
            free(buf);
            goto fail;
        }
        first += counts[f];
    }
    free(buf);
    free(counts);
    return 0;
fail:
    free(counts);
    tensor_release(*x);
    tensor_release(*y);
    *x = *y = NULL;
    return -1;
}
