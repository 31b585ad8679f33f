/* l_sys.c — the few operating-system services the Lua-side library needs and Lua lacks:
 *
 *   loupe.isatty(f)            is f (io.stdout, io.stderr, ... or a descriptor number) a terminal?
 *   loupe.terminal_width(f)    the terminal's columns, or nil when f is not a terminal
 *   loupe.mkdir(path)          creates path and its missing parents (as `mkdir -p`)
 *   loupe.write_file(path, s)  writes the string s to path atomically (atomic_file.h)
 *
 * Used by loupe.progress (drawing a bar only on a terminal, as wide as the terminal) and
 * loupe.experiment / loupe.report (output folders, metrics.json and index.html, which must
 * never be seen half-written). Failures raise errors naming the call and the path. */
#include "loupe/lbind.h"

#include "loupe/atomic_file.h"
#include "loupe/core.h"
#include "loupe/fs.h"

#include <errno.h>
#include <lualib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/* The descriptor of argument 1: a number, or an open Lua file handle. */
static int check_fd(lua_State *L, const char *fn)
{
    if (lua_isinteger(L, 1))
        return (int)lua_tointeger(L, 1);
    luaL_Stream *s = luaL_testudata(L, 1, LUA_FILEHANDLE);
    if (!s)
        luaL_error(L, "%s: expected a file (io.stdout) or a descriptor number, got %s", fn,
                   luaL_typename(L, 1));
    if (!s->closef || !s->f)
        luaL_error(L, "%s: the file is closed", fn);
    return fileno(s->f);
}

static int l_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty(check_fd(L, "isatty")));
    return 1;
}

static int l_terminal_width(lua_State *L)
{
    int fd = check_fd(L, "terminal_width");
    struct winsize ws;
    if (!isatty(fd) || ioctl(fd, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0)
        return 0;
    lua_pushinteger(L, ws.ws_col);
    return 1;
}

static int l_mkdir(lua_State *L)
{
    if (fs_mkdir_p(luaL_checkstring(L, 1), "mkdir") < 0)
        return lb_fail(L);
    return 0;
}

static int l_write_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    struct atomic_file af;
    if (af_open(&af, path, "write_file") < 0)
        return lb_fail(L);
    if (fwrite(data, 1, n, af.fp) != n) {
        err_set("write_file: writing '%s' failed: %s", path, strerror(errno));
        af_abort(&af);
        return lb_fail(L);
    }
    if (af_commit(&af, path, "write_file") < 0)
        return lb_fail(L);
    return 0;
}

void lb_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {{"isatty", l_isatty},
                                   {"terminal_width", l_terminal_width},
                                   {"mkdir", l_mkdir},
                                   {"write_file", l_write_file},
                                   {NULL, NULL}};
    luaL_setfuncs(L, fns, 0);
}
