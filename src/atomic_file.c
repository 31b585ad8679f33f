/* atomic_file.c — temporary file + fsync + rename (see atomic_file.h).
 *
 * The temporary has a fixed name, `path.loupe-tmp`, so a writer killed before its rename
 * (kill -9, power loss) leaves at most one stale temporary per file, and the next write of
 * the same file takes it over; random names would pile up, one per crash. Two writers of the
 * same path (threads or processes) take turns through an flock on the temporary, held from
 * open to rename: a writer that waited for the lock checks that the name still leads to the
 * file it locked (the other writer may have renamed it into place meanwhile) and opens again
 * if not. */
#include "loupe/atomic_file.h"

#include "loupe/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_SUFFIX ".loupe-tmp"
#define MAX_TRIES 100 /* opens that lost a race before giving up */

/* Flushes the folder holding path, so the rename itself survives a crash. Best effort: some
 * file systems refuse fsync on folders. */
static void sync_dir(const char *path)
{
    char *copy = strdup(path);
    if (!copy)
        return;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(copy);
}

/* Waits for the exclusive lock on fd. File systems without locks (ENOLCK, EOPNOTSUPP) go
 * unlocked: one writer per file is still safe. */
static int lock_fd(int fd)
{
    while (flock(fd, LOCK_EX) != 0) {
        if (errno == ENOLCK || errno == EOPNOTSUPP)
            return 0;
        if (errno != EINTR)
            return -1;
    }
    return 0;
}

/* Opens and locks the temporary `tmp`; 1 when fd is it (a regular file with no other link,
 * still under that name), 0 to try again, -1 on error (errno set). */
static int open_tmp(const char *tmp, int *fd)
{
    /* 0666 & ~umask, as fopen would create the file */
    *fd = open(tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (*fd < 0) {
        if (errno == ELOOP && unlink(tmp) == 0) /* a symbolic link put in its place */
            return 0;
        return -1;
    }
    struct stat mine, named;
    if (lock_fd(*fd) < 0 || fstat(*fd, &mine) != 0) {
        int e = errno;
        close(*fd);
        errno = e;
        return -1;
    }
    bool same = lstat(tmp, &named) == 0 && named.st_dev == mine.st_dev &&
                named.st_ino == mine.st_ino;
    if (same && S_ISREG(mine.st_mode) && mine.st_nlink == 1)
        return 1;
    if (same) /* a hard link to some other file: never truncate that */
        unlink(tmp);
    close(*fd);
    return 0;
}

int af_open(struct atomic_file *af, const char *path, const char *who)
{
    af->fp = NULL;
    size_t pl = strlen(path);
    af->tmp = malloc(pl + sizeof TMP_SUFFIX);
    if (!af->tmp)
        return err_set("%s: out of memory writing '%s'", who, path);
    memcpy(af->tmp, path, pl);
    memcpy(af->tmp + pl, TMP_SUFFIX, sizeof TMP_SUFFIX);
    int fd = -1, got = 0;
    for (int i = 0; i < MAX_TRIES && got == 0; i++)
        got = open_tmp(af->tmp, &fd);
    if (got <= 0) {
        err_set("%s: cannot create a temporary file next to '%s': %s", who, path,
                got < 0 ? strerror(errno) : "other writers keep replacing it");
        free(af->tmp);
        af->tmp = NULL;
        return -1;
    }
    /* a stale temporary of a killed writer is taken over: start from empty */
    if (ftruncate(fd, 0) != 0 || !(af->fp = fdopen(fd, "wb"))) {
        err_set("%s: cannot open '%s': %s", who, af->tmp, strerror(errno));
        unlink(af->tmp);
        close(fd);
        free(af->tmp);
        af->tmp = NULL;
        return -1;
    }
    return 0;
}

int af_commit(struct atomic_file *af, const char *path, const char *who)
{
    int rc = 0;
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
        rc = err_set("%s: writing '%s' failed: %s", who, path, strerror(errno));
    /* renamed while the lock is held; closing releases it */
    if (rc == 0 && rename(af->tmp, path) != 0)
        rc = err_set("%s: cannot rename '%s' to '%s': %s", who, af->tmp, path, strerror(errno));
    if (rc < 0) {
        af_abort(af);
        return -1;
    }
    fclose(af->fp); /* flushed and synced above: nothing left to fail */
    af->fp = NULL;
    free(af->tmp);
    af->tmp = NULL;
    sync_dir(path);
    return 0;
}

void af_abort(struct atomic_file *af)
{
    if (af->tmp)
        unlink(af->tmp); /* before the lock goes with the close */
    if (af->fp)
        fclose(af->fp);
    af->fp = NULL;
    free(af->tmp);
    af->tmp = NULL;
}
