/* mr_pfile.c -- one output file written by every rank (mr_pfile_*).
 *
 * Each rank appends the bytes of its share of the output to a part held in
 * memory; past the output's share of the memory budget (--memory), the
 * part's bytes so far go to an unnamed spill file (mr_spill.h), and the
 * part goes on from empty. mr_pfile_commit, called by every rank, then:
 *   1. agrees on the outcome so far (a rank that failed stops everyone);
 *   2. takes each rank's offset from an exclusive scan of the part sizes;
 *   3. rank 0 makes the temporary file (mr_out_open: the same name, temp
 *      naming and signal cleanup as any atomic output) and writes a token
 *      into it; the others open that name and read the token back: a rank
 *      that cannot is on another file system;
 *   4. if every rank can (and --output-mode is not rank0), each writes its
 *      part at its offset with pwrite and fsyncs; else the parts travel to
 *      rank 0 in rank order, in chunks, and rank 0 writes them;
 *   5. agrees again, and rank 0 renames the file into place, or removes it.
 * Standard output ("-") always goes through rank 0.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_kvbuf.h"
#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_signal.h"
#include "mr_spill.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TOKEN_LEN 32
#define CHUNK ((size_t)16 << 20) /* parts travel to rank 0 in these */
enum { TAG_PART = 4731 };

struct mr_pfile {
    mr_ctx *ctx;
    char *path;
    mr_kvbuf part; /* the part's last bytes (only data and len used) */
    int fd;           /* -1, or the spill file with its first flen bytes */
    uint64_t flen;
};

mr_pfile *mr_pfile_open(mr_ctx *ctx, const char *path)
{
    if (!path || !*path) {
        mr_error(ctx, MR_EUSAGE, "empty output path");
        return NULL;
    }
    mr_pfile *f = g_new0(mr_pfile, 1);
    f->ctx = ctx;
    f->path = g_strdup(path);
    mr__kvbuf_init(&f->part);
    f->fd = -1;
    return f;
}

static int write_all(int fd, const unsigned char *p, size_t n, uint64_t off);

/* The part's bytes in memory go to the end of its spill file. */
static int part_spill(mr_pfile *f)
{
    mr_ctx *ctx = f->ctx;
    if (f->fd < 0) {
        char *err = NULL;
        f->fd = mr__spill_fd(&ctx->ooc.spill, &err);
        if (f->fd < 0) {
            int rc = mr_error(ctx, MR_EIO, "%s: %s", f->path, err);
            g_free(err);
            return rc;
        }
    }
    if (write_all(f->fd, f->part.data, f->part.len, f->flen) != 0)
        return mr_error(ctx, MR_EIO, "%s: spilling this rank's part to %s: "
                        "%s", f->path, ctx->ooc.spill.dir, strerror(errno));
    f->flen += f->part.len;
    f->part.len = 0;
    return MR_OK;
}

/* Calls put(arg, bytes, n) on the whole part in order, in chunks of at
 * most CHUNK bytes; stops at the first failure (its result). */
static int part_each(mr_pfile *f, int (*put)(void *arg, const void *p,
                                              size_t n),
                     void *arg)
{
    if (f->flen) {
        unsigned char *buf = g_malloc(CHUNK);
        for (uint64_t pos = 0; pos < f->flen;) {
            size_t n = (size_t)MIN((uint64_t)CHUNK, f->flen - pos);
            ssize_t r = pread(f->fd, buf, n, (off_t)pos);
            if (r < 0 && errno == EINTR)
                continue;
            int rc = r <= 0 ? -1 : put(arg, buf, (size_t)r);
            if (rc != 0) {
                g_free(buf);
                return rc;
            }
            pos += (uint64_t)r;
        }
        g_free(buf);
    }
    for (size_t pos = 0; pos < f->part.len; pos += CHUNK) {
        int rc = put(arg, f->part.data + pos,
                     MIN(CHUNK, f->part.len - pos));
        if (rc != 0)
            return rc;
    }
    return 0;
}

int mr_pfile_write(mr_pfile *f, const void *data, size_t len)
{
    if (!f)
        return MR_EINVAL;
    /* A mapping of its own once big (mr_kvbuf.c): grown without a copy,
     * given back at the end. */
    mr__kvbuf_append_raw(&f->part, data, len, 0);
    if (f->part.len > f->ctx->ooc.out_limit)
        return part_spill(f);
    return MR_OK;
}

/* Every rank: MR_OK if every rank's status is; else this rank's own
 * error, or a stop that names the rank that failed (the engine reports
 * only that rank's message). */
static int agree(mr_ctx *ctx, int rc, const char *path)
{
    int mine[2] = {rc, ctx->rank}, worst[2];
    MR_MPI(MPI_Allreduce(mine, worst, 1, MPI_2INT, MPI_MINLOC, ctx->comm));
    if (worst[0] == MR_OK || rc != MR_OK)
        return rc;
    return mr_error(ctx, MR_ESTOP, MR_STOP_REMOTE "%d failed writing %s",
                    worst[1], path);
}

static int write_all(int fd, const unsigned char *p, size_t n, uint64_t off)
{
    while (n > 0) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

/* Rank 0: write n bytes at off of the file (fd) or to standard output. */
static int put(FILE *out, int fd, const unsigned char *p, size_t n,
               uint64_t off)
{
    if (n == 0) /* an empty part's bytes are NULL */
        return 0;
    if (out)
        return fwrite(p, 1, n, out) == n ? 0 : -1;
    return write_all(fd, p, n, off);
}

/* Where part_each's bytes go: a file at an offset, standard output, or
 * rank 0 (a chunk each). */
typedef struct sink {
    mr_ctx *ctx;
    FILE *out;
    int fd;
    uint64_t off;
} sink;

static int sink_put(void *arg, const void *p, size_t n)
{
    sink *s = arg;
    if (put(s->out, s->fd, p, n, s->off) != 0)
        return -1;
    s->off += n;
    return 0;
}

static int sink_send(void *arg, const void *p, size_t n)
{
    sink *s = arg;
    MR_MPI(MPI_Send(p, (int)n, MPI_BYTE, 0, TAG_PART, s->ctx->comm));
    return 0;
}

/* The parts of ranks 1.. go to rank 0 in rank order (a zero-length chunk
 * ends each); rank 0 writes them after its own. */
static int gather_parts(mr_pfile *f, FILE *out, int fd, uint64_t off,
                        int *err)
{
    mr_ctx *ctx = f->ctx;
    int bad = 0;
    sink s = {ctx, out, fd, off};
    if (ctx->rank != 0) {
        /* A part that cannot be read back still ends its stream. */
        int rc = part_each(f, sink_send, &s);
        MR_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_PART, ctx->comm));
        if (rc != 0)
            *err = errno;
        return rc;
    }
    unsigned char *buf = g_malloc(CHUNK);
    if (part_each(f, sink_put, &s) != 0) {
        bad = 1;
        *err = errno;
    }
    off = s.off;
    for (int r = 1; r < ctx->nranks; r++) {
        for (;;) {
            MPI_Status st;
            int n;
            MR_MPI(MPI_Recv(buf, (int)CHUNK, MPI_BYTE, r, TAG_PART, ctx->comm,
                            &st));
            MR_MPI(MPI_Get_count(&st, MPI_BYTE, &n));
            if (n == 0)
                break;
            if (!bad && put(out, fd, buf, (size_t)n, off) != 0) {
                bad = 1; /* keep receiving: no rank is left in a send */
                *err = errno;
            }
            off += (uint64_t)n;
        }
    }
    g_free(buf);
    return bad ? -1 : 0;
}

int mr_pfile_commit(mr_pfile *f)
{
    if (!f)
        return MR_EINVAL;
    mr_ctx *ctx = f->ctx;
    int to_stdout = strcmp(f->path, "-") == 0;
    /* Any error on this rank (a part not written, the job's own) means
     * the output would be incomplete. */
    int rc = agree(ctx, ctx->status, f->path);
    uint64_t len = f->flen + f->part.len, off = 0, total = 0;
    MR_MPI(MPI_Exscan(&len, &off, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));
    if (ctx->rank == 0)
        off = 0; /* Exscan leaves rank 0's undefined */
    MR_MPI(MPI_Allreduce(&len, &total, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));

    /* Rank 0 makes the file and says its name and a token. */
    FILE *file = NULL;
    char name[PATH_MAX + TOKEN_LEN] = "";
    if (rc == MR_OK && ctx->rank == 0 && !to_stdout) {
        file = mr_out_open(ctx, f->path);
        if (!file) {
            rc = ctx->status;
        } else {
            g_snprintf(name, PATH_MAX, "%s", mr__out_tmp_of(file));
            char *tok = g_strdup_printf("%016llx%016llx",
                                        (unsigned long long)g_random_int() << 32 |
                                            g_random_int(),
                                        (unsigned long long)g_random_int() << 32 |
                                            g_random_int());
            memcpy(name + PATH_MAX, tok, TOKEN_LEN);
            if (write_all(fileno(file), (unsigned char *)tok, TOKEN_LEN, 0) != 0)
                rc = mr_error(ctx, MR_EIO, "%s: cannot write: %s", f->path,
                              strerror(errno));
            g_free(tok);
        }
    }
    rc = agree(ctx, rc, f->path);
    int shared = 0;
    if (rc == MR_OK && !to_stdout && ctx->cfg->output_mode != MR_OUTPUT_RANK0) {
        MR_MPI(MPI_Bcast(name, (int)sizeof name, MPI_CHAR, 0, ctx->comm));
        int fd = -1, mine = 1;
        if (ctx->rank != 0) {
            char got[TOKEN_LEN];
            fd = open(name, O_WRONLY | O_CLOEXEC);
            int rfd = open(name, O_RDONLY | O_CLOEXEC);
            mine = fd >= 0 && rfd >= 0 &&
                   pread(rfd, got, TOKEN_LEN, 0) == TOKEN_LEN &&
                   memcmp(got, name + PATH_MAX, TOKEN_LEN) == 0;
            if (rfd >= 0)
                close(rfd);
        }
        MR_MPI(MPI_Allreduce(&mine, &shared, 1, MPI_INT, MPI_MIN, ctx->comm));
        if (!shared && ctx->cfg->output_mode == MR_OUTPUT_PARALLEL && !rc)
            rc = mr_error(ctx, MR_EIO, "%s: --output-mode parallel, but "
                          "rank %d cannot see the file rank 0 made (%s): the "
                          "ranks share no file system there",
                          f->path, ctx->rank, name);
        if (shared) {
            sink s = {ctx, NULL, ctx->rank == 0 ? fileno(file) : fd, off};
            if (part_each(f, sink_put, &s) != 0 || fsync(s.fd) != 0)
                rc = mr_error(ctx, MR_EIO, "%s: write failed: %s", f->path,
                              strerror(errno));
        }
        if (fd >= 0 && close(fd) != 0 && rc == MR_OK)
            rc = mr_error(ctx, MR_EIO, "%s: write failed: %s", f->path,
                          strerror(errno));
    }
    rc = agree(ctx, rc, f->path);
    if (rc == MR_OK && !shared) {
        int err = 0;
        if (to_stdout && ctx->rank == 0)
            fflush(stdout);
        if (gather_parts(f, to_stdout ? stdout : NULL,
                         file ? fileno(file) : -1, 0, &err) != 0)
            rc = mr_error(ctx, MR_EIO, "%s: write failed: %s",
                          to_stdout ? "standard output" : f->path,
                          strerror(err));
        if (rc == MR_OK && to_stdout && ctx->rank == 0 && fflush(stdout) != 0)
            rc = mr_error(ctx, MR_EIO, "standard output: %s", strerror(errno));
    }
    /* The token may lie past the end of a short file. */
    if (rc == MR_OK && file && ftruncate(fileno(file), (off_t)total) != 0)
        rc = mr_error(ctx, MR_EIO, "%s: write failed: %s", f->path,
                      strerror(errno));
    rc = agree(ctx, rc, f->path);
    if (file) { /* rank 0: the rename, or the file goes */
        if (rc == MR_OK)
            rc = mr_out_commit_file(ctx, file);
        else
            mr__out_discard(file);
    }
    rc = agree(ctx, rc, f->path);
    mr__kvbuf_fini(&f->part);
    if (f->fd >= 0)
        close(f->fd);
    g_free(f->path);
    g_free(f);
    return rc;
}

uint64_t mr_output_index(const mr_ctx *ctx)
{
    return ctx->out_index;
}

int mr_sum_u64(mr_ctx *ctx, uint64_t *v, size_t n)
{
    if (n > (size_t)INT_MAX)
        return mr_error(ctx, MR_EINVAL, "mr_sum_u64: %zu values", n);
    MR_MPI(MPI_Allreduce(MPI_IN_PLACE, v, (int)n, MPI_UINT64_T, MPI_SUM,
                         ctx->comm));
    return MR_OK;
}
