/* fuzz_tensor_table.c — libFuzzer target: loupe.tensor(value [, dtype or options]), the
 * constructor that turns nested Lua tables into tensors.
 *
 * The input is read as a small program that builds Lua values directly through the C API
 * (building them as source text would mostly fuzz Lua's parser): integers of every size,
 * doubles from raw bits (NaN, infinities, subnormals, values beyond int64), nil, booleans,
 * strings, tables of up to 7 elements with holes and hash keys, chains of hundreds of nested
 * one-element tables, references to tables built earlier (shared rows, and cycles: a table
 * that contains itself) and tensors as elements. loupe.tensor is then called on it, with no
 * second argument, a dtype name (valid or not), an options table or any other value, in a
 * protected call: errors are expected, crashes and leaks are not. One Lua state with the
 * loupe module opened serves every run; the stack is cleared and a full collection frees
 * each run's values and tensors. The builder has a Lua port, value for value, in
 * tests/lua/test_fuzz_regressions.lua (which replays crash inputs) and an encoder in
 * tests/fuzz/make_corpus.lua (which writes the seeds): a change here goes there too. */
#include "fuzz.h"
#include "loupe/lbind.h"

#include <lauxlib.h>
#include <lualib.h>
#include <string.h>

#define MAX_DEPTH 160 /* recursion of the builder; the wrap op nests deeper without recursing */

static lua_State *L; /* the state's main thread, which run() below also gets */

struct input {
    const uint8_t *p;
    size_t n;
};

static unsigned next_byte(struct input *in)
{
    if (in->n == 0)
        return 0;
    in->n--;
    return *in->p++;
}

/* Up to 8 bytes, little-endian (fewer if the input runs out). */
static uint64_t next_u64(struct input *in)
{
    uint64_t v = 0;
    for (int k = 0; k < 8 && in->n > 0; k++)
        v |= (uint64_t)next_byte(in) << (8 * k);
    return v;
}

static const char *const DTYPES[] = {"float32", "int64", "uint8", "float", "long",
                                     "byte", "float64", ""};
#define N_DTYPES (sizeof DTYPES / sizeof DTYPES[0])

/* The pool of tables built so far in this run (stack index 1), for shared rows and cycles. */
static void pool_add(void)
{
    lua_pushvalue(L, -1);
    lua_rawseti(L, 1, (lua_Integer)lua_rawlen(L, 1) + 1);
}

static void build(struct input *in, int depth);

static void build_table(struct input *in, int depth)
{
    unsigned n = next_byte(in) % 8;
    lua_createtable(L, (int)n, 0);
    pool_add(); /* before the elements, so that an element can be the table itself */
    for (unsigned i = 1; i <= n; i++) {
        build(in, depth + 1);
        lua_rawseti(L, -2, i);
    }
}

/* Rarer values: shared tables, tensors, tables with hash keys, deep nesting. */
static void build_special(struct input *in, int depth)
{
    unsigned b = next_byte(in);
    switch (b % 6) {
    case 0: { /* a table built earlier in this run (an ancestor makes a cycle) */
        lua_Integer n = (lua_Integer)lua_rawlen(L, 1);
        if (n == 0)
            lua_pushnil(L);
        else
            lua_rawgeti(L, 1, 1 + (lua_Integer)(next_byte(in) % (unsigned)n));
        break;
    }
    case 1: /* a tensor where a number or a row belongs */
        lua_getfield(L, 2, "zeros");
        lua_pushinteger(L, next_byte(in) % 4);
        lua_call(L, 1, 1);
        break;
    case 2: /* a sequence with keys beside it: t[0], t[n + 2], t.x */
        build_table(in, depth);
        build(in, depth + 1);
        lua_rawseti(L, -2, (b >> 3) & 1 ? 0 : (lua_Integer)lua_rawlen(L, -2) + 2);
        build(in, depth + 1);
        lua_setfield(L, -2, "x");
        break;
    case 3: { /* a value wrapped in up to 1020 one-element tables */
        unsigned k = next_byte(in) * 4;
        build(in, depth + 1);
        for (unsigned i = 0; i < k; i++) {
            lua_createtable(L, 1, 0);
            lua_insert(L, -2);
            lua_rawseti(L, -2, 1);
        }
        break;
    }
    case 4: /* n copies of one row: a large tensor from a short input */
    {
        unsigned n = next_byte(in);
        build(in, depth + 1);
        lua_createtable(L, (int)n, 0);
        for (unsigned i = 1; i <= n; i++) {
            lua_pushvalue(L, -2);
            lua_rawseti(L, -2, i);
        }
        lua_remove(L, -2);
        break;
    }
    default: /* a numeric string, which is not a number to loupe.tensor */
        lua_pushfstring(L, "%d", (int)(b >> 3));
        break;
    }
}

/* Pushes one value read from the input. */
static void build(struct input *in, int depth)
{
    luaL_checkstack(L, 8, "fuzz: builder");
    unsigned b = next_byte(in);
    if (depth >= MAX_DEPTH) {
        lua_pushinteger(L, (lua_Integer)b - 128);
        return;
    }
    switch (b % 16) {
    case 0: case 1: case 2: lua_pushinteger(L, (int8_t)next_byte(in)); break;
    case 3: lua_pushinteger(L, (lua_Integer)next_u64(in)); break;
    case 4: {
        uint64_t bits = next_u64(in);
        double d;
        memcpy(&d, &bits, sizeof d);
        lua_pushnumber(L, d);
        break;
    }
    case 5: lua_pushnumber(L, ((int)next_byte(in) - 128) / 4.0); break;
    case 6: lua_pushnil(L); break;
    case 7: lua_pushboolean(L, next_byte(in) & 1); break;
    case 8: {
        char s[8];
        unsigned n = next_byte(in) % sizeof s;
        for (unsigned i = 0; i < n; i++)
            s[i] = (char)next_byte(in);
        lua_pushlstring(L, s, n);
        break;
    }
    case 9: build_special(in, depth); break;
    default: build_table(in, depth); break;
    }
}

/* The optional second argument; returns how many arguments were pushed (0 or 1). */
static int build_options(struct input *in, unsigned mode)
{
    switch (mode % 8) {
    case 3: lua_pushstring(L, DTYPES[next_byte(in) % N_DTYPES]); return 1;
    case 4:
        lua_createtable(L, 0, 2);
        lua_pushstring(L, DTYPES[next_byte(in) % N_DTYPES]);
        lua_setfield(L, -2, "dtype");
        return 1;
    case 5:
        lua_createtable(L, 0, 2);
        lua_pushboolean(L, next_byte(in) & 1);
        lua_setfield(L, -2, "requires_grad");
        return 1;
    case 6:
        lua_createtable(L, 0, 2);
        lua_pushstring(L, DTYPES[next_byte(in) % N_DTYPES]);
        lua_setfield(L, -2, "dtype");
        lua_pushboolean(L, next_byte(in) & 1);
        lua_setfield(L, -2, "requires_grad");
        return 1;
    case 7: build(in, 0); return 1;
    default: return 0;
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_init();
    /* a short program describes a huge tensor (rows repeated 255 times, four levels deep):
     * a lower limit keeps every run fast, and larger sizes take the same error path */
    core_mem_set_limit((size_t)16 << 20);
    L = luaL_newstate();
    if (!L)
        abort();
    luaL_openlibs(L);
    luaL_requiref(L, "loupe", luaopen_loupe, 1);
    lua_setglobal(L, "loupe");
    return 0;
}

/* Builds the arguments and calls loupe.tensor; runs under lua_pcall, so that the builder's
 * own errors (none expected) cannot escape either. */
static int run(lua_State *S)
{
    struct input *in = lua_touserdata(S, 1);
    unsigned mode = next_byte(in);
    lua_settop(S, 0);
    lua_newtable(S);           /* 1: the pool of tables */
    lua_getglobal(S, "loupe"); /* 2 */
    lua_getfield(S, 2, "tensor");
    build(in, 0);
    int nargs = 1 + build_options(in, mode);
    lua_call(S, nargs, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = {data, size};
    lua_pushcfunction(L, run);
    lua_pushlightuserdata(L, &in);
    lua_pcall(L, 1, 0, 0);
    lua_settop(L, 0);
    lua_gc(L, LUA_GCCOLLECT, 0);
    return 0;
}
