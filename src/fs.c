/* fs.c — small file-system helpers (see fs.h). */
#include "loupe/fs.h"

#include "loupe/core.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Is there a folder at path (following links)? */
static bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int fs_mkdir_p(const char *path, const char *who)
{
    size_t len = strlen(path);
    if (len == 0)
        return err_set("%s: empty folder name", who);
    char *p = malloc(len + 1);
    if (!p)
        return err_set("%s: out of memory", who);
    memcpy(p, path, len + 1);
    int err = 0;
    /* each prefix that ends before a '/', then the whole path; p + 1 skips a leading '/' */
    for (char *s = p + 1; !err; s++) {
        bool last = *s == '\0';
        if (*s != '/' && !last)
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && !(errno == EEXIST && is_dir(p)))
            err = errno == EEXIST ? ENOTDIR : errno;
        if (last)
            break;
        *s = '/';
    }
    free(p);
    if (err)
        return err_set("%s: cannot create the folder '%s': %s", who, path, strerror(err));
    return 0;
}
