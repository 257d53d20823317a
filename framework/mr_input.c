/* mr_input.c -- plan file input into map tasks and stream it back as records.
 *
 * The contract is in mr/mr_input.h; this file explains the how.
 *
 * Task descriptor: a compact byte string, so that ten thousand small files
 * grouped into a few dozen tasks do not blow up the task list that split
 * broadcasts:
 *
 *   u8 version (1), varint count, then per entry:
 *   u8 flags, varint shared, varint suffix_len, suffix bytes,
 *   varint offset, varint length
 *
 * where the path is the previous entry's first `shared` bytes followed by
 * the suffix (files grouped in path order share long prefixes). Varints
 * are LEB128.
 *
 * Task size. A range is max(min_task, total / (nranks * 8)) bytes: eight
 * tasks per rank give the dynamic schedules room to even out ranks that
 * are slowed down (oversubscription, a slow disk) while the 1 MiB floor
 * keeps the per-task cost (open, the search for the first separator, a
 * scheduler claim, a task record) well under one percent of the reading.
 *
 * Reading. One buffer per reader. The buffer holds the not yet delivered
 * tail of the last record; reading appends behind it, and a chunk is
 * handed out up to the last separator in the buffer, after which the tail
 * is moved to the front. Only a record that fills the whole buffer is
 * handed out in pieces (MR_INPUT_CONTINUES). Plain files are read with
 * pread() at the range's offsets; gzip goes through zlib's inflate with
 * automatic header detection (15 + 32) and is restarted at each member's
 * end while compressed input remains (multi-member files, as `cat a.gz
 * b.gz` makes). Anything after a member that is not another member is an
 * error, stricter than gzip(1), which warns about "trailing garbage".
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
#include <zlib.h>

#include "mr/mr_input.h"
#include "mr_outfile.h"
#include "mr_signal.h"

#define DESC_VERSION 1
/* Entry flag beside MR_INPUT_GZIP: the range ends where the file ended when
 * it was planned, so reading finds more bytes only if the file grew. */
#define ENTRY_TAIL 0x80u
#define DEFAULT_MIN_TASK ((uint64_t)1 << 20)
#define TASKS_PER_RANK 8
#define GZIP_RATIO 4.0       /* expected uncompressed / compressed size */
#define GROUP_MAX_FILES 4096 /* bounds a descriptor's size */
#define DEFAULT_BUFFER ((size_t)1 << 20)
#define ZBUF_SIZE ((size_t)256 << 10)

/* ---------------- separator tables ---------------- */

void mr_input_sep_fill(unsigned char sep[256], mr_input_sep_kind kind)
{
    for (int b = 0; b < 256; b++) {
        int s = 0;
        switch (kind) {
        case MR_INPUT_SEP_SPACE:
            s = b == ' ' || b == '\t' || b == '\n' || b == '\v' || b == '\f' ||
                b == '\r';
            break;
        case MR_INPUT_SEP_ALNUM:
            s = !((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                  (b >= '0' && b <= '9') || b >= 0x80);
            break;
        case MR_INPUT_SEP_LINE:
            s = b == '\n';
            break;
        }
        sep[b] = (unsigned char)s;
    }
}

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

static int plan_fail(mr_input_plan *plan, int status, const char *fmt, ...)
    MR_PRINTF(3, 4);

static int plan_fail(mr_input_plan *plan, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(plan->error);
    plan->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return status;
}

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

/* A regular file: checks that it opens, then records it. */
static int add_file(mr_input_plan *plan, const char *path,
                    const struct stat *st)
{
    const char *out = mr__out_same_file(st);
    if (out)
        return plan_fail(plan, MR_EUSAGE, "%s: is an input and also the "
                         "output %s; refusing to overwrite an input",
                         path, out);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return plan_fail(plan, MR_EINVAL, "%s: %s", path, g_strerror(errno));
    if (st->st_size == 0 && !has_gz_suffix(path)) {
        /* Size 0 but maybe content (/proc, /sys): read it to its end, once,
         * here, so that every rank reads the same bytes. */
        unsigned char c;
        ssize_t n;
        while ((n = read(fd, &c, 1)) < 0 && errno == EINTR)
            ;
        if (n > 0) { /* from the start again, blocking */
            close(fd);
            if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
                return plan_fail(plan, MR_EINVAL, "%s: %s", path,
                                 g_strerror(errno));
            int rc = add_spool(plan, fd, path);
            close(fd);
            return rc;
        }
    }
    close(fd);
    in_file f = {g_strdup(path), (uint64_t)st->st_size,
                 has_gz_suffix(path) ? MR_INPUT_GZIP : 0};
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
                const in_dir *up, int top);

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
        rc = plan_fail(plan, MR_EINVAL, "%s: %s", path, g_strerror(errno));
        goto out;
    }
    int dfd = dirfd(dir);
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(dir);
        if (!de) {
            if (errno) {
                rc = plan_fail(plan, MR_EINVAL, "%s: %s", path,
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
            rc = plan_fail(plan, MR_EINVAL, "%s: %s", child,
                           g_strerror(e->stat_errno));
        else
            rc = walk(plan, child, &e->st, &self, 0);
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

static int walk(mr_input_plan *plan, const char *path, const struct stat *st,
                const in_dir *up, int top)
{
    if (S_ISDIR(st->st_mode))
        return walk_dir(plan, path, st, up);
    if (S_ISREG(st->st_mode))
        return add_file(plan, path, st);
    if (top)
        return plan_fail(plan, MR_EINVAL, "%s: not a regular file or folder",
                         path);
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
    char *path = g_strdup_printf("%s/%s%ld.XXXXXX", tmp, prefix,
                                 (long)getpid());
    g_free(prefix);
    int rc = MR_OK;
    unsigned char *buf = NULL;
    int fd = g_mkstemp(path);
    if (fd < 0) {
        rc = plan_fail(plan, MR_EIO, "%s: cannot copy it: %s: %s", what,
                       path, g_strerror(errno));
        g_free(path);
        return rc;
    }
    g_ptr_array_add(plan->spool, path); /* removed with the plan */
    buf = g_malloc(DEFAULT_BUFFER);
    for (;;) {
        ssize_t n = read(src, buf, DEFAULT_BUFFER);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = plan_fail(plan, MR_EIO, "%s: read error: %s", what,
                           g_strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(fd, buf + done, (size_t)(n - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = plan_fail(plan, MR_EIO, "%s: copying to %s: %s", what,
                               path, g_strerror(errno));
                goto out;
            }
            done += w;
        }
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = plan_fail(plan, MR_EIO, "%s: %s", path, g_strerror(errno));
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
        return plan_fail(plan, MR_EINVAL, "%s: %s", arg, g_strerror(errno));
    return walk(plan, arg, &st, NULL, 1);
}

/* ---------------- task descriptors ---------------- */

static void put_varint(GByteArray *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    g_byte_array_append(b, tmp, (guint)n);
}

static int get_varint(const unsigned char **p, const unsigned char *end,
                      uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

/* Reads a descriptor's header: after it, *p is at the first of *n
 * entries. Returns 0, or -1 if it is malformed. */
static int desc_header(mr_bytes task, const unsigned char **p, uint64_t *n)
{
    const unsigned char *end = (const unsigned char *)task.ptr + task.len;
    *p = task.ptr;
    if (task.len < 1 || **p != DESC_VERSION)
        return -1;
    (*p)++;
    return get_varint(p, end, n);
}

/* Reads the entry at *p: flags, path (the previous entry's path, in
 * `path`, cut to `shared` bytes, then the suffix), offset and length.
 * Returns 0, or -1 if it is malformed. */
static int desc_entry(const unsigned char **p, const unsigned char *end,
                      unsigned *flags, GString *path, uint64_t *off,
                      uint64_t *len)
{
    uint64_t shared, slen;
    if (*p >= end)
        return -1;
    *flags = *(*p)++;
    if (get_varint(p, end, &shared) || get_varint(p, end, &slen) ||
        shared > path->len || slen > (uint64_t)(end - *p))
        return -1;
    g_string_truncate(path, (gsize)shared);
    g_string_append_len(path, (const char *)*p, (gssize)slen);
    *p += slen;
    if (get_varint(p, end, off) || get_varint(p, end, len) ||
        memchr(path->str, 0, path->len))
        return -1;
    return 0;
}

void mr_input_describe(mr_bytes task, char *buf, size_t size)
{
    const unsigned char *p, *end = (const unsigned char *)task.ptr + task.len;
    uint64_t n = 0, off = 0, len = 0;
    unsigned flags;
    GString *path = g_string_new(NULL);
    char *first = NULL;
    int ok = desc_header(task, &p, &n) == 0 && n > 0;
    for (uint64_t i = 0; ok && i < n; i++) {
        ok = desc_entry(&p, end, &flags, path, &off, &len) == 0;
        if (ok && i == 0)
            first = g_strdup(path->str);
    }
    if (!ok)
        snprintf(buf, size, "(malformed input task)");
    else if (n == 1)
        snprintf(buf, size, "%s bytes %llu-%llu", path->str,
                 (unsigned long long)off, (unsigned long long)(off + len));
    else
        snprintf(buf, size, "%s .. %s (%llu files)", first, path->str,
                 (unsigned long long)n);
    g_free(first);
    g_string_free(path, TRUE);
}

/* A task under construction. */
typedef struct desc_builder {
    GByteArray *entries;
    size_t count;
    const char *prev;
    double weight;
} desc_builder;

static void builder_add(desc_builder *b, const in_file *f, uint64_t off,
                        uint64_t len, double weight)
{
    if (!b->entries)
        b->entries = g_byte_array_new();
    size_t shared = 0;
    if (b->prev)
        while (b->prev[shared] && b->prev[shared] == f->path[shared])
            shared++;
    size_t plen = strlen(f->path);
    unsigned char flags =
        (unsigned char)(f->flags | (off + len == f->size ? ENTRY_TAIL : 0));
    g_byte_array_append(b->entries, &flags, 1);
    put_varint(b->entries, shared);
    put_varint(b->entries, plen - shared);
    g_byte_array_append(b->entries, (const guint8 *)f->path + shared,
                        (guint)(plen - shared));
    put_varint(b->entries, off);
    put_varint(b->entries, len);
    b->prev = f->path;
    b->count++;
    b->weight += weight;
}

static void builder_flush(desc_builder *b, GArray *tasks)
{
    if (!b->count)
        return;
    in_task t = {g_byte_array_new(), b->weight};
    unsigned char v = DESC_VERSION;
    g_byte_array_append(t.desc, &v, 1);
    put_varint(t.desc, b->count);
    g_byte_array_append(t.desc, b->entries->data, b->entries->len);
    g_array_append_val(tasks, t);
    g_byte_array_unref(b->entries);
    *b = (desc_builder){0};
}

static double file_weight(const in_file *f)
{
    return f->flags & MR_INPUT_GZIP ? (double)f->size * GZIP_RATIO
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

    desc_builder b = {0};
    for (guint i = 0; i < plan->files->len; i++) {
        const in_file *f = &g_array_index(plan->files, in_file, i);
        double w = file_weight(f);
        if (!(f->flags & MR_INPUT_GZIP) && f->size == 0)
            continue; /* nothing to read */
        if (!(f->flags & MR_INPUT_GZIP) && w > target) {
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
        if (b.count && (b.weight + w > target || b.count >= GROUP_MAX_FILES))
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
    *out = NULL;
    for (int i = 0; i < argc && rc == MR_OK; i++)
        rc = mr_input_plan_add(plan, argv[i]);
    if (rc == MR_OK)
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
    mr_input_plan_free(plan);
    return rc;
}

/* ---------------- reading ---------------- */

enum { ENTRY_NONE, ENTRY_SKIP, ENTRY_BODY, ENTRY_EOF };

struct mr_input_reader {
    unsigned char sep[256];
    unsigned char *buf;
    size_t cap;
    size_t fill;    /* bytes in buf */
    size_t handed;  /* bytes at the front handed out by the last call */
    size_t scanned; /* buf[0..scanned) is known to hold no separator */
    int cont;       /* the last chunk had MR_INPUT_CONTINUES */

    /* The task. */
    const unsigned char *dp, *dend; /* descriptor cursor */
    uint64_t left;                  /* entries not yet opened */
    GString *path;                  /* current entry's path */

    /* The current entry. */
    int state;
    int fd;
    unsigned flags;
    uint64_t off, len;
    uint64_t pos;   /* plain: next file offset to read */
    uint64_t start; /* uncompressed offset of buf[0] */

    /* gzip */
    z_stream zs;
    int zinit, zeof, zmember_end;
    unsigned char *zbuf;
    uint64_t zread; /* compressed bytes read from the file */

    char *error;
};

static int reader_fail(mr_input_reader *r, int status, const char *fmt, ...)
    MR_PRINTF(3, 4);

static int reader_fail(mr_input_reader *r, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(r->error);
    r->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return status;
}

mr_input_reader *mr_input_reader_new(const unsigned char sep[256],
                                     size_t bufsize)
{
    mr_input_reader *r = g_new0(mr_input_reader, 1);
    memcpy(r->sep, sep, 256);
    r->cap = bufsize ? bufsize : DEFAULT_BUFFER;
    if (r->cap < 16)
        r->cap = 16;
    r->buf = g_malloc(r->cap);
    r->path = g_string_new(NULL);
    r->fd = -1;
    return r;
}

static void entry_close(mr_input_reader *r)
{
    if (r->fd >= 0)
        close(r->fd);
    r->fd = -1;
    if (r->zinit)
        inflateEnd(&r->zs);
    r->zinit = 0;
    r->state = ENTRY_NONE;
    r->fill = r->handed = r->scanned = 0;
    r->cont = 0;
}

void mr_input_reader_close(mr_input_reader *r)
{
    entry_close(r);
    r->dp = r->dend = NULL;
    r->left = 0;
}

void mr_input_reader_free(mr_input_reader *r)
{
    if (!r)
        return;
    mr_input_reader_close(r);
    g_free(r->zbuf);
    g_free(r->buf);
    g_string_free(r->path, TRUE);
    g_free(r->error);
    g_free(r);
}

const char *mr_input_reader_error(const mr_input_reader *r)
{
    return r->error ? r->error : "";
}

int mr_input_reader_open(mr_input_reader *r, mr_bytes task)
{
    mr_input_reader_close(r);
    uint64_t n;
    if (desc_header(task, &r->dp, &n) != 0)
        return reader_fail(r, MR_EINVAL, "malformed input task descriptor");
    r->dend = (const unsigned char *)task.ptr + task.len;
    r->left = n;
    g_string_truncate(r->path, 0);
    return MR_OK;
}

/* The file is not the size it had when the run was planned: the result
 * would count bytes that are no longer there, or miss new ones. */
static int changed(mr_input_reader *r, uint64_t now)
{
    uint64_t planned = r->off + r->len;
    return reader_fail(r, MR_EINVAL, "%s: the file changed while it was read: "
                       "it %s (%llu bytes when the run started, %s %llu)",
                       r->path->str, now < planned ? "shrank" : "grew",
                       (unsigned long long)planned,
                       now < planned ? "ends at byte" : "now at least",
                       (unsigned long long)now);
}

/* Opens the next entry of the task; returns 1, 0 when there is none, or
 * an error. */
static int entry_open(mr_input_reader *r)
{
    if (!r->left)
        return 0;
    if (desc_entry(&r->dp, r->dend, &r->flags, r->path, &r->off, &r->len))
        return reader_fail(r, MR_EINVAL, "malformed input task descriptor");
    r->left--;

    r->fd = open(r->path->str, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return reader_fail(r, MR_EINVAL, "%s: %s", r->path->str,
                           g_strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) == 0 &&
        ((uint64_t)st.st_size < r->off + r->len ||
         ((r->flags & ENTRY_TAIL) && (uint64_t)st.st_size > r->off + r->len)))
        return changed(r, (uint64_t)st.st_size);
    r->fill = r->handed = r->scanned = 0;
    r->cont = 0;
    if (r->flags & MR_INPUT_GZIP) {
        if (!r->zbuf)
            r->zbuf = g_malloc(ZBUF_SIZE);
        memset(&r->zs, 0, sizeof r->zs);
        if (inflateInit2(&r->zs, 15 + 32) != Z_OK)
            return reader_fail(r, MR_ERROR, "%s: zlib: cannot initialise",
                               r->path->str);
        r->zinit = 1;
        r->zeof = r->zmember_end = 0;
        r->zread = 0;
        r->start = 0;
        r->state = ENTRY_BODY;
    } else {
        posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        r->pos = r->off;
        r->start = r->off;
        /* An empty range holds no record, even at 0 (where the rule
         * "up to the first separator at or after off + len" would
         * otherwise take the first record twice). */
        r->state = r->len == 0 ? ENTRY_EOF : r->off ? ENTRY_SKIP : ENTRY_BODY;
    }
    return 1;
}

static ssize_t pread_full(int fd, unsigned char *dst, size_t n, uint64_t pos)
{
    for (;;) {
        ssize_t got = pread(fd, dst, n, (off_t)pos);
        if (got < 0 && errno == EINTR)
            continue;
        return got;
    }
}

/* Plain entry: appends up to n bytes of the range's records at dst.
 * Returns the count, 0 at the range's end, or an error (negative). */
static ssize_t plain_read(mr_input_reader *r, unsigned char *dst, size_t n)
{
    uint64_t end = r->off + r->len;
    while (r->state == ENTRY_SKIP) {
        /* The record under `off` belongs to the range before. Only
         * [off, end) is searched: a separator beyond it would start a
         * record after the range (a 100 MB token costs each range its
         * own bytes, not the rest of the file). */
        size_t want = r->pos + n > end ? (size_t)(end - r->pos) : n;
        ssize_t got = pread_full(r->fd, dst, want, r->pos);
        if (got < 0)
            goto ioerr;
        size_t i = 0;
        while (i < (size_t)got && !r->sep[dst[i]])
            i++;
        if (i < (size_t)got) {
            r->pos += i + 1;
            r->start = r->pos;
            r->state = ENTRY_BODY;
            break;
        }
        r->pos += (uint64_t)got;
        if (got == 0 && r->pos < end)
            return changed(r, r->pos);
        if (got == 0 || r->pos >= end) { /* no record starts in the range */
            r->state = ENTRY_EOF;
            return 0;
        }
    }
    if (r->state != ENTRY_BODY)
        return 0;
    ssize_t got = pread_full(r->fd, dst, n, r->pos);
    if (got < 0)
        goto ioerr;
    if (got == 0) {
        if (r->pos < end)
            return changed(r, r->pos);
        r->state = ENTRY_EOF;
        return 0;
    }
    if ((r->flags & ENTRY_TAIL) && r->pos + (uint64_t)got > end)
        return changed(r, r->pos + (uint64_t)got);
    size_t keep = (size_t)got;
    if (r->pos + (uint64_t)got > end) {
        /* Past the range's end: stop just after the first separator at or
         * after `end`. */
        size_t i = r->pos >= end ? 0 : (size_t)(end - r->pos);
        while (i < (size_t)got && !r->sep[dst[i]])
            i++;
        if (i < (size_t)got) {
            keep = i + 1;
            r->state = ENTRY_EOF;
        }
    }
    r->pos += keep;
    return (ssize_t)keep;
ioerr:
    return reader_fail(r, MR_EIO, "%s: read error at byte offset %llu: %s",
                       r->path->str, (unsigned long long)r->pos,
                       g_strerror(errno));
}

/* gzip entry: inflates up to n bytes at dst. Returns the count, 0 at the
 * end of the file, or an error. */
static ssize_t gzip_read(mr_input_reader *r, unsigned char *dst, size_t n)
{
    z_stream *zs = &r->zs;
    zs->next_out = dst;
    zs->avail_out = (uInt)(n > UINT32_MAX ? UINT32_MAX : n);
    uInt avail0 = zs->avail_out;
    while (zs->avail_out == avail0 && r->state == ENTRY_BODY) {
        if (zs->avail_in == 0 && !r->zeof) {
            ssize_t got;
            do
                got = read(r->fd, r->zbuf, ZBUF_SIZE);
            while (got < 0 && errno == EINTR);
            if (got < 0)
                return reader_fail(r, MR_EIO,
                                   "%s: read error at compressed byte "
                                   "offset %llu: %s",
                                   r->path->str, (unsigned long long)r->zread,
                                   g_strerror(errno));
            if (got == 0)
                r->zeof = 1;
            zs->next_in = r->zbuf;
            zs->avail_in = (uInt)got;
            r->zread += (uint64_t)got;
        }
        if (r->zmember_end) {
            if (zs->avail_in == 0) {
                if (r->zeof)
                    r->state = ENTRY_EOF;
                continue;
            }
            inflateReset(zs); /* another member follows */
            r->zmember_end = 0;
        }
        if (zs->avail_in == 0 && r->zeof)
            return reader_fail(r, MR_EINVAL,
                               "%s: truncated gzip data at compressed byte "
                               "offset %llu (unexpected end of file)",
                               r->path->str, (unsigned long long)r->zread);
        int z = inflate(zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END)
            r->zmember_end = 1;
        else if (z != Z_OK && z != Z_BUF_ERROR)
            return reader_fail(
                r, MR_EINVAL,
                "%s: corrupt gzip data at compressed byte offset %llu (%s)",
                r->path->str, (unsigned long long)(r->zread - zs->avail_in),
                zs->msg            ? zs->msg
                : z == Z_NEED_DICT ? "needs a dictionary"
                                   : "inflate failed");
    }
    return (ssize_t)(avail0 - zs->avail_out);
}

static size_t last_sep(const mr_input_reader *r, size_t from, size_t to)
{
    for (size_t i = to; i > from; i--)
        if (r->sep[r->buf[i - 1]])
            return i; /* one past the separator */
    return 0;
}

int mr_input_reader_next(mr_input_reader *r, mr_input_chunk *chunk)
{
    /* A stop request (a scheduler's warning) must not wait for the end of
     * a task that may be minutes long: every chunk checks. */
    const char *stop = mr__stop_reason();
    if (stop)
        return reader_fail(r, MR_ESTOP, "%s", stop);
    if (r->handed) {
        memmove(r->buf, r->buf + r->handed, r->fill - r->handed);
        r->fill -= r->handed;
        r->start += r->handed;
        r->handed = 0;
        r->scanned = r->fill; /* the tail after the last separator */
    }
    size_t n;
    for (;;) {
        if (r->state == ENTRY_NONE) {
            int rc = entry_open(r);
            if (rc < 0)
                r->left = 0;
            if (rc <= 0)
                return rc;
        }
        if (r->state == ENTRY_EOF) {
            /* The rest is the file's (or range's) last record; an empty
             * chunk ends a record handed out in pieces. */
            if (r->fill == 0 && !r->cont) {
                entry_close(r);
                continue;
            }
            n = r->fill;
            r->cont = 0;
            goto hand;
        }
        if (r->fill > r->scanned) {
            n = last_sep(r, r->scanned, r->fill);
            r->scanned = r->fill;
            if (n) {
                r->cont = 0;
                goto hand;
            }
        }
        if (r->fill == r->cap) {
            n = r->fill;
            r->cont = 1;
            goto hand;
        }
        ssize_t got = r->flags & MR_INPUT_GZIP
                          ? gzip_read(r, r->buf + r->fill, r->cap - r->fill)
                          : plain_read(r, r->buf + r->fill, r->cap - r->fill);
        if (got < 0) {
            entry_close(r);
            r->left = 0;
            return (int)got;
        }
        r->fill += (size_t)got;
    }
hand:
    chunk->data = r->buf;
    chunk->len = n;
    chunk->flags = r->cont ? MR_INPUT_CONTINUES : 0;
    chunk->path = r->path->str;
    chunk->offset = r->start;
    r->handed = n;
    return 1;
}
