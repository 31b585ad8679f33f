/* folder.c — image folders: directory listings and batch decoding of PNG / JPEG files (data.h).
 *
 * The walk itself (class folders, extensions, split folders) is Lua's job
 * (lua/loupe/data/image_folder.lua); C lists one directory and decodes many files. Decoding
 * runs in parallel over files: img_load and op_resize are thread-safe (errors are per thread,
 * core_alloc locks its cache), and each file writes only its own slice of the output. The
 * first image fixes the size when no resize is asked for, so it is decoded before the others. */
#include "loupe/data.h"

#include "loupe/core.h"
#include "loupe/image.h"
#include "loupe/transforms.h"
#include "../strided.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- listing ---- */

static char *copy_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = malloc(n);
    return c ? memcpy(c, s, n) : NULL;
}

static int dirent_cmp(const void *a, const void *b)
{
    return strcmp(((const struct ds_dirent *)a)->name, ((const struct ds_dirent *)b)->name);
}

void ds_dirents_free(struct ds_dirent *entries, int n)
{
    for (int i = 0; entries && i < n; i++)
        free(entries[i].name);
    free(entries);
}

/* Whether path/name is a directory, following symbolic links (as os.scandir's is_dir()). */
static bool is_dir_at(const char *path, const char *name)
{
    size_t len = strlen(path) + strlen(name) + 2;
    char *full = malloc(len);
    if (!full)
        return false;
    snprintf(full, len, "%s/%s", path, name);
    struct stat st;
    bool dir = stat(full, &st) == 0 && S_ISDIR(st.st_mode);
    free(full);
    return dir;
}

int ds_list_dir(const char *path, struct ds_dirent **entries)
{
    *entries = NULL;
    DIR *d = opendir(path);
    if (!d)
        return err_set("list_dir: cannot open folder '%s': %s", path, strerror(errno));
    int n = 0, cap = 0;
    struct ds_dirent *es = NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", and hidden entries such as .ipynb_checkpoints */
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct ds_dirent *grown = realloc(es, (size_t)cap * sizeof *es);
            if (!grown)
                goto oom;
            es = grown;
        }
        es[n].name = copy_str(de->d_name);
        if (!es[n].name)
            goto oom;
        es[n].is_dir = is_dir_at(path, de->d_name);
        n++;
    }
    closedir(d);
    if (n > 1)
        qsort(es, (size_t)n, sizeof *es, dirent_cmp);
    *entries = es;
    return n;
oom:
    closedir(d);
    ds_dirents_free(es, n);
    return err_set("list_dir: out of memory listing '%s'", path);
}

/* ---- decoding ---- */

/* Decodes one file into out[i] ([3, H, W] uint8 slice), resizing to h x w when resize is set;
 * otherwise the file must be h x w. */
static int decode_one(const char *path, bool resize, int64_t h, int64_t w, uint8_t *out)
{
    struct tensor *img = img_load(path, 3);
    if (!img)
        return -1;
    if (resize && (img->shape[1] != h || img->shape[2] != w)) {
        struct tensor *r = op_resize(img, h, w, true);
        tensor_release(img);
        if (!r)
            return -1;
        img = r;
    } else if (img->shape[1] != h || img->shape[2] != w) {
        err_set("read_images: '%s' is %lldx%lld (HxW), the first image is %lldx%lld; pass "
                "size = {h, w} to resize them all", path, (long long)img->shape[1],
                (long long)img->shape[2], (long long)h, (long long)w);
        tensor_release(img);
        return -1;
    }
    const float *f = tensor_f32(img);
    int64_t m = 3 * h * w;
    for (int64_t k = 0; k < m; k++) {
        /* to uint8 as torchvision's save_image / PIL's rounding: clamp, then round half up;
         * decoded values v / 255 come back exactly as v */
        float v = f[k] * 255.0f + 0.5f;
        out[k] = !(v > 0) ? 0 : v >= 255 ? 255 : (uint8_t)v;
    }
    tensor_release(img);
    return 0;
}

struct tensor *ds_read_images(int n, const char *const *paths, int64_t h, int64_t w)
{
    if (n < 1 || h < 0 || w < 0 || (h == 0) != (w == 0)) {
        err_set("read_images: bad arguments (%d files, size %lldx%lld)", n, (long long)h,
                (long long)w);
        return NULL;
    }
    bool resize = h > 0;
    if (!resize) { /* the first image fixes the size */
        struct tensor *first = img_load(paths[0], 3);
        if (!first)
            return NULL;
        h = first->shape[1];
        w = first->shape[2];
        tensor_release(first);
    }
    int64_t shape[4] = {n, 3, h, w};
    struct tensor *x = tensor_new(DT_UINT8, 4, shape);
    char **errs = x ? calloc((size_t)n, sizeof *errs) : NULL;
    if (!errs) {
        if (x)
            err_set("read_images: out of memory");
        tensor_release(x);
        return NULL;
    }
    /* each file's error message, kept until the loop ends (err_msg is per thread); a failed
     * copy is marked by the static fallback */
    static char oom[] = "read_images: out of memory";
    PARALLEL_FOR(n > 1, i, n, {
        if (!core_interrupted()
            && decode_one(paths[i], resize, h, w, tensor_u8(x) + i * 3 * h * w) < 0) {
            char *msg = copy_str(err_msg());
            errs[i] = msg ? msg : oom;
        }
    });
    int bad = -1;
    for (int i = 0; i < n && bad < 0; i++)
        if (errs[i])
            bad = i;
    if (bad >= 0)
        err_set("%s", errs[bad]);
    else if (core_interrupted())
        err_set("interrupted");
    for (int i = 0; i < n; i++)
        if (errs[i] != oom)
            free(errs[i]);
    free(errs);
    if (bad >= 0 || core_interrupted()) {
        tensor_release(x);
        return NULL;
    }
    return x;
}
