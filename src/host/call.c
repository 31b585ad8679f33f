/* call.c — running Lua code under protection: traceback handler, Ctrl-C and SIGTERM, error
 * reports.
 *
 * The technique is lua.c's: while a chunk runs, SIGINT installs a Lua hook (lua_sethook is
 * safe to call from a signal handler) that raises "interrupted" at the next Lua instruction,
 * call or return, so a busy Lua loop stops and the REPL survives. The same handler sets the
 * core's interrupt flag, so long C loops that poll core_interrupted() give up too. The
 * handler then restores the default action: a second Ctrl-C kills a program stuck in C code
 * that never polls.
 *
 * SIGTERM does the same in scripts and experiments (the same error, "interrupted"), so a
 * batch job that is asked to stop ends at a safe point and its error handlers (the
 * experiment helper's metrics.json) still run. A second SIGTERM kills, unless it comes
 * within TERM_REPEAT_S of the first: `loupe run` passes SIGTERM on to its experiment, which
 * may also have had it directly (a kill of the whole process group), and that is one request.
 * In the REPL SIGTERM keeps its default action (host_stop_on_sigterm). */
#include "host.h"

#include "loupe/core.h"

#include <lauxlib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define TERM_REPEAT_S 1.0

static lua_State *volatile interrupted_state;
static bool stop_on_sigterm = true;
static volatile sig_atomic_t term_seen;
static struct timespec term_first; /* when the first SIGTERM came (written by the handler) */

static void stop_hook(lua_State *L, lua_Debug *ar)
{
    /* Not in a C function's call or return: when a C loop has just failed with its own
     * "<op>: interrupted", that error's message handler (C) must not replace it; the next
     * Lua instruction raises. */
    if (lua_getinfo(L, "S", ar) && ar->what[0] == 'C')
        return;
    lua_sethook(L, NULL, 0, 0);
    /* in a loupe.uninterruptible section the flag reads false: the section raises the error
     * when it ends */
    if (core_interrupted()) { /* "file:line: interrupted" where the running function was */
        luaL_where(L, 0);
        lua_pushliteral(L, "interrupted");
        lua_concat(L, 2);
        lua_error(L);
    }
}

static void on_signal(int sig)
{
    int flags = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    if (sig == SIGTERM) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now); /* async-signal-safe */
        if (term_seen) {
            double dt = (double)(now.tv_sec - term_first.tv_sec) +
                        (double)(now.tv_nsec - term_first.tv_nsec) * 1e-9;
            if (dt < TERM_REPEAT_S)
                return; /* the same request delivered twice */
            signal(sig, SIG_DFL); /* a second request ends the program */
            raise(sig);           /* delivered when the handler returns */
            return;
        }
        term_seen = 1;
        term_first = now;
    } else {
        signal(sig, SIG_DFL); /* a second Ctrl-C ends the program */
    }
    core_interrupt();
    if (interrupted_state)
        lua_sethook(interrupted_state, stop_hook, flags, 1);
}

void host_stop_on_sigterm(bool stop) { stop_on_sigterm = stop; }

/* Installs on_signal for sig unless sig is ignored (as SIGINT is for `loupe x.lua &` started
 * from a non-interactive shell: then it stays ignored). Returns whether it did. */
static bool catch_signal(int sig, struct sigaction *old)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(sig, NULL, old);
    if (old->sa_handler == SIG_IGN)
        return false;
    sigaction(sig, &sa, NULL);
    return true;
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
    term_seen = 0;
    interrupted_state = L;
    struct sigaction old_int, old_term;
    bool on_int = catch_signal(SIGINT, &old_int);
    bool on_term = stop_on_sigterm && catch_signal(SIGTERM, &old_term);
    int status = lua_pcall(L, narg, nres, base);
    if (on_int)
        sigaction(SIGINT, &old_int, NULL);
    if (on_term)
        sigaction(SIGTERM, &old_term, NULL);
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
