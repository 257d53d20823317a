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
 * process ends without committing. A SIGKILL leaves the temporary behind:
 * its name carries the host and pid (".NAME.tmp.HOST.PID.XXXXXX"), so the
 * next run that writes NAME removes those of this host whose process is
 * gone, and nothing of a run still going or of another host.
 *
 * mr_out_check() also remembers each output (links resolved: the file a
 * link points to is replaced, not the link), so that two outputs that are
 * one file, or an output that is also an input (mr__out_same_file(), by
 * device and inode), are refused before any work.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_outfile.h"
#include "mr_signal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Open outputs. The temporary paths are read by the signal handler. */
typedef struct out_slot {
    FILE *file; /* NULL: slot free */
    unsigned long seq; /* order of opening */
    char path[PATH_MAX]; /* as given, for messages */
    char real[PATH_MAX]; /* what the rename replaces (links resolved) */
} out_slot;

static char out_tmp[MR_OUT_MAX][PATH_MAX];
/* Outputs committed in this run: a stop signal before the process ends
 * removes these too (mr_signal.c), as the run then exits non-zero. */
static char out_done[MR_OUT_DONE_MAX][PATH_MAX];
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
        if (out_tmp[i][0]) {
            unlink(out_tmp[i]);
            out_tmp[i][0] = '\0';
        }
    }
}

/* Outputs named in this run (mr_out_check), for the same-file checks. */
typedef struct out_name {
    char *path; /* as given */
    char *real; /* links resolved */
    int exists;
    dev_t dev;
    ino_t ino;
} out_name;
static GArray *named;

void mr__out_reset(void)
{
    mr__signal_set_outputs(mr__out_unlink_open, mr__out_unlink_committed);
    for (int i = 0; i < MR_OUT_DONE_MAX; i++)
        out_done[i][0] = '\0';
    if (!named)
        return;
    for (guint i = 0; i < named->len; i++) {
        g_free(g_array_index(named, out_name, i).path);
        g_free(g_array_index(named, out_name, i).real);
    }
    g_array_set_size(named, 0);
}

/* The file that writing `path` must replace: a link is followed to its
 * target (which need not exist yet), a missing file is its folder's real
 * path plus its name. Caller frees. */
static char *resolve_out(const char *path)
{
    char *cur = g_strdup(path);
    for (int hops = 0; hops < 40; hops++) {
        char *real = realpath(cur, NULL);
        if (real) {
            char *r = g_strdup(real);
            free(real);
            g_free(cur);
            return r;
        }
        char *target = g_file_read_link(cur, NULL);
        if (!target) /* missing: resolve the folder, keep the name */
            break;
        char *up = g_path_get_dirname(cur);
        char *next = g_path_is_absolute(target)
                         ? g_strdup(target)
                         : g_build_filename(up, target, NULL);
        g_free(up);
        g_free(target);
        g_free(cur);
        cur = next;
    }
    char *dir = g_path_get_dirname(cur), *base = g_path_get_basename(cur);
    char *rdir = realpath(dir, NULL);
    char *r = rdir ? g_build_filename(rdir, base, NULL) : g_strdup(cur);
    free(rdir);
    g_free(dir);
    g_free(base);
    g_free(cur);
    return r;
}

static const out_name *find_named(const char *real, const struct stat *st)
{
    for (guint i = 0; named && i < named->len; i++) {
        const out_name *o = &g_array_index(named, out_name, i);
        if (strcmp(o->real, real) == 0 ||
            (st && o->exists && o->dev == st->st_dev && o->ino == st->st_ino))
            return o;
    }
    return NULL;
}

const char *mr__out_same_file(const struct stat *st)
{
    for (guint i = 0; named && i < named->len; i++) {
        const out_name *o = &g_array_index(named, out_name, i);
        if (o->exists && o->dev == st->st_dev && o->ino == st->st_ino)
            return o->path;
    }
    return NULL;
}

void mr__sweep_dead(const char *dir, const char *prefix)
{
    size_t plen = strlen(prefix);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        char *end = NULL;
        long pid = strtol(e->d_name + plen, &end, 10);
        struct stat st;
        if (pid <= 0 || !end || *end != '.' || strlen(end) != 7 ||
            (kill((pid_t)pid, 0) != 0 ? errno != ESRCH : 1) ||
            fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        (void)unlinkat(dirfd(d), e->d_name, 0);
    }
    if (d)
        closedir(d);
}

/* What killed runs left of `real`'s temporaries. */
static void sweep(const char *real)
{
    char *dir = g_path_get_dirname(real), *base = g_path_get_basename(real);
    char *prefix = g_strdup_printf(".%s.tmp.%s.", base, g_get_host_name());
    mr__sweep_dead(dir, prefix);
    g_free(prefix);
    g_free(dir);
    g_free(base);
}

void mr__out_unlink_open(void)
{
    for (int i = 0; i < MR_OUT_MAX; i++)
        if (out_tmp[i][0])
            unlink(out_tmp[i]);
}

void mr__out_unlink_committed(mr_removed_fn *removed, void *arg)
{
    for (int i = 0; i < MR_OUT_DONE_MAX; i++)
        if (out_done[i][0] && unlink(out_done[i]) == 0 && removed)
            removed(out_done[i], arg);
}

void mr__out_fail(void)
{
    mr__out_abandon();
    for (int i = 0; i < MR_OUT_DONE_MAX; i++)
        if (out_done[i][0]) {
            unlink(out_done[i]);
            out_done[i][0] = '\0';
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
    char *real = resolve_out(path);
    int rc = MR_OK;
    /* The result is renamed over the target: that must not replace a
     * device or a FIFO (as root, /dev/null would be gone). */
    int exists = lstat(real, &st) == 0;
    if (exists && !S_ISREG(st.st_mode)) {
        rc = mr_error(ctx, MR_EUSAGE, "%s: exists and is not a regular "
                      "file; refusing to replace it", path);
        goto out;
    }
    /* Checked before: another output of this run (or the same one named
     * twice, as with --out X --trace X) would be written over this one. */
    const out_name *o = find_named(real, exists ? &st : NULL);
    if (o) {
        rc = mr_error(ctx, MR_EUSAGE, "%s and %s are the same file: one "
                      "output would overwrite the other", o->path, path);
        goto out;
    }
    char *dir = g_path_get_dirname(real);
    struct stat dst;
    if (stat(dir, &dst) != 0)
        rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s: %s", path,
                      dir, strerror(errno));
    else if (!S_ISDIR(dst.st_mode))
        rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s is not a "
                      "folder", path, dir);
    else { /* access() says yes to root on /proc; only a file proves it */
        char *probe = g_strdup_printf("%s/.mr-check.%ld.XXXXXX", dir,
                                      (long)getpid());
        int fd = mkstemp(probe);
        if (fd < 0)
            rc = mr_error(ctx, MR_EUSAGE, "%s: cannot write there: %s: %s",
                          path, dir, strerror(errno));
        else {
            close(fd);
            unlink(probe);
        }
        g_free(probe);
    }
    g_free(dir);
    if (rc == MR_OK) {
        if (!named)
            named = g_array_new(FALSE, TRUE, sizeof(out_name));
        out_name n = {g_strdup(path), g_strdup(real), exists,
                      exists ? st.st_dev : 0, exists ? st.st_ino : 0};
        g_array_append_val(named, n);
        sweep(real);
    }
out:
    g_free(real);
    return rc;
}

int mr__out_check_inputs(mr_ctx *ctx)
{
    int argc = mr_ctx_argc(ctx);
    const char *const *argv = mr_ctx_argv(ctx);
    for (int i = 0; i < argc; i++) {
        struct stat st;
        const char *out;
        if (stat(argv[i], &st) == 0 && S_ISREG(st.st_mode) &&
            (out = mr__out_same_file(&st)))
            return mr_error(ctx, MR_EUSAGE, "%s: is an input and also the "
                            "output %s; refusing to overwrite an input",
                            argv[i], out);
    }
    return MR_OK;
}

FILE *mr_out_open(mr_ctx *ctx, const char *path)
{
    int k = -1;
    for (int i = 0; i < MR_OUT_MAX && k < 0; i++)
        if (!slots[i].file && !out_tmp[i][0])
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
    char *real = resolve_out(path);
    char *dir = g_path_get_dirname(real);
    char *base = g_path_get_basename(real);
    char *tmpl = g_strdup_printf("%s/.%s.tmp.%s.%ld.XXXXXX", dir, base,
                                 g_get_host_name(), (long)getpid());
    FILE *f = NULL;
    if (strlen(tmpl) >= PATH_MAX || strlen(real) >= PATH_MAX ||
        strlen(path) >= PATH_MAX) {
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
    strcpy(out_tmp[k], tmpl);
    strcpy(slots[k].path, path);
    strcpy(slots[k].real, real);
    f = fdopen(fd, "wb");
    if (!f) {
        mr_error(ctx, MR_EIO, "%s: %s", path, strerror(errno));
        close(fd);
        unlink(out_tmp[k]);
        out_tmp[k][0] = '\0';
        goto out;
    }
    slots[k].file = f;
    slots[k].seq = ++opened;
out:
    g_free(real);
    g_free(dir);
    g_free(base);
    g_free(tmpl);
    return f;
}

static int commit_slot(mr_ctx *ctx, int k)
{
    out_slot *o = &slots[k];
    int rc = MR_OK;
    int err = 0, bad = 0;
    if (ferror(o->file)) {
        /* A write failed earlier and stdio kept no errno: one more byte
         * (into a file that is removed anyway) says why, e.g. ENOSPC. */
        struct stat st;
        if (fstat(fileno(o->file), &st) == 0 &&
            pwrite(fileno(o->file), "", 1, st.st_size) < 0)
            err = errno;
        else
            err = EIO;
        bad = 1;
    } else if (fflush(o->file) != 0 || fsync(fileno(o->file)) != 0) {
        err = errno;
        bad = 1;
    }
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
    else {
        /* Listed before the rename: a signal in between must not miss it. */
        int d = 0;
        while (d < MR_OUT_DONE_MAX && out_done[d][0])
            d++;
        if (d < MR_OUT_DONE_MAX)
            strcpy(out_done[d], o->real);
        if (rename(out_tmp[k], o->real) != 0) {
            rc = mr_error(ctx, MR_EIO, "%s: cannot rename the finished file "
                          "into place: %s", o->path, strerror(errno));
            if (d < MR_OUT_DONE_MAX)
                out_done[d][0] = '\0';
        }
    }
    if (rc != MR_OK)
        unlink(out_tmp[k]);
    out_tmp[k][0] = '\0';
    return rc;
}

const char *mr__out_tmp_of(FILE *f)
{
    for (int i = 0; i < MR_OUT_MAX; i++)
        if (f && slots[i].file == f)
            return out_tmp[i];
    return NULL;
}

void mr__out_discard(FILE *f)
{
    for (int i = 0; i < MR_OUT_MAX; i++)
        if (f && slots[i].file == f) {
            fclose(f);
            slots[i].file = NULL;
            unlink(out_tmp[i]);
            out_tmp[i][0] = '\0';
        }
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
