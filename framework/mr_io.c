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
 * The temporary path is kept in static storage so that the signal handler
 * (mr_signal.c) can unlink it with async-signal-safe calls only, and an
 * atexit handler removes it if the process ends without committing.
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

static char out_path[PATH_MAX];
char mr__out_tmp[PATH_MAX]; /* read by the signal handler */
static FILE *out_file;
static int atexit_done;

void mr__out_abandon(void)
{
    if (out_file) {
        fclose(out_file);
        out_file = NULL;
    }
    if (mr__out_tmp[0]) {
        unlink(mr__out_tmp);
        mr__out_tmp[0] = '\0';
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
    if (out_file) {
        mr_error(ctx, MR_EINVAL, "%s: another output (%s) is still open",
                 path, out_path);
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
    if (strlen(tmpl) >= sizeof mr__out_tmp || strlen(path) >= sizeof out_path) {
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
    fchmod(fd, 0666 & ~um);
    strcpy(mr__out_tmp, tmpl);
    strcpy(out_path, path);
    f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        mr__out_abandon();
        mr_error(ctx, MR_EIO, "%s: %s", path, strerror(errno));
        goto out;
    }
    out_file = f;
out:
    g_free(dir);
    g_free(base);
    g_free(tmpl);
    return f;
}

int mr_out_commit(mr_ctx *ctx)
{
    if (!out_file)
        return mr_error(ctx, MR_EINVAL, "mr_out_commit without mr_out_open");
    int rc = MR_OK;
    int bad = ferror(out_file) || fflush(out_file) != 0 ||
              fsync(fileno(out_file)) != 0;
    int err = errno;
    if (fclose(out_file) != 0 && !bad) {
        bad = 1;
        err = errno;
    }
    out_file = NULL;
    const char *stop = mr__stop_reason();
    if (stop && !bad) { /* killed meanwhile: the result must not appear */
        bad = 1;
        err = EINTR;
    }
    if (bad && stop)
        rc = mr_error(ctx, MR_ESTOP, "%s: not written: %s", out_path, stop);
    else if (bad)
        rc = mr_error(ctx, MR_EIO, "%s: writing failed: %s", out_path,
                      strerror(err));
    else if (rename(mr__out_tmp, out_path) != 0)
        rc = mr_error(ctx, MR_EIO, "%s: cannot rename the finished file "
                      "into place: %s", out_path, strerror(errno));
    if (rc != MR_OK)
        unlink(mr__out_tmp);
    mr__out_tmp[0] = '\0';
    return rc;
}
