/* fuzz_mat.c — libFuzzer target: MATLAB level-5 MAT files (SVHN's format: header, tags in
 * either byte order, small elements, zlib-compressed variables, narrow stored types) through
 * ds_read_mat_mem, the parser behind loupe._data.read_mat. It reads the input in place, so
 * AddressSanitizer sees a read one byte past its end (a mapped file would hide it up to the
 * page boundary). The variables asked for are SVHN's. */
#include "fuzz.h"
#include "loupe/data.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[2] = {"X", "y"};
    struct tensor *out[2];
    if (ds_read_mat_mem("fuzz.mat", data, size, 2, names, out) == 0) {
        tensor_release(out[0]);
        tensor_release(out[1]);
    }
    return 0;
}
