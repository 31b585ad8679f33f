/* main.c — the `loupe` executable: Lua 5.4 with the loupe module preloaded.
 *
 *   loupe                      REPL on a terminal; otherwise runs stdin as a script
 *   loupe FILE.lua [args]      runs a script; `arg` and `...` as in lua.c
 *   loupe run [DIR|FILE...]    batch run of experiments with a report (runner.c)
 *   loupe -e CODE ... [-i]     runs code (in order), then the script if any, then the REPL
 *   loupe --version | --help
 *
 * Command-line handling follows lua.c 5.4 so scripts see the same `arg` table. An uncaught
 * error prints "loupe: <message>" and a traceback to stderr and the exit status is 1; usage
 * errors exit with 2. Ctrl-C, and SIGTERM outside the REPL, stop a script at the next safe
 * point with the error "interrupted" (call.c), so it too exits with 1. The Lua state is always closed before returning, so every __gc runs
 * and sanitizer builds see no leaks. Only main() returns; nothing here calls exit(). */
#include "host.h"

#include "loupe/core.h"
#include "loupe/lbind.h"

#include <lauxlib.h>
#include <lualib.h>

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { EXIT_USAGE = 2 };

/* Set (to "1") while re-executing ourselves, so a failed attempt cannot loop. */
#define REEXEC_GUARD "LOUPE_REEXEC"

/* Thread waiting policy. libgomp spins by default while a worker waits for work, and it reads
 * OMP_WAIT_POLICY once, when the library is loaded, before main() runs. With loupe's OpenMP
 * loops and OpenBLAS's threads both spinning, measured training steps were 2.5x slower on a
 * quiet machine and 3-11x slower on a loaded 2-core one (a spinning waiter steals the core
 * the worker it waits for needs); passive waiting removed the slowdown. So when the user has
 * not chosen a policy, set "passive" and re-execute ourselves once, so libgomp sees it. */
static void ensure_passive_wait_policy(char **argv)
{
    if (getenv(REEXEC_GUARD)) {
        unsetenv(REEXEC_GUARD); /* not inherited by programs the script starts */
        return;
    }
    if (getenv("OMP_WAIT_POLICY"))
        return;
    if (setenv("OMP_WAIT_POLICY", "passive", 1) != 0 || setenv(REEXEC_GUARD, "1", 1) != 0)
        return;
    execv("/proc/self/exe", argv);
    /* exec failed (no /proc?): go on with libgomp's default policy */
    unsetenv(REEXEC_GUARD);
}

/* ---- command line ---- */

struct options {
    int script;     /* index in argv of the script, or 0 */
    bool has_e;     /* -e or -l given */
    bool interactive; /* -i */
    bool version;
    bool help;
    const char *bad; /* the offending option */
};

static void print_usage(FILE *f, const char *progname)
{
    fprintf(f,
            "usage: %s [options] [script [args]]\n"
            "       %s run [DIR|FILE...] [--quick] [--only NAME] [--out DIR]  (see run --help)\n"
            "With no script: a REPL on a terminal, otherwise the script is read from stdin.\n"
            "The REPL starts with the module loaded as the global `loupe`.\n"
            "Options:\n"
            "  -e CODE        run CODE (may repeat; runs in order, before the script)\n"
            "  -l NAME        require library NAME into the global NAME\n"
            "  -i             enter the REPL after running the -e code and the script\n"
            "  -v, --version  print the version and exit\n"
            "  -h, --help     print this help and exit\n"
            "  --             stop handling options\n"
            "  -              run stdin as the script\n"
            "Environment:\n"
            "  LOUPE_THREADS  threads for loupe's OpenMP loops and OpenBLAS\n"
            "  LOUPE_SEED     seed of the random generator\n"
            "  LOUPE_DATA     dataset folder (default ./datasets)\n"
            "  LOUPE_LUA_PATH folder of loupe's Lua library (default: lua/ next to the program)\n"
            "  LOUPE_OUT      an experiment's output folder (default out/<name>)\n"
            "  LOUPE_QUICK    1: experiments run in quick mode\n"
            "  LOUPE_PROGRESS 0: progress bars print plain lines even on a terminal\n",
            progname, progname);
}

/* lua.c's collectargs: finds the script and checks the options before anything runs. */
static void collect_args(int argc, char **argv, struct options *o)
{
    *o = (struct options){0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-') { /* not an option: the script */
            o->script = i;
            return;
        }
        if (strcmp(a, "-") == 0) { /* stdin as the script */
            o->script = i;
            return;
        }
        if (strcmp(a, "--") == 0) {
            if (i + 1 < argc)
                o->script = i + 1;
            return;
        }
        if (strcmp(a, "--version") == 0 || strcmp(a, "-v") == 0) {
            o->version = true;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            o->help = true;
        } else if (strcmp(a, "-i") == 0) {
            o->interactive = true;
        } else if (a[1] == 'e' || a[1] == 'l') {
            o->has_e = true;
            if (a[2] == '\0') { /* the code or name is the next argument */
                i++;
                if (i >= argc || argv[i][0] == '-') {
                    o->bad = a;
                    return;
                }
            }
        } else {
            o->bad = a;
            return;
        }
    }
}

/* arg[0] = script, arg[1..] = its arguments, arg[-1..] = the interpreter and its options;
 * with no script, arg[0] is the program itself (as in lua.c). */
static void create_arg_table(lua_State *L, int argc, char **argv, int script)
{
    int narg = argc - (script + 1);
    lua_createtable(L, narg > 0 ? narg : 0, script + 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i - script);
    }
    lua_setglobal(L, "arg");
}

static int dochunk(lua_State *L, int status)
{
    if (status == LUA_OK)
        status = host_docall(L, 0, 0);
    return host_report(L, status);
}

/* -l NAME: NAME = require "NAME" */
static int dolibrary(lua_State *L, const char *name)
{
    lua_getglobal(L, "require");
    lua_pushstring(L, name);
    int status = host_docall(L, 1, 1);
    if (status == LUA_OK)
        lua_setglobal(L, name);
    return host_report(L, status);
}

/* Runs the -e and -l options in order. */
static int run_options(lua_State *L, char **argv, int n)
{
    for (int i = 1; i < n; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || (a[1] != 'e' && a[1] != 'l'))
            continue;
        const char *extra = a[2] ? a + 2 : argv[++i];
        int status;
        if (a[1] == 'e')
            status = dochunk(L, luaL_loadbuffer(L, extra, strlen(extra), "=(command line)"));
        else
            status = dolibrary(L, extra);
        if (status != LUA_OK)
            return status;
    }
    return LUA_OK;
}

/* Loads the script (NULL: stdin) and calls it with the arguments after it as `...`. */
static int run_script(lua_State *L, const char *fname, int argc, char **argv, int script)
{
    int status = luaL_loadfile(L, fname);
    if (status == LUA_OK) {
        int n = 0;
        if (script > 0) {
            n = argc - script - 1;
            luaL_checkstack(L, n + 3, "too many arguments to script");
            for (int i = script + 1; i < argc; i++)
                lua_pushstring(L, argv[i]);
        }
        status = host_docall(L, n, 0);
    }
    return host_report(L, status);
}

/* ---- state setup ---- */

static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Pushes "<dir>/?.lua;<dir>/?/init.lua;" */
static void push_dir_templates(lua_State *L, const char *dir)
{
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
}

/* Prepends loupe's Lua library to package.path: $LOUPE_LUA_PATH (a folder, or templates
 * if it contains '?'), then lua/ next to the executable, or next to its folder (the
 * sanitizer build keeps the program in build-san/). */
static void setup_package_path(lua_State *L)
{
    int top = lua_gettop(L);
    const char *env = getenv("LOUPE_LUA_PATH");
    if (env && *env) {
        if (strchr(env, '?'))
            lua_pushfstring(L, "%s;", env);
        else
            push_dir_templates(L, env);
    }

    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0'; /* the executable's folder */
            char dir[PATH_MAX + 16];
            snprintf(dir, sizeof dir, "%s/lua", exe);
            if (!is_dir(dir)) {
                slash = strrchr(exe, '/');
                if (slash) {
                    *slash = '\0';
                    snprintf(dir, sizeof dir, "%s/lua", *exe ? exe : "");
                }
            }
            if (is_dir(dir))
                push_dir_templates(L, dir);
        }
    }

    lua_getglobal(L, "package");
    lua_getfield(L, -1, "path");
    lua_remove(L, -2);
    lua_concat(L, lua_gettop(L) - top);
    lua_getglobal(L, "package");
    lua_insert(L, -2);
    lua_setfield(L, -2, "path");
    lua_settop(L, top);
}

/* os.exit([code [, close]]) with close defaulting to true: the state is closed, so tensors'
 * __gc run and files are flushed, as when a script ends normally. */
static int os_exit_closing(lua_State *L)
{
    if (lua_gettop(L) < 2) {
        lua_settop(L, 1);
        lua_pushboolean(L, 1);
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, 2, 0);
    return 0;
}

static void setup_os_exit(lua_State *L)
{
    lua_getglobal(L, "os");
    lua_getfield(L, -1, "exit");
    lua_pushcclosure(L, os_exit_closing, 1);
    lua_setfield(L, -2, "exit");
    lua_pop(L, 1);
}

/* The REPL's convenience: the module as the global `loupe` (a warning if it fails). */
static void load_module_global(lua_State *L)
{
    lua_getglobal(L, "loupe");
    bool present = !lua_isnil(L, -1);
    lua_pop(L, 1);
    if (present)
        return;
    lua_getglobal(L, "require");
    lua_pushliteral(L, "loupe");
    if (host_docall(L, 1, 1) == LUA_OK) {
        lua_setglobal(L, "loupe");
    } else {
        fprintf(stderr, "%s: warning: could not load the loupe module: ", HOST_NAME);
        host_print_error(L);
    }
}

/* ---- main ---- */

struct args {
    int argc;
    char **argv;
    int exit_code;
};

/* Everything that touches Lua runs here, under lua_pcall, so a memory error during setup is
 * reported instead of panicking. */
static int pmain(lua_State *L)
{
    struct args *a = lua_touserdata(L, 1);
    int argc = a->argc;
    char **argv = a->argv;
    const char *progname = argv[0] && argv[0][0] ? argv[0] : HOST_NAME;
    struct options o;
    /* `loupe run`: a file named run is still reachable as `loupe ./run` or `loupe -- run` */
    bool run_mode = argc > 1 && strcmp(argv[1], "run") == 0;

    if (run_mode)
        o = (struct options){0};
    else
        collect_args(argc, argv, &o);
    if (o.bad) {
        if (o.bad[1] == 'e' || o.bad[1] == 'l')
            fprintf(stderr, "%s: '%s' needs an argument\n", HOST_NAME, o.bad);
        else
            fprintf(stderr, "%s: unrecognized option '%s'\n", HOST_NAME, o.bad);
        print_usage(stderr, progname);
        a->exit_code = EXIT_USAGE;
        return 0;
    }
    if (o.help) {
        print_usage(stdout, progname);
        a->exit_code = EXIT_SUCCESS;
        return 0;
    }
    if (o.version) {
        printf("%s\n", host_version());
        a->exit_code = EXIT_SUCCESS;
        return 0;
    }

    luaL_checkversion(L);
    lua_gc(L, LUA_GCSTOP);
    luaL_openlibs(L);
    luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
    lua_pushcfunction(L, luaopen_loupe);
    lua_setfield(L, -2, "loupe");
    lua_pop(L, 1);
    setup_package_path(L);
    setup_os_exit(L);
    if (!run_mode)
        create_arg_table(L, argc, argv, o.script);
    lua_gc(L, LUA_GCRESTART);
    if (run_mode) {
        a->exit_code = host_run(L, argc - 1, argv + 1, argv[0]);
        return 0;
    }

    a->exit_code = EXIT_FAILURE;
    int n_opts = o.script > 0 ? o.script : argc;
    if (run_options(L, argv, n_opts) != LUA_OK)
        return 0;
    if (o.script > 0) {
        const char *fname = argv[o.script];
        if (strcmp(fname, "-") == 0 && strcmp(argv[o.script - 1], "--") != 0)
            fname = NULL; /* stdin */
        if (run_script(L, fname, argc, argv, o.script) != LUA_OK)
            return 0;
    }
    if (o.interactive || (o.script == 0 && !o.has_e)) {
        if (o.interactive || isatty(STDIN_FILENO)) {
            if (isatty(STDIN_FILENO) && isatty(STDOUT_FILENO))
                printf("%s  (Ctrl-D exits, Ctrl-C interrupts)\n", host_version());
            host_stop_on_sigterm(false); /* SIGTERM ends an interactive session at once */
            load_module_global(L);
            host_repl(L);
        } else if (run_script(L, NULL, argc, argv, 0) != LUA_OK) {
            return 0;
        }
    }
    a->exit_code = EXIT_SUCCESS;
    return 0;
}

int main(int argc, char **argv)
{
    ensure_passive_wait_policy(argv);

    lua_State *L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "%s: cannot create the Lua state: not enough memory\n", HOST_NAME);
        return EXIT_FAILURE;
    }
    struct args a = {.argc = argc, .argv = argv, .exit_code = EXIT_FAILURE};
    lua_pushcfunction(L, pmain);
    lua_pushlightuserdata(L, &a);
    int status = lua_pcall(L, 1, 0, 0);
    if (status != LUA_OK) {
        host_report(L, status);
        a.exit_code = EXIT_FAILURE;
    }
    lua_close(L);
    fflush(stdout);
    return a.exit_code;
}
