/* data.h — dataset file readers of the C core (src/data/): IDX, CIFAR binary, MATLAB v5, image
 * folders, and the few per-sample conversions the dataset objects need. The Lua side
 * (lua/loupe/data/) builds dataset objects on them; the bindings are loupe._data (l_data.c).
 *
 * Every reader treats its file as hostile: sizes and counts in headers are checked against the
 * file's size (or, for compressed data, against the most that many compressed bytes can
 * inflate to) before anything is allocated; a truncated file, a wrong magic number, a count
 * that does not match, a corrupt compressed stream are errors (err_set, then NULL or -1) naming
 * the file and the offset or entry. Results are new tensors owned by the caller. */
#ifndef LOUPE_DATA_H
#define LOUPE_DATA_H

#include "loupe/tensor.h"

/* ---- IDX (MNIST, Fashion-MNIST, KMNIST) ---- */

/* Reads an IDX file, raw or gzip-compressed (recognised by its first two bytes): magic
 * 0x00 0x00 <type> <ndim>, ndim big-endian uint32 sizes, the data big-endian, row-major.
 * Types: 0x08 unsigned byte -> uint8; 0x09 signed byte, 0x0B int16, 0x0C int32 -> int64;
 * 0x0D float32, 0x0E float64 -> float32. The result has the file's shape. */
struct tensor *ds_read_idx(const char *path);
/* The same, except that a 3-D file [N, H, W] comes back as images [N, 1, H, W]: allocated in
 * that shape, so an out-of-memory error names the dataset's shape. */
struct tensor *ds_read_idx_images(const char *path);

/* ---- CIFAR-10 / CIFAR-100 binary version ---- */

/* Reads the concatenation of n CIFAR binary files. Each record is `label_bytes` label bytes
 * followed by 3072 pixel bytes (1024 R, 1024 G, 1024 B, rows top to bottom): CIFAR-10 has one
 * label byte, CIFAR-100 two (coarse, fine). `label` picks the label byte (0-based) and
 * `num_classes` bounds it. Every file's size must be a positive multiple of the record size.
 * On success *x is uint8 [N, 3, 32, 32] and *y int64 [N] with 1-based labels (byte + 1). */
int ds_read_cifar(int n, const char *const *paths, int label_bytes, int label, int num_classes,
                  struct tensor **x, struct tensor **y);

/* ---- MATLAB v5 MAT files (SVHN) ---- */

/* Reads the numeric variables names[0..n-1] of a MATLAB level-5 MAT file (MATLAB's -v6 and
 * -v7 formats, either byte order, compressed or not) into out[0..n-1]. A MATLAB array of
 * dimensions [d1, ..., dk] is stored column-major; it comes back as a row-major tensor of shape
 * [dk, ..., d1] over the same bytes, i.e. transposed (element (i1, ..., ik) is at
 * [ik, ..., i1]). dtypes by MATLAB class: double and single -> float32; uint8 and logical ->
 * uint8; the other integer classes -> int64 (whatever narrower type the file stores the data
 * in). A requested name that is missing, or that is not a real numeric array, is an error
 * naming the file and the variable. Cells, structs, objects, char and sparse arrays that were
 * not asked for are skipped unread: the parser never descends into them, so its nesting depth
 * is bounded (a compressed element holding one array). If a name appears twice, the later
 * variable wins, as in scipy's loadmat. Returns 0, or -1 with out[] all NULL. */
int ds_read_mat(const char *path, int n, const char *const *names, struct tensor **out);
/* The same for a file already in memory: size bytes at data (`path` only names it in
 * messages). */
int ds_read_mat_mem(const char *path, const void *data, uint64_t size, int n,
                    const char *const *names, struct tensor **out);

/* ---- image folders ---- */

/* One directory entry: its name and whether it is a directory (symbolic links followed). */
struct ds_dirent {
    char *name;
    bool is_dir;
};

/* The entries of directory `path` other than those whose name starts with '.', sorted by
 * name (byte order, which is code-point order for UTF-8, as Python's sorted). *entries is
 * malloc'd (free with ds_dirents_free). Returns the count, or -1 with an error. */
int ds_list_dir(const char *path, struct ds_dirent **entries);
void ds_dirents_free(struct ds_dirent *entries, int n);

/* Decodes the PNG or JPEG files paths[0..n-1] (image.h, RGB as PIL's convert("RGB")) into one
 * uint8 [n, 3, H, W] tensor, in parallel. h, w > 0: every image is resized to h x w with the
 * antialiased bilinear filter (torchvision's resize(antialias=True), op_resize) and rounded to
 * uint8; h = w = 0: every image must have the size of the first. An unreadable file or a size
 * mismatch is an error naming the file (the first bad one in path order). */
struct tensor *ds_read_images(int n, const char *const *paths, int64_t h, int64_t w);

/* ---- conversions ---- */

/* uint8 [..., 3, H, W] RGB -> float32 [..., 1, H, W] luma 0.2989 R + 0.587 G + 0.114 B on the
 * [0, 1]-scaled values: torchvision's rgb_to_grayscale on to_tensor's floats, bit for bit (the
 * same float32 operations in the same order). */
struct tensor *ds_rgb_to_gray(const struct tensor *x);

/* Class labels from a 1-D tensor (or [N, 1] / [1, N]) of any dtype: int64 [N] holding
 * value + offset, each of which must be an integer in 1..num_classes; otherwise an error
 * "<what>: entry i ..." (1-based i) naming the first bad one. */
struct tensor *ds_to_labels(const struct tensor *t, double offset, int64_t num_classes,
                            const char *what);

/* Keeps the samples whose label (int64 [N], 1-based) is one of keep[0..k-1] and renumbers
 * keep[j] as j + 1: *idx gets their 1-based positions (int64 [M], in dataset order) and *y
 * their new labels (int64 [M]). Returns 0 or -1 with an error. */
int ds_select_labels(const struct tensor *labels, int k, const int64_t *keep,
                     struct tensor **idx, struct tensor **y);

#endif
