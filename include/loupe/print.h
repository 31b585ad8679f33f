/* print.h — tensors as text, formatted the way PyTorch 1.13 prints them.
 *
 *   tensor([1., 2., 3.])
 *   tensor([[1.0000, 2.5000],
 *           [3.0000, 4.0000]], requires_grad=true)
 *   tensor([1, 2], dtype=uint8)
 *
 * The rules are those of torch/_tensor_str.py with its default options (precision 4,
 * threshold 1000 elements, 3 edge items, line width 80). Where loupe differs it says so in
 * its own spelling: shapes as `size=[0,3]`, `dtype=uint8`, `requires_grad=true`, and a
 * summarised tensor (more than 1000 elements, printed with `...`) ends with its `size=[..]`. */
#ifndef LOUPE_PRINT_H
#define LOUPE_PRINT_H

#include "loupe/tensor.h"

/* The text of t (any dtype, shape or strides; not modified). Returns a malloc'd string the
 * caller frees, or NULL with err_set on allocation failure. */
char *tensor_format(const struct tensor *t);

#endif
