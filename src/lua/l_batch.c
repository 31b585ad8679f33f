/* l_batch.c — loupe._batch: the C side of the data loader (lua/loupe/data/loader.lua, which
 * is the public API; see include/loupe/batch.h).
 *
 *   loupe._batch.iter(x, y, perm|nil, n, batch_size, drop_last, prefetch) -> it
 *       an epoch iterator: it:next() -> xb, yb (float32, int64) or nil at the end; #it the
 *       number of batches; it:close() (also __close and __gc) stops the prefetch thread.
 *       perm holds 1-based positions (loupe.randperm's).
 *   loupe._batch.randperm(n, seed, epoch) -> int64 [n], 1-based: a permutation from the
 *       stream of `seed` (counters epoch * n onwards), leaving the global generator alone.
 *   loupe._batch.gather(x, idx) -> float32 batch of the rows idx (1-based int64 [b]) of x,
 *       uint8 / 255 or float32 copied. */
#include "loupe/lbind.h"

#include "loupe/batch.h"
#include "loupe/rng.h"

#define ITER_MT "loupe.BatchIter"

static struct batch_iter **check_iter(lua_State *L)
{
    return luaL_checkudata(L, 1, ITER_MT);
}

static int iter_close(lua_State *L)
{
    struct batch_iter **box = check_iter(L);
    batch_iter_free(*box);
    *box = NULL;
    return 0;
}

static int iter_next(lua_State *L)
{
    struct batch_iter **box = check_iter(L);
    if (!*box)
        return 0; /* closed: the epoch is over */
    struct tensor *xb, *yb;
    int rc = batch_iter_next(*box, &xb, &yb);
    if (rc < 0)
        return lb_fail(L);
    if (rc == 0)
        return 0;
    lb_push_tensor(L, xb); /* each push owns its tensor even if the other one fails */
    if (!lua_checkstack(L, 1)) {
        tensor_release(yb);
        return luaL_error(L, "loader: out of stack space");
    }
    lb_push_tensor(L, yb);
    return 2;
}

static int iter_len(lua_State *L)
{
    struct batch_iter **box = check_iter(L);
    lua_pushinteger(L, *box ? (lua_Integer)batch_iter_count(*box) : 0);
    return 1;
}

static int l_iter(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1), *y = lb_check_tensor(L, 2);
    struct tensor *perm = lua_isnil(L, 3) ? NULL : lb_check_tensor(L, 3);
    lua_Integer n = luaL_checkinteger(L, 4), bs = luaL_checkinteger(L, 5);
    bool drop_last = lua_toboolean(L, 6), prefetch = lua_toboolean(L, 7);
    /* the box exists before the iterator, so a memory error cannot leak the thread */
    struct batch_iter **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, ITER_MT);
    *box = batch_iter_new(x, y, perm, 1, n, bs, drop_last, prefetch);
    if (!*box)
        return lb_fail(L);
    return 1;
}

static int l_randperm(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1), seed = luaL_checkinteger(L, 2);
    lua_Integer epoch = luaL_checkinteger(L, 3);
    if (n < 0 || epoch < 0)
        return luaL_error(L, "randperm: n and epoch must be non-negative");
    lb_push_tensor(L, rng_randperm_at(n, 1, rng_key_of((uint64_t)seed),
                                      (uint64_t)epoch * (uint64_t)n));
    return 1;
}

static int l_gather(lua_State *L)
{
    struct tensor *x = lb_check_tensor(L, 1), *idx = lb_check_tensor(L, 2);
    if (idx->dtype != DT_INT64 || idx->ndim != 1)
        return luaL_error(L, "gather: indices must be int64 [b], got %s %s",
                          dtype_name(idx->dtype), tshape(idx));
    struct tensor *ic = tensor_contiguous(idx);
    if (!ic)
        return lb_fail(L);
    struct tensor *out = batch_gather(x, tensor_i64(ic), ic->shape[0], 1, true);
    tensor_release(ic);
    lb_push_tensor(L, out);
    return 1;
}

void lb_open_batch(lua_State *L)
{
    static const luaL_Reg iter_methods[] = {
        {"next", iter_next}, {"close", iter_close}, {NULL, NULL}};
    if (luaL_newmetatable(L, ITER_MT)) {
        luaL_newlib(L, iter_methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, iter_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, iter_close);
        lua_setfield(L, -2, "__close");
        lua_pushcfunction(L, iter_len);
        lua_setfield(L, -2, "__len");
    }
    lua_pop(L, 1);
    static const luaL_Reg fns[] = {
        {"iter", l_iter}, {"randperm", l_randperm}, {"gather", l_gather}, {NULL, NULL}};
    luaL_newlib(L, fns);
    lua_setfield(L, -2, "_batch");
}
