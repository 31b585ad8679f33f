/* l_interrupt.c — loupe.uninterruptible(fn, ...): calls fn(...) with interrupts held back.
 *
 * A Ctrl-C or SIGTERM that arrives while fn runs neither raises in fn's Lua code (the host's
 * hook, src/host/call.c, sees the flag read false) nor stops the C loops fn calls (they poll
 * core_interrupted(), which answers false inside the section); when fn returns, the call
 * raises "interrupted". So a step that must not stop half-way (the optimizer's update of every
 * parameter, restoring a checkpoint) either completes or does not start. An error inside fn
 * propagates as it is. Sections nest. */
#include "loupe/lbind.h"

#include "loupe/core.h"

static int l_uninterruptible(lua_State *L)
{
    luaL_checktype(L, 1, LUA_TFUNCTION);
    core_defer_interrupts();
    int status = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    core_allow_interrupts();
    if (status != LUA_OK)
        return lua_error(L);
    if (core_interrupted())
        return luaL_error(L, "interrupted");
    return lua_gettop(L);
}

void lb_open_interrupt(lua_State *L)
{
    lua_pushcfunction(L, l_uninterruptible);
    lua_setfield(L, -2, "uninterruptible");
}
