/* atomic_file.c — temporary file + fsync + rename (see atomic_file.h). */
#include "loupe/atomic_file.h"

#include "loupe/core.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TMP_SUFFIX ".tmp.XXXXXX"

/* The mode a file created by fopen would get (mkstemp creates 0600). umask can only be read
 * by setting it; the window is a few instructions. */
static mode_t default_file_mode(void)
{
    mode_t m = umask(022);
    umask(m);
    return 0666 & ~m;
}

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

int af_open(struct atomic_file *af, const char *path, const char *who)
{
    af->fp = NULL;
    size_t pl = strlen(path);
    af->tmp = malloc(pl + sizeof TMP_SUFFIX);
    if (!af->tmp)
        return err_set("%s: out of memory writing '%s'", who, path);
    memcpy(af->tmp, path, pl);
    memcpy(af->tmp + pl, TMP_SUFFIX, sizeof TMP_SUFFIX);
    int fd = mkstemp(af->tmp);
    if (fd < 0) {
        err_set("%s: cannot create a temporary file next to '%s': %s", who, path,
                strerror(errno));
        free(af->tmp);
        af->tmp = NULL;
        return -1;
    }
    fchmod(fd, default_file_mode());
    af->fp = fdopen(fd, "wb");
    if (!af->fp) {
        err_set("%s: cannot open '%s': %s", who, af->tmp, strerror(errno));
        close(fd);
        af_abort(af);
        return -1;
    }
    return 0;
}

int af_commit(struct atomic_file *af, const char *path, const char *who)
{
    int rc = 0;
    if (fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0)
        rc = err_set("%s: writing '%s' failed: %s", who, path, strerror(errno));
    if (fclose(af->fp) != 0 && rc == 0)
        rc = err_set("%s: writing '%s' failed: %s", who, path, strerror(errno));
    af->fp = NULL;
    if (rc == 0 && rename(af->tmp, path) != 0)
        rc = err_set("%s: cannot rename '%s' to '%s': %s", who, af->tmp, path, strerror(errno));
    if (rc < 0) {
        af_abort(af);
        return -1;
    }
    free(af->tmp);
    af->tmp = NULL;
    sync_dir(path);
    return 0;
}

void af_abort(struct atomic_file *af)
{
    if (af->fp)
        fclose(af->fp);
    af->fp = NULL;
    if (af->tmp) {
        unlink(af->tmp);
        free(af->tmp);
        af->tmp = NULL;
    }
}
