/* mr_input_read.c -- stream a task's files back as whole records.
 *
 * The contract is in mr/mr_input.h; this file explains the how.
 *
 * One buffer per reader. The buffer holds the not yet delivered tail of
 * the last record; reading appends behind it, and a chunk is handed out up
 * to the last separator in the buffer, after which the tail is moved to
 * the front. Only a record that fills the whole buffer is handed out in
 * pieces (MR_INPUT_CONTINUES). Plain files are read with pread() at the
 * range's offsets; gzip goes through zlib's inflate with automatic header
 * detection (15 + 32) and is restarted at each member's end while
 * compressed input remains (multi-member files, as `cat a.gz b.gz`
 * makes). Anything after a member that is not another member is an error,
 * stricter than gzip(1), which warns about "trailing garbage".
 */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>
#include <zlib.h>

#include "mr/mr_input.h"
#include "mr_input_desc.h"
#include "mr_signal.h"

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
    mr__desc_cursor task;
    const char *path; /* current entry's path (in the cursor) */

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

mr_input_reader *mr_input_reader_new(const unsigned char sep[256],
                                     size_t bufsize)
{
    mr_input_reader *r = g_new0(mr_input_reader, 1);
    memcpy(r->sep, sep, 256);
    r->cap = bufsize ? bufsize : DEFAULT_BUFFER;
    if (r->cap < 16)
        r->cap = 16;
    r->buf = g_malloc(r->cap);
    r->fd = -1;
    r->path = "";
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
    r->task.left = 0;
}

void mr_input_reader_free(mr_input_reader *r)
{
    if (!r)
        return;
    mr_input_reader_close(r);
    g_free(r->zbuf);
    g_free(r->buf);
    mr__desc_cursor_fini(&r->task);
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
    r->path = "";
    if (mr__desc_open(&r->task, task) != 0) {
        r->task.left = 0;
        return mr__input_fail(&r->error, MR_EINVAL,
                              "malformed input task descriptor");
    }
    return MR_OK;
}

/* The file is not the size it had when the run was planned: the result
 * would count bytes that are no longer there, or miss new ones. */
static int changed(mr_input_reader *r, uint64_t now)
{
    uint64_t planned = r->off + r->len;
    return mr__input_fail(&r->error, MR_EINVAL,
                          "%s: the file changed while it was read: "
                          "it %s (%llu bytes when the run started, %s %llu)",
                          r->path, now < planned ? "shrank" : "grew",
                          (unsigned long long)planned,
                          now < planned ? "ends at byte" : "now at least",
                          (unsigned long long)now);
}

/* Opens the next entry of the task; returns 1, 0 when there is none, or
 * an error. */
static int entry_open(mr_input_reader *r)
{
    mr__desc_entry e;
    int got = mr__desc_next(&r->task, &e);
    if (got == 0)
        return 0;
    if (got < 0)
        return mr__input_fail(&r->error, MR_EINVAL,
                              "malformed input task descriptor");
    r->path = e.path;
    r->flags = e.flags;
    r->off = e.off;
    r->len = e.len;

    r->fd = open(r->path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0)
        return mr__input_fail(&r->error, MR_EINVAL, "%s: %s", r->path,
                              g_strerror(errno));
    struct stat st;
    if (fstat(r->fd, &st) == 0 && ((uint64_t)st.st_size < r->off + r->len ||
                                   ((r->flags & MR__DESC_TAIL) &&
                                    (uint64_t)st.st_size > r->off + r->len)))
        return changed(r, (uint64_t)st.st_size);
    r->fill = r->handed = r->scanned = 0;
    r->cont = 0;
    if (r->flags & MR__DESC_GZIP) {
        if (!r->zbuf)
            r->zbuf = g_malloc(ZBUF_SIZE);
        memset(&r->zs, 0, sizeof r->zs);
        if (inflateInit2(&r->zs, 15 + 32) != Z_OK)
            return mr__input_fail(&r->error, MR_ERROR,
                                  "%s: zlib: cannot initialise", r->path);
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
    if ((r->flags & MR__DESC_TAIL) && r->pos + (uint64_t)got > end)
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
    return mr__input_fail(&r->error, MR_EIO,
                          "%s: read error at byte offset %llu: %s", r->path,
                          (unsigned long long)r->pos, g_strerror(errno));
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
                return mr__input_fail(&r->error, MR_EIO,
                                      "%s: read error at compressed byte "
                                      "offset %llu: %s",
                                      r->path, (unsigned long long)r->zread,
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
            return mr__input_fail(&r->error, MR_EINVAL,
                                  "%s: truncated gzip data at compressed byte "
                                  "offset %llu (unexpected end of file)",
                                  r->path, (unsigned long long)r->zread);
        int z = inflate(zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END)
            r->zmember_end = 1;
        else if (z != Z_OK && z != Z_BUF_ERROR)
            return mr__input_fail(
                &r->error, MR_EINVAL,
                "%s: corrupt gzip data at compressed byte offset %llu (%s)",
                r->path, (unsigned long long)(r->zread - zs->avail_in),
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

/* The next chunk, into a chunk of the current layout. */
static int reader_next(mr_input_reader *r, mr_input_chunk *chunk)
{
    /* A stop request (a scheduler's warning) must not wait for the end of
     * a task that may be minutes long: every chunk checks. */
    const char *stop = mr__stop_reason();
    if (stop)
        return mr__input_fail(&r->error, MR_ESTOP, "%s", stop);
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
                r->task.left = 0;
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
        ssize_t got = r->flags & MR__DESC_GZIP
                          ? gzip_read(r, r->buf + r->fill, r->cap - r->fill)
                          : plain_read(r, r->buf + r->fill, r->cap - r->fill);
        if (got < 0) {
            entry_close(r);
            r->task.left = 0;
            return (int)got;
        }
        r->fill += (size_t)got;
    }
hand:
    chunk->data = r->buf;
    chunk->len = n;
    chunk->flags = r->cont ? MR_INPUT_CONTINUES : 0;
    chunk->path = r->path;
    chunk->offset = r->start;
    r->handed = n;
    return 1;
}

/* The size of mr_input_chunk in ABI 1.x, before it could grow. */
#define CHUNK_SIZE_1X (offsetof(mr_input_chunk, offset) + sizeof(uint64_t))

int mr_input_reader_next_v(mr_input_reader *r, mr_input_chunk *chunk,
                           size_t size)
{
    g_assert(size >= CHUNK_SIZE_1X); /* not a size the header ever had */
    if (size >= sizeof *chunk)
        return reader_next(r, chunk);
    mr_input_chunk c;
    int rc = reader_next(r, &c);
    if (rc == 1)
        memcpy(chunk, &c, size);
    return rc;
}

/* Parenthesised: the name is also the header's macro. */
int(mr_input_reader_next)(mr_input_reader *r, mr_input_chunk *chunk)
{
    return mr_input_reader_next_v(r, chunk, CHUNK_SIZE_1X);
}

/* ---------------- running a task ---------------- */

int mr_input_each(mr_ctx *ctx, mr_input_reader *r, mr_bytes task,
                  mr_input_chunk_fn *fn, void *arg)
{
    mr_input_chunk c;
    int rc = mr_input_reader_open(r, task);
    while (rc == MR_OK) {
        rc = reader_next(r, &c); /* checks for a stop request first */
        if (rc <= 0)
            break;
        mr_ctx_add_bytes(ctx, c.len);
        rc = fn(ctx, &c, arg);
        if (rc != MR_OK) {
            mr_input_reader_close(r);
            return rc; /* the job's own status and message */
        }
    }
    mr_input_reader_close(r);
    if (rc < 0)
        return mr_error(ctx, rc, "%s", mr_input_reader_error(r));
    return MR_OK;
}
