/* fuzz_cifar.c — libFuzzer target: CIFAR-10 / CIFAR-100 binary files through ds_read_cifar,
 * the reader behind loupe._data.read_cifar. The input is read the three ways the datasets
 * read a file: CIFAR-10 (one label byte, 10 classes), CIFAR-100 fine labels (second of two
 * bytes, 100 classes) and coarse ones (first byte, 20 classes), and once as two files. */
#include "fuzz.h"
#include "loupe/data.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

static void read_as(int n, const char *path, int label_bytes, int label, int classes)
{
    const char *paths[2] = {path, path};
    struct tensor *x, *y;
    if (ds_read_cifar(n, paths, label_bytes, label, classes, &x, &y) == 0) {
        tensor_release(x);
        tensor_release(y);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    read_as(1, path, 1, 0, 10);
    read_as(1, path, 2, 1, 100);
    read_as(1, path, 2, 0, 20);
    read_as(2, path, 1, 0, 10);
    return 0;
}
