/* lbind.h — shared helpers of the Lua bindings (src/lua/). The only header that includes lua.h.
 *
 * A tensor in Lua is a full userdata holding one `struct tensor *` (the box). __gc, __close
 * and t:free() share one function: release the tensor and set the pointer to NULL; a freed
 * box raises "tensor was freed" when used. */
#ifndef LOUPE_LBIND_H
#define LOUPE_LBIND_H

#include "loupe/tensor.h"

#include <lauxlib.h>
#include <lua.h>

#define LB_TENSOR_MT "loupe.Tensor"

/* Entry point of the module (also preloaded by the host). */
int luaopen_loupe(lua_State *L);

/* Raises the core's last error as a Lua error. Use as `return lb_fail(L);`. */
int lb_fail(lua_State *L);

/* The tensor at stack index i, or a Lua error "<fn>: expected a tensor for argument i, got
 * <type>" (fn from the call info). Borrowed. */
struct tensor *lb_check_tensor(lua_State *L, int i);
/* The tensor at i, or NULL if the value there is not a tensor. */
struct tensor *lb_to_tensor(lua_State *L, int i);
/* Pushes t (taking over the caller's reference). t == NULL raises the core's error. Also
 * tells Lua's garbage collector about tensor memory (see l_tensor.c). */
void lb_push_tensor(lua_State *L, struct tensor *t);
/* A tensor from argument i: a tensor (new reference) or a Lua number (0-d float32). */
struct tensor *lb_tensor_or_number(lua_State *L, int i);

/* Name of the running C function for error messages: its loupe name (recorded by
 * lb_register_names), else the name of the call site, else "?". */
const char *lb_function_name(lua_State *L);
/* Records name -> C function pairs of the table at t (loupe, its methods, the metatable with
 * "__" stripped) for lb_function_name. */
void lb_register_names(lua_State *L, int t);

/* Reads a 1-based Lua dim (negative counts from the end) and returns the 0-based one. */
int lb_check_dim(lua_State *L, int i, int ndim);
/* A shape given as varargs of integers starting at i, or as one table at i. Returns ndim. */
int lb_check_shape(lua_State *L, int i, int64_t *shape);

/* Options table helpers: field of the table at index t, or the default. */
lua_Number lb_opt_number(lua_State *L, int t, const char *key, lua_Number def);
lua_Integer lb_opt_integer(lua_State *L, int t, const char *key, lua_Integer def);
int lb_opt_boolean(lua_State *L, int t, const char *key, int def);
/* Raises "<fn>: unknown option 'k' (expected one of: ...)" unless the value at t is nil or a
 * table whose keys are all in `allowed` (NULL-terminated). */
void lb_check_options(lua_State *L, int t, const char *fn, const char *const *allowed);

/* Registers functions into the loupe table (at -1) / the tensor method table. Each binding
 * file has one of these, called by luaopen_loupe. */
void lb_open_tensor(lua_State *L);   /* l_tensor.c: metatable, creation, views */
void lb_open_math(lua_State *L);     /* l_math.c: arithmetic, reductions, linear algebra */
void lb_open_autograd(lua_State *L); /* l_autograd.c */
void lb_open_io(lua_State *L);       /* l_io.c: safetensors save/load */
void lb_open_loss(lua_State *L);     /* l_loss.c: loupe.functional losses, loupe._optim steps */
void lb_open_image(lua_State *L);    /* l_image.c: loupe.image.load/save (PNG, JPEG) */
void lb_open_transforms(lua_State *L); /* l_transforms.c: loupe.interpolate (resize) */
void lb_open_time(lua_State *L);     /* l_time.c: loupe.clock (monotonic wall clock) */
void lb_open_nn(lua_State *L);       /* l_nn.c: loupe.functional layers (conv, pooling, ...) */
void lb_open_data(lua_State *L);     /* l_data.c: loupe._data dataset readers */
void lb_open_batch(lua_State *L);    /* l_batch.c: loupe._batch (the data loader's C side) */
void lb_open_stimuli(lua_State *L);  /* l_stimuli.c: loupe._stimuli (shapes, contrast, gratings) */
void lb_open_plot(lua_State *L);     /* l_plot.c: loupe._plot (canvases for lua/loupe/plot) */
void lb_open_sys(lua_State *L);      /* l_sys.c: isatty, terminal_width, mkdir, write_file */
void lb_open_linalg(lua_State *L);   /* l_linalg.c: loupe.linalg (eigh, svd, pca) */
void lb_open_interrupt(lua_State *L); /* l_interrupt.c: loupe.uninterruptible */

/* Adds methods to the tensor method table (used by every lb_open_*). */
void lb_add_methods(lua_State *L, const luaL_Reg *fns);
/* Records the metatable at the top of the stack as the tensor metatable (l_tensor.c). */
void lb_register_metatable(lua_State *L);
/* __gc / __close / free(): releases the box's tensor once. */
int lb_box_free(lua_State *L);

#endif
