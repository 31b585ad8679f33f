/* fuzz_safetensors.c — libFuzzer target: safetensors files (header length, JSON header, dtypes,
 * shapes, data offsets, conversions) through st_read, the reader behind loupe.load. */
#include "fuzz.h"
#include "loupe/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct st_file f;
    if (st_read(fuzz_file(data, size), &f) == 0)
        st_file_free(&f);
    return 0;
}
