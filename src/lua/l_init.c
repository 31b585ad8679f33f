/* l_init.c — luaopen_loupe: builds the loupe table from every binding file, seeds the
 * generator, and loads the Lua-side library (lua/loupe/<name>.lua) lazily on first use of
 * loupe.<name>. */
#include "loupe/lbind.h"

#include "loupe/core.h"
#include "loupe/rng.h"

#include <stdio.h>
#include <stdlib.h>

static int l_manual_seed(lua_State *L)
{
    rng_seed((uint64_t)luaL_checkinteger(L, 1));
    return 0;
}

static int l_initial_seed(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)rng_initial_seed());
    return 1;
}

/* get_rng_state() -> {seed, counter}; set_rng_state(state) */
static int l_get_rng_state(lua_State *L)
{
    uint64_t seed, counter;
    rng_get_state(&seed, &counter);
    lua_createtable(L, 2, 0);
    lua_pushinteger(L, (lua_Integer)seed);
    lua_rawseti(L, -2, 1);
    lua_pushinteger(L, (lua_Integer)counter);
    lua_rawseti(L, -2, 2);
    return 1;
}

static int l_set_rng_state(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_rawgeti(L, 1, 1);
    lua_rawgeti(L, 1, 2);
    rng_set_state((uint64_t)luaL_checkinteger(L, -2), (uint64_t)luaL_checkinteger(L, -1));
    return 0;
}

static int l_set_num_threads(lua_State *L)
{
    lua_Integer n = luaL_checkinteger(L, 1);
    if (n < 1)
        return luaL_error(L, "set_num_threads: expected a positive count, got %d", (int)n);
    core_set_threads((int)n);
    return 0;
}

static int l_get_num_threads(lua_State *L)
{
    lua_pushinteger(L, core_threads());
    return 1;
}

static int l_is_tensor(lua_State *L)
{
    lua_pushboolean(L, lb_to_tensor(L, 1) != NULL);
    return 1;
}

static int l_memory(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)core_mem_live());
    return 1;
}

/* __index of the loupe table: loupe.nn -> require "loupe.nn" if lua/loupe/nn.lua exists. */
static int lazy_submodule(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushfstring(L, "loupe.%s", name);
    lua_getfield(L, -3, "path");
    lua_call(L, 2, 1);
    if (lua_isnil(L, -1))
        return 0;
    lua_getglobal(L, "require");
    lua_pushfstring(L, "loupe.%s", name);
    lua_call(L, 1, 1);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, name); /* cache: loaded once */
    return 1;
}

int luaopen_loupe(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"manual_seed", l_manual_seed}, {"initial_seed", l_initial_seed},
        {"get_rng_state", l_get_rng_state}, {"set_rng_state", l_set_rng_state},
        {"set_num_threads", l_set_num_threads}, {"get_num_threads", l_get_num_threads},
        {"is_tensor", l_is_tensor}, {"memory_allocated", l_memory}, {NULL, NULL}};
    lua_newtable(L);
    luaL_setfuncs(L, fns, 0);
    lua_pushliteral(L, LOUPE_VERSION);
    lua_setfield(L, -2, "version");
    lb_open_tensor(L);
    lb_open_math(L);
    lb_open_autograd(L);
    lb_open_io(L);
    lb_open_loss(L);
    lb_open_image(L);
    lb_open_transforms(L);
    lb_open_time(L);
    lb_open_nn(L);
    lb_open_data(L);
    lb_open_batch(L);
    lb_open_stimuli(L);
    lb_open_plot(L);
    lb_open_sys(L);
    lb_open_linalg(L);
    lb_open_interrupt(L);

    const char *seed = getenv("LOUPE_SEED");
    rng_seed(seed ? strtoull(seed, NULL, 10) : 0);
    const char *threads = getenv("LOUPE_THREADS");
    if (threads && *threads) {
        char *end;
        long n = strtol(threads, &end, 10);
        if (*end == '\0' && n >= 1 && n <= 4096)
            core_set_threads((int)n);
        else
            fprintf(stderr, "loupe: ignoring LOUPE_THREADS=%s (expected a positive integer)\n",
                    threads);
    }

    /* names for error messages: metamethods first, so "add" replaces "__add" */
    lua_getfield(L, LUA_REGISTRYINDEX, LB_TENSOR_MT);
    lb_register_names(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, -1, "Tensor");
    lb_register_names(L, -1);
    lua_pop(L, 1);
    lb_register_names(L, -1);

    lua_newtable(L);
    lua_pushcfunction(L, lazy_submodule);
    lua_setfield(L, -2, "__index");
    lua_setmetatable(L, -2);
    return 1;
}
