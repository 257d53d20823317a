/* npy.c -- NumPy .npy files of float64 matrices (see npy.h).
 *
 * The header is a Python literal, so the parser below is a small recursive
 * reader of exactly the subset numpy writes: a dict of three keys with a
 * string, a boolean and a tuple of integers (old Python 2 files may say
 * 10L). Keys may come in any order; an unknown key, a missing key or any
 * other syntax is "malformed header", with the offset of the problem.
 *
 * Blocks are read with pread(), so several readers can share nothing but
 * the descriptor and a task reads only the bytes of its block: one request
 * per row of the block in C order, one per column in Fortran order (or one
 * for the whole block when it spans the full rows or columns), then a
 * transpose in memory for Fortran order.
 */
/* SPDX-License-Identifier: MIT */
#include "npy.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr/mr_job.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c reads '<f8' data in place: it needs a little-endian host"
#endif

static const char MAGIC[6] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

MR_PRINTF(4, 5)
static int fail(int status, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return status;
}

/* ---------------- header parsing ---------------- */

typedef struct hparse {
    const char *s, *end, *start;
} hparse;

static void skip_ws(hparse *p)
{
    while (p->s < p->end &&
           (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r'))
        p->s++;
}

static int accept(hparse *p, char c)
{
    skip_ws(p);
    if (p->s < p->end && *p->s == c) {
        p->s++;
        return 1;
    }
    return 0;
}

/* A quoted string without escapes (numpy's keys and dtypes have none). */
static int parse_string(hparse *p, char *out, size_t cap)
{
    skip_ws(p);
    if (p->s >= p->end || (*p->s != '\'' && *p->s != '"'))
        return 0;
    char q = *p->s++;
    size_t n = 0;
    while (p->s < p->end && *p->s != q) {
        if (*p->s == '\\' || n + 1 >= cap)
            return 0;
        out[n++] = *p->s++;
    }
    if (p->s >= p->end)
        return 0;
    p->s++;
    out[n] = '\0';
    return 1;
}

static int parse_word(hparse *p, const char *w)
{
    size_t n = strlen(w);
    skip_ws(p);
    if ((size_t)(p->end - p->s) >= n && memcmp(p->s, w, n) == 0) {
        p->s += n;
        return 1;
    }
    return 0;
}

static int parse_uint(hparse *p, uint64_t *v)
{
    skip_ws(p);
    if (p->s >= p->end || *p->s < '0' || *p->s > '9')
        return 0;
    uint64_t x = 0;
    while (p->s < p->end && *p->s >= '0' && *p->s <= '9') {
        unsigned d = (unsigned)(*p->s++ - '0');
        if (x > (UINT64_MAX - d) / 10)
            return 0;
        x = x * 10 + d;
    }
    if (p->s < p->end && (*p->s == 'L' || *p->s == 'l'))
        p->s++;
    *v = x;
    return 1;
}

/* "(" [int ("," int)* [","]] ")": stores up to 3 dims, counts them all. */
static int parse_shape(hparse *p, uint64_t dims[3], int *ndim)
{
    *ndim = 0;
    if (!accept(p, '('))
        return 0;
    if (accept(p, ')'))
        return 1;
    for (;;) {
        uint64_t v;
        if (!parse_uint(p, &v))
            return 0;
        if (*ndim < 3)
            dims[*ndim] = v;
        (*ndim)++;
        if (accept(p, ')'))
            return 1;
        if (!accept(p, ','))
            return 0;
        if (accept(p, ')'))
            return 1;
    }
}

int npy_parse_header(const char *path, const void *buf, size_t len,
                     npy_info *info, char *err, size_t errlen)
{
    const unsigned char *b = buf;
    size_t prefix, hlen;

    memset(info, 0, sizeof *info);
    if (len < sizeof MAGIC || memcmp(b, MAGIC, sizeof MAGIC) != 0)
        return fail(MR_EINVAL, err, errlen,
                    "%s: not a .npy file (no \\x93NUMPY magic)", path);
    if (len < 10)
        return fail(MR_EINVAL, err, errlen, "%s: truncated header", path);
    info->major = b[6];
    info->minor = b[7];
    if (info->major == 1 && info->minor == 0) {
        prefix = 10;
        hlen = (size_t)b[8] | (size_t)b[9] << 8;
    } else if ((info->major == 2 || info->major == 3) && info->minor == 0) {
        if (len < 12)
            return fail(MR_EINVAL, err, errlen, "%s: truncated header", path);
        prefix = 12;
        hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 |
               (size_t)b[11] << 24;
    } else {
        return fail(MR_EINVAL, err, errlen,
                    "%s: unsupported .npy format version %d.%d "
                    "(1.0, 2.0 and 3.0 are)",
                    path, info->major, info->minor);
    }
    if (hlen > NPY_MAX_HEADER)
        return fail(MR_EINVAL, err, errlen,
                    "%s: malformed header: length %zu is over %d bytes", path,
                    hlen, NPY_MAX_HEADER);
    if (len < prefix + hlen)
        return fail(MR_EINVAL, err, errlen,
                    "%s: truncated header (%zu of %zu bytes)", path,
                    len < prefix ? 0 : len - prefix, hlen);
    info->data_offset = prefix + hlen;

    hparse p = {(const char *)b + prefix, (const char *)b + prefix + hlen,
                (const char *)b + prefix};
    char key[32], descr[64] = "";
    uint64_t dims[3] = {0, 0, 0};
    int ndim = -1, fortran = -1, have_descr = 0;
    const char *what = "'{'";

    if (!accept(&p, '{'))
        goto malformed;
    while (!accept(&p, '}')) {
        what = "a quoted key";
        if (!parse_string(&p, key, sizeof key))
            goto malformed;
        what = "':'";
        if (!accept(&p, ':'))
            goto malformed;
        if (strcmp(key, "descr") == 0 && !have_descr) {
            skip_ws(&p);
            if (p.s < p.end && *p.s == '[')
                return fail(MR_EINVAL, err, errlen,
                            "%s: structured dtype: only float64 ('<f8') "
                            "matrices are supported",
                            path);
            what = "a dtype string";
            if (!parse_string(&p, descr, sizeof descr))
                goto malformed;
            have_descr = 1;
        } else if (strcmp(key, "fortran_order") == 0 && fortran < 0) {
            what = "True or False";
            if (parse_word(&p, "True"))
                fortran = 1;
            else if (parse_word(&p, "False"))
                fortran = 0;
            else
                goto malformed;
        } else if (strcmp(key, "shape") == 0 && ndim < 0) {
            what = "a tuple of integers";
            if (!parse_shape(&p, dims, &ndim))
                goto malformed;
        } else {
            return fail(MR_EINVAL, err, errlen,
                        "%s: malformed header: unexpected or repeated key "
                        "'%s'",
                        path, key);
        }
        what = "',' or '}'";
        if (!accept(&p, ',') && !(skip_ws(&p), p.s < p.end && *p.s == '}'))
            goto malformed;
    }
    skip_ws(&p);
    if (p.s != p.end) {
        what = "only spaces after '}'";
        goto malformed;
    }
    if (!have_descr || fortran < 0 || ndim < 0)
        return fail(MR_EINVAL, err, errlen,
                    "%s: malformed header: missing key '%s'", path,
                    !have_descr   ? "descr"
                    : fortran < 0 ? "fortran_order"
                                  : "shape");
    if (strcmp(descr, "<f8") != 0)
        return fail(MR_EINVAL, err, errlen,
                    "%s: dtype '%s' is not supported: only little-endian "
                    "float64 ('<f8')",
                    path, descr);
    if (ndim != 2)
        return fail(MR_EINVAL, err, errlen,
                    "%s: %d-dimensional array: a matrix needs 2 dimensions",
                    path, ndim);
    if (dims[0] == 0 || dims[1] == 0)
        return fail(MR_EINVAL, err, errlen,
                    "%s: empty matrix (shape (%" PRIu64 ", %" PRIu64 "))", path,
                    dims[0], dims[1]);
    if (dims[0] > UINT64_MAX / 8 / dims[1])
        return fail(MR_EINVAL, err, errlen,
                    "%s: shape (%" PRIu64 ", %" PRIu64 ") is too large", path,
                    dims[0], dims[1]);
    info->fortran = fortran;
    info->rows = dims[0];
    info->cols = dims[1];
    return MR_OK;

malformed:
    return fail(MR_EINVAL, err, errlen,
                "%s: malformed header: expected %s at byte %zu of the header",
                path, what, (size_t)(p.s - p.start));
}

/* ---------------- reading ---------------- */

static int pread_full(const npy_file *f, void *buf, size_t n, uint64_t off,
                      char *err, size_t errlen)
{
    char *p = buf;
    while (n > 0) {
        ssize_t got = pread(f->fd, p, n, (off_t)off);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return fail(MR_EIO, err, errlen, "%s: read failed: %s", f->path,
                        strerror(errno));
        if (got == 0)
            return fail(MR_EIO, err, errlen,
                        "%s: file shrank while being read (offset %" PRIu64 ")",
                        f->path, off);
        p += got;
        n -= (size_t)got;
        off += (uint64_t)got;
    }
    return MR_OK;
}

int npy_open(npy_file *f, const char *path, char *err, size_t errlen)
{
    unsigned char *head = NULL;
    struct stat st;
    int rc;

    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0)
        return fail(MR_EINVAL, err, errlen, "%s: cannot open: %s", path,
                    strerror(errno));
    if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = fail(MR_EINVAL, err, errlen, "%s: not a regular file", path);
        goto out;
    }
    size_t want = 12 + NPY_MAX_HEADER;
    size_t have = (uint64_t)st.st_size < want ? (size_t)st.st_size : want;
    head = malloc(have ? have : 1);
    if (!head)
        abort();
    rc = pread_full(f, head, have, 0, err, errlen);
    if (rc != MR_OK)
        goto out;
    rc = npy_parse_header(path, head, have, &f->info, err, errlen);
    if (rc != MR_OK)
        goto out;
    uint64_t need = f->info.rows * f->info.cols * 8; /* checked in parse */
    uint64_t avail = (uint64_t)st.st_size - f->info.data_offset;
    if (avail < need) {
        rc = fail(MR_EINVAL, err, errlen,
                  "%s: truncated: shape (%" PRIu64 ", %" PRIu64
                  ") needs %" PRIu64 " data bytes, the file has %" PRIu64,
                  path, f->info.rows, f->info.cols, need, avail);
        goto out;
    }
    rc = MR_OK;
out:
    free(head);
    if (rc != MR_OK)
        npy_close(f);
    return rc;
}

void npy_close(npy_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
}

/* Bytes per request when a block is one contiguous range: big enough to
 * stream, small enough for the transpose buffer of Fortran order. */
#define CHUNK ((size_t)4 << 20)

int npy_read_block(const npy_file *f, uint64_t r0, size_t nr, uint64_t c0,
                   size_t nc, double *dst, size_t ld, char *err, size_t errlen)
{
    const npy_info *in = &f->info;
    double *tmp = NULL;
    int rc = MR_OK;

    if (nr == 0 || nc == 0)
        return MR_OK;
    if (r0 + nr > in->rows || c0 + nc > in->cols || ld < nc)
        abort(); /* the caller's plan is wrong: not an input error */

    if (!in->fortran) {
        /* OPTIMIZATION: whole rows into a dense destination: one range. */
        if (nc == in->cols && ld == nc)
            return pread_full(f, dst, nr * nc * 8,
                              in->data_offset + r0 * in->cols * 8, err, errlen);
        for (size_t r = 0; r < nr && rc == MR_OK; r++)
            rc = pread_full(f, dst + r * ld, nc * 8,
                            in->data_offset + ((r0 + r) * in->cols + c0) * 8,
                            err, errlen);
        return rc;
    }

    /* Fortran order: column c of the block is nr contiguous elements. Read
     * as many whole columns as fit in CHUNK (they are adjacent in the file
     * when the block spans all rows), then transpose into dst. */
    size_t per = CHUNK / 8 / nr;
    if (per == 0)
        per = 1;
    if (per > nc)
        per = nc;
    tmp = malloc(per * nr * 8);
    if (!tmp)
        abort();
    for (size_t c = 0; c < nc && rc == MR_OK; c += per) {
        size_t cn = nc - c < per ? nc - c : per;
        uint64_t base = in->data_offset + ((c0 + c) * in->rows + r0) * 8;
        if (nr == in->rows) {
            rc = pread_full(f, tmp, cn * nr * 8, base, err, errlen);
        } else {
            for (size_t j = 0; j < cn && rc == MR_OK; j++)
                rc = pread_full(f, tmp + j * nr, nr * 8,
                                base + j * in->rows * 8, err, errlen);
        }
        for (size_t j = 0; j < cn && rc == MR_OK; j++)
            for (size_t r = 0; r < nr; r++)
                dst[r * ld + c + j] = tmp[j * nr + r];
    }
    free(tmp);
    return rc;
}

/* ---------------- writing ---------------- */

size_t npy_format_header(char *buf, size_t cap, uint64_t rows, uint64_t cols,
                         int fortran, int version)
{
    char dict[256];
    size_t prefix = version == 1 ? 10 : 12;
    /* numpy leaves room to grow the first axis (the last in Fortran
     * order) in place: it pads the dict to 21 digits for that number. */
    char grow[32];
    int glen = snprintf(grow, sizeof grow, "%" PRIu64, fortran ? cols : rows);
    int dlen = snprintf(dict, sizeof dict,
                        "{'descr': '<f8', 'fortran_order': %s, "
                        "'shape': (%" PRIu64 ", %" PRIu64 "), }%*s",
                        fortran ? "True" : "False", rows, cols,
                        glen < 21 ? 21 - glen : 0, "");
    size_t hlen = (size_t)dlen + 1; /* + '\n' */
    size_t pad = 64 - (prefix + hlen) % 64;
    size_t total = prefix + hlen + pad;

    if (total > cap || (version == 1 && hlen + pad > 0xffff))
        return 0;
    memcpy(buf, MAGIC, sizeof MAGIC);
    buf[6] = (char)version;
    buf[7] = 0;
    size_t h = hlen + pad;
    for (size_t i = 0; i < prefix - 8; i++)
        buf[8 + i] = (char)(h >> (8 * i));
    memcpy(buf + prefix, dict, (size_t)dlen);
    memset(buf + prefix + dlen, ' ', pad);
    buf[total - 1] = '\n';
    return total;
}

int npy_write_header(FILE *fp, uint64_t rows, uint64_t cols)
{
    char h[512];
    size_t n = npy_format_header(h, sizeof h, rows, cols, 0, 1);
    return n && fwrite(h, 1, n, fp) == n ? MR_OK : MR_EIO;
}

int npy_save(const char *path, const double *data, uint64_t rows, uint64_t cols,
             int fortran, int version, char *err, size_t errlen)
{
    char h[512];
    size_t n = npy_format_header(h, sizeof h, rows, cols, fortran, version);
    FILE *fp = fopen(path, "wb");
    int ok = fp && n && fwrite(h, 1, n, fp) == n;

    if (ok && !fortran) {
        ok = fwrite(data, 8, rows * cols, fp) == rows * cols;
    } else {
        for (uint64_t c = 0; ok && c < cols; c++)
            for (uint64_t r = 0; ok && r < rows; r++)
                ok = fwrite(&data[r * cols + c], 8, 1, fp) == 1;
    }
    if (fp && fclose(fp) != 0)
        ok = 0;
    return ok ? MR_OK
              : fail(MR_EIO, err, errlen, "%s: cannot write: %s", path,
                     strerror(errno));
}
