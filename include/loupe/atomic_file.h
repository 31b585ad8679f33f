/* atomic_file.h — write a file so that it appears either complete or not at all.
 *
 * af_open creates (or takes over, after a crash) the temporary `path.loupe-tmp` in the same
 * folder (so the final rename stays on one file system) and locks it; the caller writes
 * through af->fp; af_commit flushes, fsyncs and renames it over `path`, then closes it and
 * fsyncs the folder; af_abort (after any failure) removes and closes the temporary. A crash
 * or a full disk never leaves a half-written `path`; a kill -9 between af_open and the rename
 * leaves `path.loupe-tmp`, which the next write of `path` reuses. Writers of the same path
 * take turns.
 *
 * Errors go through err_set with `who` (the operation, e.g. "image.save") and the path. */
#ifndef LOUPE_ATOMIC_FILE_H
#define LOUPE_ATOMIC_FILE_H

#include <stdio.h>

struct atomic_file {
    FILE *fp;  /* open for writing ("wb") between af_open and af_commit/af_abort */
    char *tmp; /* the temporary's path, owned */
};

/* Returns 0, or -1 with err_set (and *af left empty). */
int af_open(struct atomic_file *af, const char *path, const char *who);
/* Returns 0, or -1 with err_set; either way the temporary is gone and *af is empty. */
int af_commit(struct atomic_file *af, const char *path, const char *who);
/* Safe on an empty or already finished *af. */
void af_abort(struct atomic_file *af);

#endif
