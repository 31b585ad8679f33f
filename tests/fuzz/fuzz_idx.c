/* fuzz_idx.c — libFuzzer target: IDX files (MNIST and friends), raw or gzip-compressed, through
 * ds_read_idx, the reader behind loupe._data.read_idx and the MNIST datasets. */
#include "fuzz.h"
#include "loupe/data.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tensor_release(ds_read_idx(fuzz_file(data, size)));
    return 0;
}
