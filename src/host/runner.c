/* runner.c — `loupe run`: runs a folder of experiments and writes a report.
 *
 *   loupe run [DIR|FILE...] [--quick] [--only NAME] [--out DIR]
 *
 * Experiments: the *.lua files of each DIR (sorted by name) and each FILE, in the order
 * given; default the experiments/ folder. Each one runs as a child process — this same
 * program, started on the script — so it gets a fresh Lua state, and a crash, an os.exit or
 * exhausted memory in one cannot stop the others. Its stdout and stderr go (through a pipe)
 * into <run>/<name>/log.txt; the terminal shows one status line per experiment, updated
 * with the experiment's latest output line while it runs. The child learns its output folder
 * from LOUPE_OUT and quick mode from LOUPE_QUICK=1 (read by loupe.experiment). Before an
 * experiment runs, the figures, metrics.json and log.txt left in its folder by an earlier
 * run are removed (other files, such as checkpoints, stay).
 *
 * <run> is --out DIR exactly, or out/run-<local date and time>. The report (index.html and
 * summary.json, written by lua/loupe/report.lua) is rewritten before and after each
 * experiment, so it can be watched during a long run. Exit status: 0 if every
 * experiment succeeded, 1 if one failed (or the report could not be written), 2 for usage
 * errors, 130 when stopped by Ctrl-C (the running experiment gets the SIGINT too; the rest
 * are marked skipped; a second Ctrl-C kills the experiment), 143 when stopped by SIGTERM
 * (the same, and the runner passes the SIGTERM on to the experiment, which may have had it
 * already: the host takes two within a second as one, see call.c). */
#include "host.h"

#include "loupe/core.h"
#include "loupe/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* stopped: 128 + the signal, as a shell reports a process that signal killed */
enum { RUN_OK = 0, RUN_FAILED = 1, RUN_USAGE = 2, RUN_STOPPED = 128 };

#define DEFAULT_DIR "experiments"
#define REDRAW_SECONDS 0.25 /* status line redraws while an experiment runs */

struct experiment {
    char *file;         /* the script's path */
    char *name;         /* its file name without ".lua" */
    char *dir;          /* <run>/<name> */
    const char *status; /* "pending", "running", "ok", "failed" or "skipped" */
    char detail[96];    /* how it failed: "exit status 3", "killed by signal 11 (...)" */
    double seconds;     /* wall time; < 0 until it ran */
};

struct run {
    struct experiment *exps;
    int n, cap;
    bool quick;
    const char *only;
    const char *out;  /* --out, or NULL */
    char *dir;        /* the run folder */
    char *command;    /* the command line, for the report */
    char started[32]; /* local date and time */
    double t0;
    bool tty;            /* stdout is a terminal: live status lines */
    bool report_failed;  /* after the first failure the report is not retried */
    char exe[PATH_MAX];  /* this program */
    const char *argv0;
};

static volatile sig_atomic_t interrupts;  /* SIGINTs and SIGTERMs received */
static volatile sig_atomic_t stop_signal; /* the first of them */

static void on_signal(int sig)
{
    if (!stop_signal)
        stop_signal = sig;
    interrupts++;
}

/* What a stopped experiment's detail and the summary say. */
static const char *stop_word(void) { return stop_signal == SIGTERM ? "terminated" : "interrupted"; }

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_usage(FILE *f)
{
    fprintf(f,
            "usage: %s run [DIR|FILE...] [--quick] [--only NAME] [--out DIR]\n"
            "Runs each experiment (the *.lua files of DIR, default %s/, or the FILEs) in its\n"
            "own process and writes out/<run>/index.html with statuses, metrics and figures.\n"
            "  --quick      quick mode (LOUPE_QUICK=1 for the experiments)\n"
            "  --only NAME  run only the experiment whose file is NAME.lua\n"
            "  --out DIR    the run folder (default out/run-<date>T<time>)\n"
            "Exit status: 0 if all succeeded, 1 if any failed, 2 for usage errors,\n"
            "130 when stopped by Ctrl-C, 143 by SIGTERM.\n",
            HOST_NAME, DEFAULT_DIR);
}

static int out_of_memory(void)
{
    fprintf(stderr, "%s run: out of memory\n", HOST_NAME);
    return -1;
}

/* "a/b", malloc'd; NULL when out of memory. */
static char *join_path(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = malloc(na + nb + 2);
    if (!p)
        return NULL;
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

static bool has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

/* ---- collecting the experiments ---- */

/* Returns 0, or -1 (out of memory, reported). */
static int add_experiment(struct run *r, const char *file)
{
    if (r->n == r->cap) {
        int cap = r->cap ? 2 * r->cap : 16;
        struct experiment *e = realloc(r->exps, (size_t)cap * sizeof *e);
        if (!e)
            return out_of_memory();
        r->exps = e;
        r->cap = cap;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *name = strdup(base), *copy = strdup(file);
    if (!name || !copy) {
        free(name);
        free(copy);
        return out_of_memory();
    }
    if (has_suffix(name, ".lua"))
        name[strlen(name) - 4] = '\0';
    r->exps[r->n++] =
        (struct experiment){.file = copy, .name = name, .status = "pending", .seconds = -1};
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_regular(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Adds DIR's *.lua files (not hidden ones), sorted by name. Returns how many, or -1. */
static int add_folder(struct run *r, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s run: cannot read the folder '%s': %s\n", HOST_NAME, dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, ".lua"))
            continue;
        char *path = join_path(dir, de->d_name);
        if (path && !is_regular(path)) {
            free(path);
            continue;
        }
        if (path && n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (nn) {
                names = nn;
            } else {
                free(path);
                path = NULL;
            }
        }
        if (path)
            names[n++] = path;
        else
            rc = out_of_memory();
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc == 0)
            rc = add_experiment(r, names[i]);
        free(names[i]);
    }
    free(names);
    return rc < 0 ? -1 : (int)n;
}

static void free_run(struct run *r)
{
    for (int i = 0; i < r->n; i++) {
        free(r->exps[i].file);
        free(r->exps[i].name);
        free(r->exps[i].dir);
    }
    free(r->exps);
    free(r->dir);
    free(r->command);
}

/* Parses the arguments after "run" and collects the experiments. Returns RUN_OK, or
 * RUN_USAGE after printing why (EXIT_SUCCESS for --help). */
static int parse(struct run *r, int argc, char **argv, bool *help)
{
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    int np = 0, rc = RUN_OK;
    if (!paths)
        return out_of_memory(), RUN_FAILED;
    bool only_paths = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_paths || a[0] != '-') {
            paths[np++] = a;
        } else if (strcmp(a, "--") == 0) {
            only_paths = true;
        } else if (strcmp(a, "--quick") == 0) {
            r->quick = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            *help = true;
        } else if (strncmp(a, "--only=", 7) == 0 || strncmp(a, "--out=", 6) == 0) {
            const char **dst = strncmp(a, "--only", 6) == 0 ? &r->only : &r->out;
            *dst = strchr(a, '=') + 1;
        } else if (strcmp(a, "--only") == 0 || strcmp(a, "--out") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "%s run: '%s' needs an argument\n", HOST_NAME, a);
                run_usage(stderr);
                rc = RUN_USAGE;
                goto done;
            }
            const char **dst = strncmp(a, "--only", 6) == 0 ? &r->only : &r->out;
            *dst = argv[++i];
        } else {
            fprintf(stderr, "%s run: unrecognized option '%s'\n", HOST_NAME, a);
            run_usage(stderr);
            rc = RUN_USAGE;
            goto done;
        }
    }
    if (*help)
        goto done;
    if ((r->out && !*r->out) || (r->only && !*r->only)) {
        fprintf(stderr, "%s run: --out and --only need a non-empty argument\n", HOST_NAME);
        rc = RUN_USAGE;
        goto done;
    }
    if (np == 0) {
        struct stat st;
        if (stat(DEFAULT_DIR, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fprintf(stderr, "%s run: no %s/ folder here; name a folder or files to run\n",
                    HOST_NAME, DEFAULT_DIR);
            rc = RUN_USAGE;
            goto done;
        }
        paths[np++] = DEFAULT_DIR;
    }
    for (int i = 0; i < np; i++) {
        struct stat st;
        if (stat(paths[i], &st) != 0) {
            fprintf(stderr, "%s run: '%s': %s\n", HOST_NAME, paths[i], strerror(errno));
            rc = RUN_USAGE;
            goto done;
        }
        if (S_ISDIR(st.st_mode)) {
            int k = add_folder(r, paths[i]);
            if (k < 0) {
                rc = RUN_FAILED;
                goto done;
            }
            if (k == 0)
                fprintf(stderr, "%s run: warning: no *.lua files in '%s'\n", HOST_NAME, paths[i]);
        } else if (add_experiment(r, paths[i]) < 0) {
            rc = RUN_FAILED;
            goto done;
        }
    }
    for (int i = 0; i < r->n; i++)
        for (int j = 0; j < i; j++)
            if (strcmp(r->exps[i].name, r->exps[j].name) == 0) {
                fprintf(stderr, "%s run: two experiments are named '%s' ('%s' and '%s')\n",
                        HOST_NAME, r->exps[i].name, r->exps[j].file, r->exps[i].file);
                rc = RUN_USAGE;
                goto done;
            }
    if (r->only) {
        int keep = -1;
        for (int i = 0; i < r->n; i++)
            if (strcmp(r->exps[i].name, r->only) == 0)
                keep = i;
        if (keep < 0) {
            fprintf(stderr, "%s run: no experiment named '%s'; available:", HOST_NAME, r->only);
            for (int i = 0; i < r->n; i++)
                fprintf(stderr, "%s %s", i ? "," : "", r->exps[i].name);
            fprintf(stderr, "%s\n", r->n ? "" : " none");
            rc = RUN_USAGE;
            goto done;
        }
        for (int i = 0; i < r->n; i++)
            if (i != keep) {
                free(r->exps[i].file);
                free(r->exps[i].name);
            }
        r->exps[0] = r->exps[keep];
        r->n = 1;
    }
    if (r->n == 0) {
        fprintf(stderr, "%s run: no experiments to run\n", HOST_NAME);
        rc = RUN_USAGE;
    }
done:
    free(paths);
    return rc;
}

/* ---- the run folder ---- */

/* Creates the run folder: --out, or out/run-<date>T<time>[-k] (never an existing one).
 * Returns 0 or -1 after printing why. */
static int make_run_dir(struct run *r)
{
    time_t t = time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(r->started, sizeof r->started, "%Y-%m-%d %H:%M:%S", &tm);
    if (r->out) {
        if (!(r->dir = strdup(r->out)))
            return out_of_memory();
        size_t n = strlen(r->dir);
        while (n > 1 && r->dir[n - 1] == '/')
            r->dir[--n] = '\0';
    } else {
        char stamp[32], path[64];
        strftime(stamp, sizeof stamp, "%Y-%m-%dT%H-%M-%S", &tm);
        if (fs_mkdir_p("out", "run") < 0) {
            fprintf(stderr, "%s %s\n", HOST_NAME, err_msg());
            return -1;
        }
        for (int k = 1;; k++) {
            if (k == 1)
                snprintf(path, sizeof path, "out/run-%s", stamp);
            else
                snprintf(path, sizeof path, "out/run-%s-%d", stamp, k);
            if (mkdir(path, 0777) == 0)
                break;
            if (errno != EEXIST || k == 1000) {
                fprintf(stderr, "%s run: cannot create the folder '%s': %s\n", HOST_NAME, path,
                        strerror(errno));
                return -1;
            }
        }
        if (!(r->dir = strdup(path)))
            return out_of_memory();
    }
    if (fs_mkdir_p(r->dir, "run") < 0) {
        fprintf(stderr, "%s %s\n", HOST_NAME, err_msg());
        return -1;
    }
    for (int i = 0; i < r->n; i++)
        if (!(r->exps[i].dir = join_path(r->dir, r->exps[i].name)))
            return out_of_memory();
    return 0;
}

static bool is_output_file(const char *name)
{
    return has_suffix(name, ".png") || has_suffix(name, ".svg") || has_suffix(name, ".pdf");
}

/* Removes what an earlier run left in an experiment's folder: figures, metrics.json, log.txt. */
static void clear_outputs(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *f = de->d_name;
        if (f[0] == '.' || !(is_output_file(f) || strcmp(f, "metrics.json") == 0 ||
                             strcmp(f, "log.txt") == 0))
            continue;
        char *path = join_path(dir, f);
        if (path && is_regular(path))
            unlink(path);
        free(path);
    }
    closedir(d);
}

/* ---- the report (lua/loupe/report.lua) ---- */

struct figure {
    char *name;
    struct timespec mtime;
};

static int cmp_figure(const void *a, const void *b)
{
    const struct figure *x = a, *y = b;
    if (x->mtime.tv_sec != y->mtime.tv_sec)
        return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
    if (x->mtime.tv_nsec != y->mtime.tv_nsec)
        return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* Pushes the list of figure files (png, svg, pdf) in dir, oldest first: the order the
 * experiment made them. */
static void push_figures(lua_State *L, const char *dir)
{
    lua_newtable(L);
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct figure *figs = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !is_output_file(de->d_name))
            continue;
        char *path = join_path(dir, de->d_name);
        struct stat st;
        bool ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode);
        free(path);
        if (!ok)
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            struct figure *nf = realloc(figs, cap * sizeof *nf);
            if (!nf)
                break;
            figs = nf;
        }
        figs[n].name = strdup(de->d_name);
        figs[n].mtime = st.st_mtim;
        if (figs[n].name)
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(figs, n, sizeof *figs, cmp_figure);
    for (size_t i = 0; i < n; i++) {
        lua_pushstring(L, figs[i].name);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    for (size_t i = 0; i < n; i++)
        free(figs[i].name);
    free(figs);
}

/* Protected: report.write(run_dir, {...}) with the run's state. */
static int report_call(lua_State *L)
{
    struct run *r = lua_touserdata(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "loupe.report");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "write");
    lua_pushstring(L, r->dir);
    lua_createtable(L, 0, 8);
    lua_pushstring(L, strrchr(r->dir, '/') ? strrchr(r->dir, '/') + 1 : r->dir);
    lua_setfield(L, -2, "title");
    lua_pushstring(L, r->started);
    lua_setfield(L, -2, "started");
    lua_pushstring(L, r->command ? r->command : HOST_NAME " run");
    lua_setfield(L, -2, "command");
    lua_pushstring(L, host_version());
    lua_setfield(L, -2, "version");
    lua_pushboolean(L, r->quick);
    lua_setfield(L, -2, "quick");
    lua_pushnumber(L, now() - r->t0);
    lua_setfield(L, -2, "seconds");
    lua_createtable(L, r->n, 0);
    for (int i = 0; i < r->n; i++) {
        struct experiment *e = &r->exps[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, e->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, e->file);
        lua_setfield(L, -2, "file");
        lua_pushstring(L, e->status);
        lua_setfield(L, -2, "status");
        if (e->detail[0]) {
            lua_pushstring(L, e->detail);
            lua_setfield(L, -2, "detail");
        }
        if (e->seconds >= 0) {
            lua_pushnumber(L, e->seconds);
            lua_setfield(L, -2, "seconds");
        }
        if (e->seconds >= 0) /* before it ran, its folder may hold an earlier run's */
            push_figures(L, e->dir);
        else
            lua_newtable(L);
        lua_setfield(L, -2, "figures");
        lua_rawseti(L, -2, i + 1);
    }
    lua_setfield(L, -2, "experiments");
    lua_call(L, 2, 0);
    return 0;
}

static void write_report(lua_State *L, struct run *r)
{
    if (r->report_failed)
        return;
    /* A Ctrl-C or SIGTERM now is the run's, not the report's: held back until host_docall
     * has put our handler back (writing the report takes milliseconds). */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, &old);
    lua_pushcfunction(L, report_call);
    lua_pushlightuserdata(L, r);
    int status = host_docall(L, 1, 0);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (status != LUA_OK) {
        fprintf(stderr, "%s run: cannot write the report: ", HOST_NAME);
        host_print_error(L);
        r->report_failed = true;
    }
}

/* ---- running one experiment ---- */

/* The latest line of output, for the live status. */
struct live {
    char cur[256], last[256];
    size_t ncur;
};

static void live_feed(struct live *lv, const char *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c == '\n' || c == '\r') {
            if (lv->ncur > 0) {
                memcpy(lv->last, lv->cur, lv->ncur);
                lv->last[lv->ncur] = '\0';
            }
            lv->ncur = 0;
        } else if ((c >= 0x20 && c != 0x7f) || c == '\t') {
            if (lv->ncur < sizeof lv->cur - 1)
                lv->cur[lv->ncur++] = c == '\t' ? ' ' : (char)c;
        }
    }
}

static int terminal_columns(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Appends s to line (of cap bytes) up to `cols` display columns (UTF-8 aware); returns the
 * columns used. */
static int append_cols(char *line, size_t cap, const char *s, int cols)
{
    size_t len = strlen(line);
    int used = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool lead = (*p & 0xC0) != 0x80;
        if (lead && used == cols)
            break;
        if (len + 1 >= cap)
            break;
        line[len++] = (char)*p;
        used += lead;
    }
    line[len] = '\0';
    return used;
}

static void draw_live(struct run *r, int i, double elapsed, const struct live *lv)
{
    char line[1024] = "", head[256];
    int cols = terminal_columns() - 1;
    int secs = (int)elapsed;
    snprintf(head, sizeof head, "[%d/%d] %s  %d:%02d  ", i + 1, r->n, r->exps[i].name, secs / 60,
             secs % 60);
    int used = append_cols(line, sizeof line, head, cols);
    append_cols(line, sizeof line, lv->last, cols - used);
    printf("\r%s\033[K", line);
    fflush(stdout);
}

static void write_all(int fd, const char *buf, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return; /* a full disk: the log is cut, the run goes on */
        buf += w;
        n -= (size_t)w;
    }
}

/* The environment of a child: ours, with LOUPE_OUT (and LOUPE_QUICK with --quick) set.
 * Built before fork so the child only calls async-signal-safe functions. */
static char **child_env(const struct run *r, const struct experiment *e, char **out_var)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = malloc((n + 3) * sizeof *env);
    size_t len = strlen(e->dir) + sizeof "LOUPE_OUT=";
    *out_var = malloc(len);
    if (!env || !*out_var) {
        free(env);
        free(*out_var);
        return NULL;
    }
    snprintf(*out_var, len, "LOUPE_OUT=%s", e->dir);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (strncmp(environ[i], "LOUPE_OUT=", 10) == 0)
            continue;
        if (r->quick && strncmp(environ[i], "LOUPE_QUICK=", 12) == 0)
            continue;
        env[k++] = environ[i];
    }
    env[k++] = *out_var;
    if (r->quick)
        env[k++] = "LOUPE_QUICK=1";
    env[k] = NULL;
    return env;
}

/* Runs experiment i; fills its status, detail and seconds. */
static void run_one(struct run *r, int i)
{
    struct experiment *e = &r->exps[i];
    e->status = "failed";
    if (fs_mkdir_p(e->dir, "run") < 0) {
        snprintf(e->detail, sizeof e->detail, "%s", err_msg());
        e->seconds = 0;
        return;
    }
    clear_outputs(e->dir);
    char *log_path = join_path(e->dir, "log.txt");
    int logfd = log_path ? open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666) : -1;
    free(log_path);
    int pfd[2] = {-1, -1};
    char *out_var = NULL;
    char **env = NULL;
    if (logfd < 0 || pipe2(pfd, O_CLOEXEC) != 0 || !(env = child_env(r, e, &out_var))) {
        snprintf(e->detail, sizeof e->detail, "cannot start: %s", strerror(errno));
        e->seconds = 0;
        goto done;
    }
    /* `--` keeps a script whose name starts with '-' from being read as an option */
    char *args[] = {(char *)r->argv0, "--", e->file, NULL};
    double t0 = now();
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(e->detail, sizeof e->detail, "cannot start: %s", strerror(errno));
        e->seconds = 0;
        goto done;
    }
    if (pid == 0) { /* the child: stdin from /dev/null, stdout and stderr into the pipe */
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, STDIN_FILENO);
        dup2(pfd[1], STDOUT_FILENO);
        dup2(pfd[1], STDERR_FILENO);
        execve(r->exe, args, env);
        static const char msg[] = "loupe run: cannot start the experiment\n";
        write_all(STDERR_FILENO, msg, sizeof msg - 1);
        _exit(127);
    }
    close(pfd[1]);
    pfd[1] = -1;

    struct live lv = {0};
    char buf[8192];
    double last_draw = 0;
    int status = 0;
    bool exited = false, killed = false, forwarded = false;
    struct pollfd p = {.fd = pfd[0], .events = POLLIN};
    while (!exited) {
        if (poll(&p, 1, 250) > 0) {
            ssize_t m = read(pfd[0], buf, sizeof buf);
            if (m > 0) {
                write_all(logfd, buf, (size_t)m);
                live_feed(&lv, buf, (size_t)m);
            } else if (m == 0 || errno != EINTR) {
                p.fd = -1; /* end of output: poll now only waits */
            }
        }
        if (stop_signal == SIGTERM && !forwarded) { /* the experiment may not have had it */
            kill(pid, SIGTERM);
            forwarded = true;
        }
        if (interrupts >= 2 && !killed) {
            kill(pid, SIGKILL);
            killed = true;
        }
        /* once the output has ended the child is exiting: wait for it (a signal interrupts) */
        pid_t w = waitpid(pid, &status, p.fd < 0 ? 0 : WNOHANG);
        if (w == pid)
            exited = true;
        double t = now();
        if (r->tty && !exited && t - last_draw >= REDRAW_SECONDS) {
            draw_live(r, i, t - t0, &lv);
            last_draw = t;
        }
    }
    e->seconds = now() - t0;
    /* what is left in the pipe (a process the experiment started may keep it open) */
    fcntl(pfd[0], F_SETFL, O_NONBLOCK);
    for (ssize_t m; (m = read(pfd[0], buf, sizeof buf)) > 0;)
        write_all(logfd, buf, (size_t)m);

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        e->status = "ok";
    } else if (WIFEXITED(status)) {
        snprintf(e->detail, sizeof e->detail, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(e->detail, sizeof e->detail, "killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    }
done:
    if (logfd >= 0)
        close(logfd);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    free(env);
    free(out_var);
}

static void print_result(const struct run *r, int i, int name_width)
{
    const struct experiment *e = &r->exps[i];
    if (r->tty)
        printf("\r\033[K[%d/%d] %-*s ", i + 1, r->n, name_width, e->name);
    bool ok = strcmp(e->status, "ok") == 0;
    printf("%-6s %7.1fs", ok ? "ok" : "FAILED", e->seconds);
    if (!ok)
        printf("  (%s; log: %s/log.txt)", e->detail[0] ? e->detail : "failed", e->dir);
    printf("\n");
    fflush(stdout);
}

static char *command_line(int argc, char **argv)
{
    size_t len = strlen(HOST_NAME) + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len);
    if (!s)
        return NULL;
    strcpy(s, HOST_NAME);
    for (int i = 0; i < argc; i++) {
        strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

int host_run(lua_State *L, int argc, char **argv, const char *argv0)
{
    struct run r = {.argv0 = argv0, .t0 = now(), .tty = isatty(STDOUT_FILENO)};
    bool help = false;
    int rc = parse(&r, argc, argv, &help);
    if (help) {
        run_usage(stdout);
        free_run(&r);
        return EXIT_SUCCESS;
    }
    if (rc != RUN_OK) {
        free_run(&r);
        return rc;
    }
    if (make_run_dir(&r) < 0) {
        free_run(&r);
        return RUN_FAILED;
    }
    ssize_t n = readlink("/proc/self/exe", r.exe, sizeof r.exe - 1);
    if (n > 0)
        r.exe[n] = '\0';
    else
        snprintf(r.exe, sizeof r.exe, "%s", argv0);
    r.command = command_line(argc, argv);

    /* no SA_RESTART: poll and waitpid return on a signal; an ignored signal stays ignored */
    struct sigaction sa = {.sa_handler = on_signal}, old_int, old_term;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, NULL, &old_int);
    sigaction(SIGTERM, NULL, &old_term);
    bool on_int = old_int.sa_handler != SIG_IGN, on_term = old_term.sa_handler != SIG_IGN;
    interrupts = stop_signal = 0;
    if (on_int)
        sigaction(SIGINT, &sa, NULL);
    if (on_term)
        sigaction(SIGTERM, &sa, NULL);

    int name_width = 0;
    for (int i = 0; i < r.n; i++)
        if ((int)strlen(r.exps[i].name) > name_width)
            name_width = (int)strlen(r.exps[i].name);
    printf("%s run: %d experiment%s%s -> %s/\n", HOST_NAME, r.n, r.n == 1 ? "" : "s",
           r.quick ? " (quick)" : "", r.dir);
    fflush(stdout);
    write_report(L, &r);
    int failed = 0, skipped = 0;
    for (int i = 0; i < r.n; i++) {
        if (interrupts) {
            r.exps[i].status = "skipped";
            skipped++;
            continue;
        }
        r.exps[i].status = "running";
        write_report(L, &r);
        printf("[%d/%d] %-*s ", i + 1, r.n, name_width, r.exps[i].name);
        fflush(stdout);
        run_one(&r, i);
        if (interrupts && strcmp(r.exps[i].status, "ok") != 0)
            snprintf(r.exps[i].detail, sizeof r.exps[i].detail, "%s", stop_word());
        failed += strcmp(r.exps[i].status, "ok") != 0;
        print_result(&r, i, name_width);
        write_report(L, &r);
    }
    if (interrupts)
        write_report(L, &r); /* with the skipped ones */
    if (on_int)
        sigaction(SIGINT, &old_int, NULL);
    if (on_term)
        sigaction(SIGTERM, &old_term, NULL);

    printf("%d ok, %d failed", r.n - failed - skipped, failed);
    if (skipped)
        printf(", %d skipped (%s)", skipped, stop_word());
    printf(" in %.1fs; report: %s/index.html\n", now() - r.t0, r.dir);
    fflush(stdout);
    rc = interrupts ? RUN_STOPPED + stop_signal : (failed || r.report_failed) ? RUN_FAILED : RUN_OK;
    free_run(&r);
    return rc;
}
