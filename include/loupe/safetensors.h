/* safetensors.h — read and write the safetensors tensor file format.
 *
 * Layout (https://github.com/huggingface/safetensors): 8 bytes little-endian header length N,
 * N bytes of UTF-8 JSON, then the byte buffer. The JSON maps each tensor name to
 *   {"dtype": "F32", "shape": [10, 20], "data_offsets": [begin, end]}
 * (offsets relative to the start of the byte buffer, data little-endian and row-major), plus an
 * optional "__metadata__" object of string -> string.
 *
 * Reading. F32, I64 and U8 load as loupe's float32, int64 and uint8. As a convenience other
 * dtypes are converted on load, so a re-saved file may differ in dtype from the original:
 *   F16, BF16, F64           -> float32 (F64 rounds)
 *   I8, I16, U16, I32, U32   -> int64
 *   BOOL                     -> uint8 (0/1)
 * U64 and the 8-bit floats are refused. The whole header is validated before any tensor is
 * allocated: header length against the file size, JSON syntax (strict, UTF-8), the type of
 * every field, known dtype, at most TENSOR_MAXDIM non-negative integer sizes, numel * element
 * size == end - begin without overflow, begin <= end <= buffer length. Offsets may come in any
 * order, leave gaps and overlap (the upstream library is stricter), but the tensors' sizes may
 * not add up to more than the data in the file; out of range is an error. Every
 * error is reported through err_set with the file name and, where there is one, the tensor:
 *   safetensors: tensor 'fc.weight' in 'w.st': data_offsets [0,400] do not match shape
 *   [10,20] F32 (800 bytes)
 * No input makes the reader crash, read out of bounds or allocate much more than the file
 * holds (at most twice its data, for F16/BF16 -> float32 conversions).
 *
 * Writing. Tensors are written contiguous (views and non-contiguous tensors are copied) in the
 * order of the upstream serializer, which the Python `safetensors.torch.save_file` uses:
 * descending dtype alignment (I64, then F32, then U8), then name in byte order. The header is
 * compact JSON with "__metadata__" first (keys sorted, so a file does not depend on Lua's table
 * order) and is padded with spaces to a multiple of 8 bytes, so that every tensor in the
 * buffer is aligned to its element size. The file is written atomically: a temporary
 * `path.loupe-tmp` in the same folder is written, flushed, fsynced and renamed over `path`,
 * so a crash or a full disk never leaves a half-written checkpoint behind. */
#ifndef LOUPE_SAFETENSORS_H
#define LOUPE_SAFETENSORS_H

#include "loupe/tensor.h"

/* Headers above this size are refused, as upstream does (it guards against a corrupt length
 * field making us allocate gigabytes for "JSON"). */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

/* A loaded file; owns everything it points to. Tensors keep the header's order. */
struct st_file {
    int count;
    char **names;
    struct tensor **tensors; /* owned references; a caller may take one and set it NULL */
    int nmeta;
    char **meta_keys;
    char **meta_vals;
};

/* Reads `path` into *out (zeroed first). Returns 0, or -1 with err_set and *out left empty. */
int st_read(const char *path, struct st_file *out);
/* Frees everything held by f (NULL entries are skipped) and zeroes it. Safe on an empty one. */
void st_file_free(struct st_file *f);
/* The tensor called `name` in f (borrowed), or NULL. */
struct tensor *st_find(const struct st_file *f, const char *name);

/* Writes n named tensors (any dtype, any strides) and nmeta metadata pairs to `path`
 * atomically. Names must be distinct and not "__metadata__"; metadata keys must be
 * distinct. Arguments are borrowed. Returns 0, or -1 with err_set (and no file left behind). */
int st_write(const char *path, int n, const char *const *names, struct tensor *const *tensors,
             int nmeta, const char *const *meta_keys, const char *const *meta_vals);

#endif
