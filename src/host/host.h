/* host.h — the pieces of the `loupe` executable (src/host/), shared between its files.
 *
 *   main.c   entry point: environment, command line, Lua state setup, script and -e runs
 *   call.c   protected calls with a traceback, Ctrl-C and SIGTERM handling, error reports
 *   repl.c   the interactive loop (GNU readline, history, multi-line input, completion)
 *   runner.c `loupe run`: experiments in child processes, the report
 */
#ifndef LOUPE_HOST_H
#define LOUPE_HOST_H

#include <lua.h>
#include <stdbool.h>

#define HOST_NAME "loupe"

/* Calls the function below its narg arguments on the stack under lua_pcall with a traceback
 * message handler; Ctrl-C (or SIGTERM, see host_stop_on_sigterm) during the call raises
 * "interrupted" in Lua and sets the core's interrupt flag. Returns the Lua status; on error the message is left on the stack. */
int host_docall(lua_State *L, int narg, int nres);

/* Whether SIGTERM during host_docall stops the call as Ctrl-C does (the default: scripts,
 * experiments) or keeps its default action and ends the program at once (the REPL). */
void host_stop_on_sigterm(bool stop);

/* If status is not LUA_OK, prints "loupe: <message>" (with the traceback the handler added)
 * to stderr and pops the message. Returns status. */
int host_report(lua_State *L, int status);

/* Prints the message on top of the stack without the program name (used by the REPL, where
 * it is obvious who is talking) and pops it. */
void host_print_error(lua_State *L);

/* The interactive loop; returns when the user ends input (Ctrl-D). */
void host_repl(lua_State *L);

/* `loupe run ...`: argv[0] is "run", argv0 the program's own argv[0] (for the children). L is
 * set up as for a script; it writes the report. Returns the exit status. */
int host_run(lua_State *L, int argc, char **argv, const char *argv0);

/* The version line: "loupe 0.1.0 (Lua 5.4.x)". */
const char *host_version(void);

#endif
