/* repl.c — the interactive loop: read a chunk, run it, print its values, never die.
 *
 * The chunk logic is lua.c 5.4's: a chunk is first tried as "return <chunk>;" so a bare
 * expression prints its value(s); otherwise it is compiled as statements, and a syntax error
 * at "<eof>" means the chunk is incomplete, so more lines are read with the prompt ">> ".
 * Unlike lua.c, an expression that is incomplete ("1 +", "{") also waits for more lines.
 * "=expr" is accepted as in Lua 5.1-5.3. Values are printed with the global print (tostring,
 * hence a tensor's __tostring). Errors print their message and traceback and the loop goes on.
 *
 * On a terminal, lines come from GNU readline (editing, history in ~/.loupe_history, completion
 * of globals and fields). Readline is driven through its callback interface with our own
 * select() loop, as CPython's readline module does, because Ctrl-C at the prompt must only
 * discard the line: readline's own SIGINT handling cannot return to the caller. Ctrl-C while a
 * chunk runs is handled by host_docall (call.c). When input is not a terminal (`loupe -i <
 * file`), lines are read plainly (no editing) and the same logic applies. */
#include "host.h"

#include <lauxlib.h>
#include <stdio.h> /* before readline.h, which uses FILE */

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#define PROMPT "> "
#define PROMPT2 ">> "
#define CHUNKNAME "=stdin"
#define EOFMARK "<eof>"
#define HISTORY_FILE ".loupe_history"
#define HISTORY_MAX 1000
#define MAX_PLAIN_LINE (16u << 20) /* bytes; a longer line without newline ends input */

static lua_State *repl_L;      /* for the completion callback */
static bool use_readline;      /* stdin and stdout are terminals */
static char *history_path;     /* NULL: history is not saved */

/* ---- reading one line ---- */

enum read_status { READ_LINE, READ_EOF, READ_INTERRUPT };

static volatile sig_atomic_t got_sigint, got_sigwinch;
static char *cb_line;
static bool cb_done;

static void on_prompt_signal(int sig)
{
    if (sig == SIGINT)
        got_sigint = 1;
    else
        got_sigwinch = 1;
}

static void on_line(char *line)
{
    cb_line = line;
    cb_done = true;
    rl_callback_handler_remove(); /* so readline does not redisplay the prompt */
}

/* One line from readline; *out is malloc'd (without the newline) when READ_LINE. */
static enum read_status read_line_rl(const char *prompt, char **out)
{
    struct sigaction sa = {.sa_handler = on_prompt_signal}, old_int, old_winch;
    sigemptyset(&sa.sa_mask); /* no SA_RESTART: select() must see EINTR */
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGWINCH, &sa, &old_winch);
    got_sigint = got_sigwinch = 0;
    cb_line = NULL;
    cb_done = false;

    enum read_status st = READ_LINE;
    rl_callback_handler_install(prompt, on_line);
    int fd = rl_instream ? fileno(rl_instream) : STDIN_FILENO;
    while (!cb_done) {
        fd_set fds;
        FD_ZERO(&fds);
        FD_SET(fd, &fds);
        int r = select(fd + 1, &fds, NULL, NULL, NULL);
        if (r < 0 && errno == EINTR) {
            if (got_sigwinch) {
                got_sigwinch = 0;
                rl_resize_terminal();
            }
            if (got_sigint) {
                /* show "^C" where the cursor is, drop the half-typed line and give the
                 * terminal back */
                rl_echo_signal_char(SIGINT);
                rl_free_line_state();
                rl_callback_sigcleanup();
                rl_cleanup_after_signal();
                rl_callback_handler_remove();
                st = READ_INTERRUPT;
                break;
            }
            continue;
        }
        if (r < 0) {
            rl_callback_handler_remove();
            st = READ_EOF;
            break;
        }
        rl_callback_read_char();
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGWINCH, &old_winch, NULL);
    if (st == READ_INTERRUPT) {
        fputs("\n", stdout);
        fflush(stdout);
        return st;
    }
    if (st == READ_LINE && cb_line == NULL)
        st = READ_EOF;
    *out = cb_line;
    return st;
}

/* One line from a non-terminal stdin. */
static enum read_status read_line_plain(const char *prompt, char **out)
{
    fputs(prompt, stdout);
    fflush(stdout);
    size_t cap = 256, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return READ_EOF;
    int c;
    while ((c = getchar()) != EOF && c != '\n') {
        if (len + 2 > cap) {
            char *p = cap < MAX_PLAIN_LINE ? realloc(buf, cap * 2) : NULL;
            if (!p) {
                free(buf);
                return READ_EOF;
            }
            buf = p;
            cap *= 2;
        }
        buf[len++] = (char)c;
    }
    if (c == EOF && len == 0) {
        free(buf);
        return READ_EOF;
    }
    buf[len] = '\0';
    *out = buf;
    return READ_LINE;
}

/* Pushes the next line (the first of a chunk if first). Returns READ_LINE with the line on
 * the stack, or READ_EOF / READ_INTERRUPT with nothing pushed. */
static enum read_status pushline(lua_State *L, bool first)
{
    char *line = NULL;
    const char *prompt = first ? PROMPT : PROMPT2;
    enum read_status st =
        use_readline ? read_line_rl(prompt, &line) : read_line_plain(prompt, &line);
    if (st != READ_LINE)
        return st;
    size_t len = strlen(line);
    if (len > 0 && line[len - 1] == '\r')
        line[--len] = '\0';
    if (first && line[0] == '=') /* "=expr": Lua 5.1-5.3's shorthand for "return expr" */
        lua_pushfstring(L, "return %s", line + 1);
    else
        lua_pushlstring(L, line, len);
    free(line);
    return READ_LINE;
}

/* ---- history ---- */

static void save_line(const char *chunk)
{
    if (!use_readline || chunk[0] == '\0')
        return;
    HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
    if (last && strcmp(last->line, chunk) == 0)
        return; /* no immediate repeats */
    add_history(chunk);
    if (history_path)
        write_history(history_path); /* best effort, every time: os.exit() skips any epilogue */
}

static void history_init(void)
{
    using_history();
    stifle_history(HISTORY_MAX);
    /* Timestamp lines ("#<seconds>") mark where an entry starts in the file, so multi-line
     * chunks come back as one entry. A Lua line that looks like one ("#12") cannot be useful
     * anyway: it takes the length of a number. */
    history_comment_char = '#';
    history_write_timestamps = 1;
    history_multiline_entries = 1;
    const char *home = getenv("HOME");
    if (!home || !*home)
        return;
    size_t n = strlen(home) + sizeof "/" HISTORY_FILE;
    history_path = malloc(n);
    if (!history_path)
        return;
    snprintf(history_path, n, "%s/%s", home, HISTORY_FILE);
    read_history(history_path); /* a missing file is fine */
}

/* ---- compiling a chunk ---- */

/* Whether the load status says "syntax error at end of input": the chunk goes on. Pops the
 * message in that case. */
static bool incomplete(lua_State *L, int status)
{
    if (status != LUA_ERRSYNTAX)
        return false;
    size_t len;
    const char *msg = lua_tolstring(L, -1, &len);
    size_t mark = sizeof(EOFMARK) - 1;
    if (len >= mark && strcmp(msg + len - mark, EOFMARK) == 0) {
        lua_pop(L, 1);
        return true;
    }
    return false;
}

/* Compiles the chunk at index 1 as "return <chunk>;", so an expression prints its values.
 * Returns the status with the function or the error message pushed. */
static int load_as_expression(lua_State *L)
{
    const char *retline = lua_pushfstring(L, "return %s;", lua_tostring(L, 1));
    int status = luaL_loadbuffer(L, retline, strlen(retline), CHUNKNAME);
    lua_remove(L, -2);
    return status;
}

/* Whether "return <chunk>" stops at the end of input: an expression that goes on, as in
 * "1 +" or "f(1,". (Without the ';' that load_as_expression adds, which would hide it.) */
static bool expression_goes_on(lua_State *L)
{
    const char *retline = lua_pushfstring(L, "return %s", lua_tostring(L, 1));
    int status = luaL_loadbuffer(L, retline, strlen(retline), CHUNKNAME);
    bool more = incomplete(L, status);
    lua_pop(L, more ? 1 : 2);
    return more;
}

/* Compiles the chunk at index 1, first as an expression, then as statements, reading more
 * lines (appended to index 1) while either form is incomplete. Leaves the function or the
 * statement form's error message above the chunk and returns the status, or returns -1 if
 * the chunk was abandoned with Ctrl-C. */
static int compile_chunk(lua_State *L)
{
    for (;;) {
        size_t len;
        const char *chunk = lua_tolstring(L, 1, &len);
        int status = load_as_expression(L);
        if (status != LUA_OK) {
            lua_pop(L, 1);
            status = luaL_loadbuffer(L, chunk, len, CHUNKNAME);
        }
        if (status == LUA_OK) {
            save_line(chunk);
            return status;
        }
        bool more = incomplete(L, status); /* pops the message if so */
        if (!more && expression_goes_on(L)) {
            lua_pop(L, 1);
            more = true;
        }
        if (!more) {
            save_line(chunk);
            return status;
        }
        enum read_status st = pushline(L, false);
        if (st == READ_INTERRUPT)
            return -1;
        if (st == READ_EOF) {
            /* report the incomplete chunk as Lua would; the next read ends the REPL */
            save_line(chunk);
            return luaL_loadbuffer(L, chunk, len, CHUNKNAME);
        }
        /* stack: chunk, line -> chunk .. "\n" .. line */
        lua_pushliteral(L, "\n");
        lua_insert(L, -2);
        lua_concat(L, 3);
    }
}

enum { CHUNK_EOF = -1, CHUNK_NONE = -2 };

/* Reads and compiles one chunk: leaves the function (status LUA_OK) or an error message on
 * the stack, or returns CHUNK_EOF at the end of input or CHUNK_NONE after Ctrl-C. */
static int loadline(lua_State *L)
{
    lua_settop(L, 0);
    enum read_status st = pushline(L, true);
    if (st == READ_EOF)
        return CHUNK_EOF;
    if (st == READ_INTERRUPT)
        return CHUNK_NONE;
    int status = compile_chunk(L);
    if (status == -1) {
        lua_settop(L, 0);
        return CHUNK_NONE;
    }
    lua_remove(L, 1); /* the chunk's text */
    return status;
}

/* Prints the values on the stack with the global print. */
static void print_results(lua_State *L)
{
    int n = lua_gettop(L);
    if (n == 0)
        return;
    luaL_checkstack(L, LUA_MINSTACK, "too many results to print");
    lua_getglobal(L, "print");
    lua_insert(L, 1);
    if (host_docall(L, n, 0) != LUA_OK) {
        lua_pushfstring(L, "error calling 'print' (%s)", lua_tostring(L, -1));
        lua_remove(L, -2);
        host_print_error(L);
    }
}

/* ---- completion ---- */

static const char *const keywords[] = {
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
    "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while",
    NULL,
};

static char **cand;
static size_t n_cand, cap_cand;

static void cand_add(const char *s, size_t n)
{
    if (n_cand == cap_cand) {
        size_t cap = cap_cand ? cap_cand * 2 : 64;
        char **p = realloc(cand, cap * sizeof *p);
        if (!p)
            return;
        cand = p;
        cap_cand = cap;
    }
    char *c = malloc(n + 1);
    if (!c)
        return;
    memcpy(c, s, n);
    c[n] = '\0';
    cand[n_cand++] = c;
}

static void cand_clear(void)
{
    for (size_t i = 0; i < n_cand; i++)
        free(cand[i]);
    n_cand = 0;
}

static bool is_identifier(const char *s)
{
    if (!isalpha((unsigned char)*s) && *s != '_')
        return false;
    for (s++; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_')
            return false;
    return true;
}

/* Adds the identifier keys of the table at -1 starting with `part` as "<base><key><tail>",
 * tail being "(" for functions and "." for tables. */
static void complete_keys(lua_State *L, const char *base, size_t nbase, const char *part)
{
    size_t npart = strlen(part);
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        if (lua_type(L, -2) == LUA_TSTRING) {
            const char *k = lua_tostring(L, -2);
            if (strncmp(k, part, npart) == 0 && is_identifier(k)) {
                const char *tail = lua_type(L, -1) == LUA_TFUNCTION ? "("
                                   : lua_type(L, -1) == LUA_TTABLE  ? "."
                                                                    : "";
                luaL_Buffer b;
                luaL_buffinit(L, &b);
                luaL_addlstring(&b, base, nbase);
                luaL_addstring(&b, k);
                luaL_addstring(&b, tail);
                luaL_pushresult(&b);
                size_t n;
                const char *s = lua_tolstring(L, -1, &n);
                cand_add(s, n);
                lua_pop(L, 1);
            }
        }
        lua_pop(L, 1);
    }
}

/* Protected: collects candidates for the word (argument 1). Walks "a.b.c" from the globals
 * with lua_gettable (metamethods included, hence the pcall) and lists the keys of the last
 * value if it is a table, then of its metatable's __index table (methods of objects), or of
 * its __methods table when __index is a function (tensors), up a few levels. */
static int collect_candidates(lua_State *L)
{
    const char *word = luaL_checkstring(L, 1);
    const char *sep = NULL; /* the last "." or ":" */
    for (const char *p = word; *p; p++)
        if (*p == '.' || *p == ':')
            sep = p;
    if (!sep) {
        for (const char *const *k = keywords; *k; k++)
            if (strncmp(*k, word, strlen(word)) == 0)
                cand_add(*k, strlen(*k));
        lua_pushglobaltable(L);
        complete_keys(L, "", 0, word);
        return 0;
    }
    /* evaluate the path before the last separator */
    lua_pushglobaltable(L);
    const char *p = word;
    while (p < sep) {
        const char *q = p;
        while (q < sep && *q != '.' && *q != ':')
            q++;
        lua_pushlstring(L, p, (size_t)(q - p));
        if (!is_identifier(lua_tostring(L, -1)) || lua_type(L, -2) == LUA_TNIL)
            return 0;
        lua_gettable(L, -2);
        lua_remove(L, -2);
        p = q + 1;
    }
    size_t nbase = (size_t)(sep - word) + 1;
    for (int depth = 0; depth < 4 && !lua_isnil(L, -1); depth++) {
        if (lua_type(L, -1) == LUA_TTABLE)
            complete_keys(L, word, nbase, sep + 1);
        if (!lua_getmetatable(L, -1))
            break;
        lua_getfield(L, -1, "__index");
        if (lua_type(L, -1) != LUA_TTABLE) {
            /* __index is a function: the bindings keep the method table in __methods */
            lua_pop(L, 1);
            lua_getfield(L, -1, "__methods");
        }
        lua_remove(L, -2);
        if (lua_type(L, -1) != LUA_TTABLE)
            break;
    }
    return 0;
}

static char *complete_next(const char *text, int state)
{
    static size_t next;
    if (state == 0) {
        cand_clear();
        next = 0;
        lua_State *L = repl_L;
        int top = lua_gettop(L);
        lua_pushcfunction(L, collect_candidates);
        lua_pushstring(L, text);
        lua_pcall(L, 1, 0, 0); /* errors just mean no candidates */
        lua_settop(L, top);
    }
    if (next < n_cand) {
        char *s = cand[next];
        cand[next++] = NULL;
        return s; /* readline frees it */
    }
    return NULL;
}

static char **complete(const char *text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1; /* no file-name completion */
    rl_completion_append_character = '\0';
    return rl_completion_matches(text, complete_next);
}

/* ---- the loop ---- */

static void readline_init(void)
{
    rl_readline_name = "loupe";
    rl_catch_signals = 0; /* SIGINT is ours (see read_line_rl) */
    rl_attempted_completion_function = complete;
    /* '.' and ':' belong to the word being completed ("loupe.ten", "x:resh") */
    static const char breaks[] = " \t\n\"\\'`@$><=;|&{}()[],+-*/%^~#";
    rl_basic_word_break_characters = breaks;
    rl_completer_word_break_characters = breaks;
    history_init();
}

void host_repl(lua_State *L)
{
    repl_L = L;
    /* readline wants a terminal on both sides (it draws the prompt and the line itself) */
    use_readline = isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
    if (use_readline)
        readline_init();
    int status;
    while ((status = loadline(L)) != CHUNK_EOF) {
        if (status == CHUNK_NONE)
            continue;
        if (status == LUA_OK)
            status = host_docall(L, 0, LUA_MULTRET);
        if (status == LUA_OK)
            print_results(L);
        else
            host_print_error(L);
    }
    lua_settop(L, 0);
    if (use_readline) {
        fputc('\n', stdout);
        if (history_path)
            write_history(history_path);
        rl_clear_history();
        free(history_path);
        history_path = NULL;
    }
    cand_clear();
    free(cand);
    cand = NULL;
    cap_cand = 0;
    fflush(stdout);
    repl_L = NULL;
}
