/* fs.h — small file-system helpers shared by the bindings and the host. */
#ifndef LOUPE_FS_H
#define LOUPE_FS_H

/* Creates the folder path and its missing parents, as `mkdir -p` (mode 0777 before umask).
 * An existing folder is fine. Returns 0, or -1 with err_set naming `who` and the path. */
int fs_mkdir_p(const char *path, const char *who);

#endif
