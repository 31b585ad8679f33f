/* atomic_file.h — write a file so that it appears either complete or not at all.
 *
 * af_open creates a temporary `path.tmp.XXXXXX` in the same folder (so the final rename stays
 * on one file system); the caller writes through af->fp; af_commit flushes, fsyncs, closes
 * and renames it over `path`, then fsyncs the folder; af_abort (after any failure) closes and
 * removes the temporary. A crash or a full disk never leaves a half-written `path`.
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
