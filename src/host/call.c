/* call.c — running Lua code under protection: traceback handler, Ctrl-C, error reports.
 *
 * The technique is lua.c's: while a chunk runs, SIGINT installs a Lua hook (lua_sethook is
 * safe to call from a signal handler) that raises "interrupted" at the next Lua instruction,
 * call or return, so a busy Lua loop stops and the REPL survives. The same handler sets the
 * core's interrupt flag, so long C loops that poll core_interrupted() give up too. The
 * handler then restores the default action: a second Ctrl-C kills a program stuck in C code
 * that never polls. */
#include "host.h"

#include "loupe/core.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static lua_State *volatile interrupted_state;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted");
}

static void on_sigint(int sig)
{
    int flags = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    signal(sig, SIG_DFL); /* a second Ctrl-C ends the program */
    core_interrupt();
    if (interrupted_state)
        lua_sethook(interrupted_state, stop_hook, flags, 1);
}

/* Message handler: turns any error value into a string and appends a traceback. */
static int msghandler(lua_State *L)
{
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
            return 1; /* an object that describes itself: no traceback */
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int host_docall(lua_State *L, int narg, int nres)
{
    int base = lua_gettop(L) - narg; /* function index */
    lua_pushcfunction(L, msghandler);
    lua_insert(L, base);
    core_clear_interrupt();
    interrupted_state = L;
    /* Ctrl-C stops the call, unless SIGINT is ignored (as for `loupe x.lua &` started from a
     * non-interactive shell): then it stays ignored. */
    struct sigaction sa = {.sa_handler = on_sigint}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, NULL, &old);
    bool handle = old.sa_handler != SIG_IGN;
    if (handle)
        sigaction(SIGINT, &sa, NULL);
    int status = lua_pcall(L, narg, nres, base);
    if (handle)
        sigaction(SIGINT, &old, NULL);
    interrupted_state = NULL;
    lua_sethook(L, NULL, 0, 0); /* a Ctrl-C that came too late to fire */
    core_clear_interrupt();
    lua_remove(L, base);
    return status;
}

void host_print_error(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "%s\n", msg ? msg : "(error object is not a string)");
    fflush(stderr);
    lua_pop(L, 1);
}

int host_report(lua_State *L, int status)
{
    if (status != LUA_OK) {
        fprintf(stderr, "%s: ", HOST_NAME);
        host_print_error(L);
    }
    return status;
}

const char *host_version(void) { return HOST_NAME " " LOUPE_VERSION " (" LUA_RELEASE ")"; }
