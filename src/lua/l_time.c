/* l_time.c — loupe.clock(): monotonic wall-clock seconds, for timing epochs, progress and
 * benchmarks from Lua. (os.clock() is processor time, which counts every OpenMP thread, and
 * os.time() has one-second resolution.) */
#include "loupe/lbind.h"

#include <time.h>

static int l_clock(lua_State *L)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
    return 1;
}

void lb_open_time(lua_State *L)
{
    lua_pushcfunction(L, l_clock);
    lua_setfield(L, -2, "clock");
}
