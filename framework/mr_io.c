/* mr_io.c -- atomic output files.
 *
 * A job writes its result through mr_out_open(): a temporary file in the
 * same folder as the target (".NAME.tmp.PID.XXXXXX", so rename() is atomic
 * within one file system), then mr_out_commit() flushes, fsyncs and
 * renames it over the target. Until the rename the target is either absent
 * or the previous complete file: a run that fails, is killed by the
 * scheduler's walltime, or is stopped by a signal never leaves a truncated
 * file that looks complete.
 *
 * Up to MR_OUT_MAX outputs may be open at once per rank (a PNG and a
 * counts file, say). Their temporary paths are kept in static storage so
 * that the signal handler (mr_signal.c) can unlink them with
 * async-signal-safe calls only, and an atexit handler removes them if the
 * process ends without committing.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open outputs. The temporary paths are read by the signal handler. */
typedef struct out_slot {
    FILE *file; /* NULL: slot free */
    unsigned long seq; /* order of opening */
    char path[PATH_MAX];
} out_slot;

char mr__out_tmp[MR_OUT_MAX][PATH_MAX];
static out_slot slots[MR_OUT_MAX];
static int atexit_done;
static unsigned long opened;

void mr__out_abandon(void)
{
    for (int i = 0; i < MR_OUT_MAX; i++) {
        if (slots[i].file) {
            fclose(slots[i].file);
            slots[i].file = NULL;
        }
        if (mr__out_tmp[i][0]) {
            unlink(mr__out_tmp[i]);
            mr__out_tmp[i][0] = '\0';
        }
    }
}

int mr_out_check(mr_ctx *ctx, const char *path)
{
    struct stat st;
    if (!path || !*path)
        return mr_error(ctx, MR_EUSAGE, "empty output path");
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return mr_error(ctx, MR_EUSAGE, "%s: is a folder, not a file path",
                        path);
    /* The result is renamed over the target: that must not replace a
     * device or a FIFO (as root, /dev/null would be gone). */
    if (lstat(path, &st) == 0 && !S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode))
        return mr_error(ctx, MR_EUSAGE, "%s: exists and is not a regular "
                        "file; refusing to replace it", path);
    char *dir = g_path_get_dirname(path);
    int rc = MR_OK;
    if (stat(dir, &st) != 0)
        rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s: %s", path,
                      dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s is not a "
                      "folder", path, dir);
    else if (access(dir, W_OK | X_OK) != 0)
        rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s: %s", path,
                      dir, strerror(errno));
    g_free(dir);
    return rc;
}

FILE *mr_out_open(mr_ctx *ctx, const char *path)
{
    int k = -1;
    for (int i = 0; i < MR_OUT_MAX && k < 0; i++)
        if (!slots[i].file && !mr__out_tmp[i][0])
            k = i;
    if (k < 0) {
        mr_error(ctx, MR_EINVAL, "%s: more than %d outputs open at once",
                 path, MR_OUT_MAX);
        return NULL;
    }
    if (!atexit_done) {
        atexit(mr__out_abandon);
        atexit_done = 1;
    }
    char *dir = g_path_get_dirname(path);
    char *base = g_path_get_basename(path);
    char *tmpl = g_strdup_printf("%s/.%s.tmp.%ld.XXXXXX", dir, base,
                                 (long)getpid());
    FILE *f = NULL;
    if (strlen(tmpl) >= PATH_MAX || strlen(path) >= PATH_MAX) {
        mr_error(ctx, MR_EIO, "%s: path too long", path);
        goto out;
    }
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        mr_error(ctx, MR_EIO, "%s: cannot create a temporary file in %s: %s",
                 path, dir, strerror(errno));
        goto out;
    }
    /* mkstemp makes 0600; an output file gets the usual umask-based mode. */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um); /* on failure 0600 stays: stricter */
    strcpy(mr__out_tmp[k], tmpl);
    strcpy(slots[k].path, path);
    f = fdopen(fd, "wb");
    if (!f) {
        mr_error(ctx, MR_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(mr__out_tmp[k]);
        mr__out_tmp[k][0] = '\0';
        goto out;
    }
    slots[k].file = f;
    slots[k].seq = ++opened;
out:
    g_free(dir);
    g_free(base);
    g_free(tmpl);
    return f;
}

static int commit_slot(mr_ctx *ctx, int k)
{
    out_slot *o = &slots[k];
    int rc = MR_OK;
    int bad = ferror(o->file) || fflush(o->file) != 0 ||
              fsync(fileno(o->file)) != 0;
    int err = errno;
    if (fclose(o->file) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    o->file = NULL;
    const char *stop = mr__stop_reason();
    if (stop) /* killed meanwhile: the result must not appear */
        rc = mr_error(ctx, MR_ESTOP, "%s: not written: %s", o->path, stop);
    else if (bad)
        rc = mr_error(ctx, MR_EIO, "%s: writing failed: %s", o->path,
                      strerror(err));
    else if (rename(mr__out_tmp[k], o->path) != 0)
        rc = mr_error(ctx, MR_EIO, "%s: cannot rename the finished file "
                      "into place: %s", o->path, strerror(errno));
    if (rc != MR_OK)
        unlink(mr__out_tmp[k]);
    mr__out_tmp[k][0] = '\0';
    return rc;
}

int mr_out_commit_file(mr_ctx *ctx, FILE *f)
{
    for (int i = 0; i < MR_OUT_MAX; i++)
        if (f && slots[i].file == f)
            return commit_slot(ctx, i);
    return mr_error(ctx, MR_EINVAL, "mr_out_commit_file: not an open output");
}

int mr_out_commit(mr_ctx *ctx)
{
    int last = -1; /* the most recently opened output still open */
    for (int i = 0; i < MR_OUT_MAX; i++)
        if (slots[i].file && (last < 0 || slots[i].seq > slots[last].seq))
            last = i;
    if (last < 0)
        return mr_error(ctx, MR_EINVAL, "mr_out_commit without mr_out_open");
    return commit_slot(ctx, last);
}
