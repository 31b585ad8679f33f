/* fuzz_image.c — libFuzzer target: PNG and JPEG decoding as loupe.image.load does it
 * (img_load: colour types, bit depths, palettes, transparency, interlacing, CMYK, truncation),
 * then, for a small image that decodes, as an image folder reads it (ds_read_images: at its
 * own size, and resized to 3 x 5 with the antialiased filter of `size = {h, w}`). */
#include "fuzz.h"
#include "loupe/data.h"
#include "loupe/image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    /* a few hundred bytes of JPEG may declare megapixels, and every decoded pixel costs
     * (instrumented) work three times over: a lower limit keeps runs fast, and larger images
     * take the same out-of-memory path */
    core_mem_set_limit((size_t)16 << 20);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_file(data, size);
    struct tensor *img = img_load(path, 3);
    if (!img)
        return 0;
    bool small = img->shape[1] * img->shape[2] <= 1 << 16;
    tensor_release(img);
    if (small) {
        tensor_release(ds_read_images(1, &path, 0, 0));
        tensor_release(ds_read_images(1, &path, 3, 5));
    }
    return 0;
}
