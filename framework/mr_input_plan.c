/* mr_input_plan.c -- plan file input into map tasks (rank 0, in split).
 *
 * The contract is in mr/mr_input.h; this file explains the how. The plan
 * walks the INPUT arguments into a list of files (folders in sorted path
 * order, stdin and size-0-but-not-empty files copied to a spool file) and
 * cuts that list into task descriptors (mr_input_desc.c encodes them).
 *
 * Task size. A range is max(min_task, total / (nranks * 32)) bytes. A
 * dynamic schedule ends when the last task does, so the map's tail (one
 * rank busy, the others idle) is about one task long: at 8 tasks per rank
 * that was up to 1.2 s of a 5 s map (imbalance 1.19 at -np 2); at 32 it is
 * a quarter of that. Tasks stay equal so that `block` (which splits by
 * count) stays balanced too. The 1 MiB floor keeps the per-task cost
 * (open, the search for the first separator, a scheduler claim, a task
 * record) well under one percent of the reading.
 */
/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "mr/mr_input.h"
#include "mr_input_desc.h"
#include "mr_outfile.h"

#define DEFAULT_MIN_TASK ((uint64_t)1 << 20)
#define TASKS_PER_RANK 32
#define GZIP_RATIO 4.0       /* expected uncompressed / compressed size */
#define GROUP_MAX_FILES 4096 /* bounds a descriptor's size */
#define SPOOL_BUFFER ((size_t)1 << 20)

/* ---------------- planning ---------------- */

typedef struct in_file {
    char *path;
    uint64_t size;
    unsigned flags;
} in_file;

typedef struct in_task {
    GByteArray *desc;
    double weight;
} in_task;

struct mr_input_plan {
    GArray *files;    /* in_file */
    GArray *tasks;    /* in_task */
    GPtrArray *spool; /* paths of stdin copies, removed by _free */
    char *error;
};

/* An ancestor folder on the walk's current path (symlink loops). */
typedef struct in_dir {
    dev_t dev;
    ino_t ino;
    const struct in_dir *up;
} in_dir;

static void tasks_clear(GArray *tasks)
{
    for (guint i = 0; i < tasks->len; i++)
        g_byte_array_unref(g_array_index(tasks, in_task, i).desc);
    g_array_set_size(tasks, 0);
}

mr_input_plan *mr_input_plan_new(void)
{
    mr_input_plan *plan = g_new0(mr_input_plan, 1);
    plan->files = g_array_new(FALSE, FALSE, sizeof(in_file));
    plan->tasks = g_array_new(FALSE, FALSE, sizeof(in_task));
    plan->spool = g_ptr_array_new_with_free_func(g_free);
    return plan;
}

void mr_input_plan_free(mr_input_plan *plan)
{
    if (!plan)
        return;
    for (guint i = 0; i < plan->spool->len; i++)
        unlink(g_ptr_array_index(plan->spool, i));
    g_ptr_array_unref(plan->spool);
    for (guint i = 0; i < plan->files->len; i++)
        g_free(g_array_index(plan->files, in_file, i).path);
    g_array_unref(plan->files);
    tasks_clear(plan->tasks);
    g_array_unref(plan->tasks);
    g_free(plan->error);
    g_free(plan);
}

const char *mr_input_plan_error(const mr_input_plan *plan)
{
    return plan->error ? plan->error : "";
}

static int has_gz_suffix(const char *path)
{
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

static int add_spool(mr_input_plan *plan, int src, const char *what);

/* A regular file (`name` in folder `dfd`, or AT_FDCWD and its path):
 * checks that it can be read, then records it. The check is faccessat
 * relative to the open folder, not an open and a close by full path,
 * which was half of planning a big tree (docs/performance.md, "The split
 * phase on the kernel tree"). A file that still fails to open (a security
 * module's veto) fails its map task, by name. */
static int add_file(mr_input_plan *plan, const char *path,
                    const struct stat *st, int dfd, const char *name)
{
    const char *out = mr__out_same_file(st);
    if (out)
        return mr__input_fail(&plan->error, MR_EUSAGE,
                              "%s: is an input and also the "
                              "output %s; refusing to overwrite an input",
                              path, out);
    if (st->st_size > 0 || has_gz_suffix(path)) {
        if (faccessat(dfd, name, R_OK, AT_EACCESS) != 0)
            return mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", path,
                                  g_strerror(errno));
    } else {
        /* Size 0 but maybe content (/proc, /sys): read it to its end, once,
         * here, so that every rank reads the same bytes. */
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            return mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", path,
                                  g_strerror(errno));
        unsigned char c;
        ssize_t n;
        while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
            ;
        close(fd);
        if (n > 0) { /* from the start again, blocking */
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", path,
                                      g_strerror(errno));
            int rc = add_spool(plan, fd, path);
            close(fd);
            return rc;
        }
    }
    in_file f = {g_strdup(path), (uint64_t)st->st_size,
                 has_gz_suffix(path) ? MR_INPUT_FILE_GZIP : 0};
    g_array_append_val(plan->files, f);
    return MR_OK;
}

typedef struct in_entry {
    char *name;
    struct stat st;
    int stat_errno; /* 0, or why stat() failed */
} in_entry;

static int entry_is_dir(const in_entry *e)
{
    return e->stat_errno == 0 && S_ISDIR(e->st.st_mode);
}

/* Orders entries as their full paths sort bytewise: a folder compares as
 * its name followed by '/', so "a.txt" < "a/x" just as in `sort`. */
static int entry_cmp(const void *pa, const void *pb)
{
    const in_entry *a = pa, *b = pb;
    size_t la = strlen(a->name), lb = strlen(b->name);
    size_t n = la < lb ? la : lb;
    int c = memcmp(a->name, b->name, n);
    if (c)
        return c;
    /* One name is a prefix of the other: the next byte of the shorter
     * path is '/' if it is a folder, or nothing (lowest) if not. Names in
     * one folder differ, and hold no '/', so this decides. */
    int ca = la > n ? (unsigned char)a->name[n] : entry_is_dir(a) ? '/' : -1;
    int cb = lb > n ? (unsigned char)b->name[n] : entry_is_dir(b) ? '/' : -1;
    return ca < cb ? -1 : ca > cb;
}

static int walk(mr_input_plan *plan, const char *path, const struct stat *st,
                const in_dir *up, int top, int dfd, const char *name);

static int walk_dir(mr_input_plan *plan, const char *path,
                    const struct stat *st, const in_dir *up)
{
    for (const in_dir *d = up; d; d = d->up)
        if (d->dev == st->st_dev && d->ino == st->st_ino)
            return MR_OK; /* a symlink loop: this folder is being walked */
    in_dir self = {st->st_dev, st->st_ino, up};

    int rc = MR_OK;
    GArray *entries = g_array_new(FALSE, TRUE, sizeof(in_entry));
    DIR *dir = opendir(path);
    if (!dir) {
        rc = mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", path,
                            g_strerror(errno));
        goto out;
    }
    int dfd = dirfd(dir);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (!de) {
            if (errno) {
                rc = mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", path,
                                    g_strerror(errno));
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        in_entry e = {.name = g_strdup(de->d_name)};
        if (fstatat(dfd, e.name, &e.st, 0) != 0)
            e.stat_errno = errno;
        g_array_append_val(entries, e);
    }
    g_array_sort(entries, entry_cmp);

    size_t plen = strlen(path);
    int slash = plen > 0 && path[plen - 1] == '/';
    for (guint i = 0; i < entries->len && rc == MR_OK; i++) {
        in_entry *e = &g_array_index(entries, in_entry, i);
        char *child = g_strconcat(path, slash ? "" : "/", e->name, NULL);
        if (e->stat_errno)
            rc = mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", child,
                                g_strerror(e->stat_errno));
        else
            rc = walk(plan, child, &e->st, &self, 0, dfd, e->name);
        g_free(child);
    }
out:
    if (dir)
        closedir(dir);
    for (guint i = 0; i < entries->len; i++)
        g_free(g_array_index(entries, in_entry, i).name);
    g_array_unref(entries);
    return rc;
}

/* path is `name` in the open folder dfd (AT_FDCWD for an argument). */
static int walk(mr_input_plan *plan, const char *path, const struct stat *st,
                const in_dir *up, int top, int dfd, const char *name)
{
    if (S_ISDIR(st->st_mode))
        return walk_dir(plan, path, st, up);
    if (S_ISREG(st->st_mode))
        return add_file(plan, path, st, dfd, name);
    if (top)
        return mr__input_fail(&plan->error, MR_EINVAL,
                              "%s: not a regular file or folder", path);
    return MR_OK; /* FIFOs, sockets, devices found in folders */
}

/* Copies what `src` reads (standard input, or a file whose size stat()
 * does not know, like those of /proc) to a temporary file that every rank
 * can open, and plans that. `what` names the source in messages. */
static int add_spool(mr_input_plan *plan, int src, const char *what)
{
    const char *tmp = g_getenv("TMPDIR");
    if (!tmp || !*tmp)
        tmp = "/tmp";
    /* Named for this host and process: a killed run's copy is removed by
     * the next one (mr__sweep_dead), never a live run's. */
    char *prefix = g_strdup_printf("mr-stdin.%s.", g_get_host_name());
    mr__sweep_dead(tmp, prefix);
    char *path =
        g_strdup_printf("%s/%s%ld.XXXXXX", tmp, prefix, (long)getpid());
    g_free(prefix);
    int rc = MR_OK;
    unsigned char *buf = NULL;
    int fd = g_mkstemp(path);
    if (fd < 0) {
        rc = mr__input_fail(&plan->error, MR_EIO, "%s: cannot copy it: %s: %s",
                            what, path, g_strerror(errno));
        g_free(path);
        return rc;
    }
    g_ptr_array_add(plan->spool, path); /* removed with the plan */
    buf = g_malloc(SPOOL_BUFFER);
    for (;;) {
        ssize_t n = read(src, buf, SPOOL_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = mr__input_fail(&plan->error, MR_EIO, "%s: read error: %s",
                                what, g_strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = mr__input_fail(&plan->error, MR_EIO,
                                    "%s: copying to %s: %s", what, path,
                                    g_strerror(errno));
                goto out;
            }
            done += w;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = mr__input_fail(&plan->error, MR_EIO, "%s: %s", path,
                            g_strerror(errno));
        goto out;
    }
    in_file f = {g_strdup(path), (uint64_t)st.st_size, 0};
    g_array_append_val(plan->files, f);
out:
    g_free(buf);
    close(fd);
    return rc;
}

static int add_stdin(mr_input_plan *plan)
{
    return add_spool(plan, STDIN_FILENO, "-");
}

int mr_input_plan_add(mr_input_plan *plan, const char *arg)
{
    if (strcmp(arg, "-") == 0)
        return add_stdin(plan);
    struct stat st;
    if (stat(arg, &st) != 0)
        return mr__input_fail(&plan->error, MR_EINVAL, "%s: %s", arg,
                              g_strerror(errno));
    return walk(plan, arg, &st, NULL, 1, AT_FDCWD, arg);
}

/* A task under construction: its descriptor and weight. */
typedef struct task_builder {
    mr__desc_writer w;
    double weight;
} task_builder;

static void builder_add(task_builder *b, const in_file *f, uint64_t off,
                        uint64_t len, double weight)
{
    mr__desc_entry e = {
        .path = f->path,
        .flags = (f->flags & MR_INPUT_FILE_GZIP ? MR__DESC_GZIP : 0) |
                 (off + len == f->size ? MR__DESC_TAIL : 0),
        .off = off,
        .len = len,
    };
    mr__desc_add(&b->w, &e);
    b->weight += weight;
}

static void builder_flush(task_builder *b, GArray *tasks)
{
    GByteArray *d = mr__desc_finish(&b->w);
    if (d) {
        in_task t = {d, b->weight};
        g_array_append_val(tasks, t);
    }
    b->weight = 0;
}

static double file_weight(const in_file *f)
{
    return f->flags & MR_INPUT_FILE_GZIP ? (double)f->size * GZIP_RATIO
                                         : (double)f->size;
}

int mr_input_plan_cut(mr_input_plan *plan, int nranks, uint64_t min_task)
{
    if (nranks < 1)
        nranks = 1;
    if (!min_task)
        min_task = DEFAULT_MIN_TASK;
    tasks_clear(plan->tasks);

    double total = 0;
    for (guint i = 0; i < plan->files->len; i++)
        total += file_weight(&g_array_index(plan->files, in_file, i));
    double target = total / ((double)nranks * TASKS_PER_RANK);
    if (target < (double)min_task)
        target = (double)min_task;

    task_builder b = {0};
    for (guint i = 0; i < plan->files->len; i++) {
        const in_file *f = &g_array_index(plan->files, in_file, i);
        double w = file_weight(f);
        if (!(f->flags & MR_INPUT_FILE_GZIP) && f->size == 0)
            continue; /* nothing to read */
        if (!(f->flags & MR_INPUT_FILE_GZIP) && w > target) {
            /* A big plain file: k nearly equal byte ranges. */
            uint64_t k = (uint64_t)((w + target - 1) / target);
            builder_flush(&b, plan->tasks);
            for (uint64_t j = 0; j < k; j++) {
                uint64_t lo =
                    f->size / k * j + (j < f->size % k ? j : f->size % k);
                uint64_t hi = f->size / k * (j + 1) +
                              (j + 1 < f->size % k ? j + 1 : f->size % k);
                builder_add(&b, f, lo, hi - lo, (double)(hi - lo));
                builder_flush(&b, plan->tasks);
            }
            continue;
        }
        if (b.w.count &&
            (b.weight + w > target || b.w.count >= GROUP_MAX_FILES))
            builder_flush(&b, plan->tasks);
        builder_add(&b, f, 0, f->size, w);
    }
    builder_flush(&b, plan->tasks);
    return MR_OK;
}

size_t mr_input_plan_nfiles(const mr_input_plan *plan)
{
    return plan->files->len;
}

const char *mr_input_plan_file(const mr_input_plan *plan, size_t i,
                               uint64_t *size, unsigned *flags)
{
    const in_file *f = &g_array_index(plan->files, in_file, i);
    if (size)
        *size = f->size;
    if (flags)
        *flags = f->flags;
    return f->path;
}

size_t mr_input_plan_ntasks(const mr_input_plan *plan)
{
    return plan->tasks->len;
}

mr_bytes mr_input_plan_task(const mr_input_plan *plan, size_t i, double *weight)
{
    const in_task *t = &g_array_index(plan->tasks, in_task, i);
    if (weight)
        *weight = t->weight;
    return mr_mem(t->desc->data, t->desc->len);
}

int mr_input_check_args(mr_ctx *ctx, const char *out)
{
    if (mr_ctx_argc(ctx) == 0)
        return mr_error(ctx, MR_EUSAGE,
                        "no INPUT: give files, folders, .gz files or - "
                        "(standard input)");
    if (out && mr_ctx_rank(ctx) == 0)
        return mr_out_check(ctx, out);
    return MR_OK;
}

int mr_input_split(mr_ctx *ctx, int argc, const char *const *argv,
                   mr_input_plan **out)
{
    mr_input_plan *plan = mr_input_plan_new();
    int rc = MR_OK;
    GString *why = g_string_new(NULL);
    *out = NULL;
    /* Every argument is checked, so that one run names every bad one (a
     * line each), not only the first. */
    for (int i = 0; i < argc; i++) {
        int arc = mr_input_plan_add(plan, argv[i]);
        if (arc == MR_OK)
            continue;
        if (rc == MR_OK)
            rc = arc; /* the first failure's status decides the exit */
        g_string_append_printf(why, "%s%s", why->len ? "\n" : "",
                               mr_input_plan_error(plan));
    }
    if (rc != MR_OK) {
        rc = mr_error(ctx, rc, "%s", why->str);
        goto out;
    }
    rc = mr_input_plan_cut(plan, mr_ctx_nranks(ctx), 0);
    if (rc != MR_OK) {
        rc = mr_error(ctx, rc, "%s", mr_input_plan_error(plan));
        goto out;
    }
    for (size_t i = 0; i < mr_input_plan_ntasks(plan); i++) {
        double w;
        mr_bytes d = mr_input_plan_task(plan, i, &w);
        rc = mr_task_add(ctx, d, w);
        if (rc != MR_OK)
            goto out;
    }
    *out = plan;
    plan = NULL;
out:
    g_string_free(why, TRUE);
    mr_input_plan_free(plan);
    return rc;
}
