/* mr_spill.c -- run files of the out-of-core engine: sections of sorted
 * records in compressed blocks on local disk.
 *
 * Layout. A file is a sequence of blocks, [header][payload]: the header is
 * four u32 (stored length, raw length, record count, crc32 of the stored
 * bytes), the payload the records compressed with the file's codec, or the
 * raw records themselves when the stored length equals the raw length
 * (codec "none", and any block that compression would not shrink). A block
 * holds whole records of one section, at most cfg->block raw bytes, or one
 * record bigger than that. Sections are written in order, so each is one
 * contiguous range of blocks; the index (first block, end, counts) lives
 * in memory only, since the file never outlives the process.
 *
 * Memory: the writer holds one raw block and one compressed block; a
 * reader the same plus its codec's state (mr__spill_reader_mem()). Blocks
 * are read with pread, so any number of readers share the fd.
 *
 * Trust: the file is ours, but a disk or a bug can still hand back garbage,
 * so decoding checks every length before it is used: a corrupt block is an
 * error message naming the byte offset, never a crash (tests/fuzz).
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* O_TMPFILE */
#include <glib.h>

#include "mr_spill.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <lz4.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* ---------------- Codecs */

static const char *const codec_names[] = {"none", "lz4", "zstd", "zlib"};

int mr__codec_parse(const char *name, mr_codec *out)
{
    for (int c = MR_CODEC_NONE; c <= MR_CODEC_ZLIB; c++)
        if (name && strcmp(name, codec_names[c]) == 0) {
            *out = (mr_codec)c;
            return MR_OK;
        }
    return MR_EINVAL;
}

const char *mr__codec_name(mr_codec c)
{
    return (unsigned)c <= MR_CODEC_ZLIB ? codec_names[c] : "?";
}

struct mr_spill_codec {
    mr_codec codec;
    ZSTD_CCtx *zc; /* made on first use: a reader never compresses */
    ZSTD_DCtx *zd;
    z_stream def, inf;
    int def_ok, inf_ok;
};

mr_spill_codec *mr__spill_codec_new(mr_codec c)
{
    g_assert((unsigned)c <= MR_CODEC_ZLIB);
    mr_spill_codec *cx = g_new0(mr_spill_codec, 1);
    cx->codec = c;
    return cx;
}

void mr__spill_codec_free(mr_spill_codec *cx)
{
    if (!cx)
        return;
    ZSTD_freeCCtx(cx->zc);
    ZSTD_freeDCtx(cx->zd);
    if (cx->def_ok)
        deflateEnd(&cx->def);
    if (cx->inf_ok)
        inflateEnd(&cx->inf);
    g_free(cx);
}

size_t mr__spill_block_bound(mr_codec c, size_t rawlen)
{
    size_t b = rawlen;
    switch (c) {
    case MR_CODEC_LZ4:
        b = (size_t)LZ4_COMPRESSBOUND(rawlen);
        break;
    case MR_CODEC_ZSTD:
        b = ZSTD_compressBound(rawlen);
        break;
    case MR_CODEC_ZLIB:
        /* deflateBound() wants a stream; this is its no-stream bound
         * (zlib's compressBound()) less the zlib wrapper we do not
         * write, plus slack. */
        b = compressBound((uLong)rawlen);
        break;
    case MR_CODEC_NONE:
        break;
    }
    return MR_SPILL_HDR + (b > rawlen ? b : rawlen);
}

/* Compresses n bytes at src into dst (cap bytes): the compressed size, or
 * 0 when the codec cannot or would not shrink them (then the block is
 * stored raw). */
static size_t compress_payload(mr_spill_codec *cx, const unsigned char *src,
                               size_t n, unsigned char *dst, size_t cap)
{
    size_t out = 0;
    switch (cx->codec) {
    case MR_CODEC_NONE:
        return 0;
    case MR_CODEC_LZ4: {
        int r = LZ4_compress_default((const char *)src, (char *)dst, (int)n,
                                     (int)(cap > INT32_MAX ? INT32_MAX : cap));
        out = r > 0 ? (size_t)r : 0;
        break;
    }
    case MR_CODEC_ZSTD: {
        if (!cx->zc)
            cx->zc = ZSTD_createCCtx();
        g_assert(cx->zc);
        size_t r = ZSTD_compressCCtx(cx->zc, dst, cap, src, n, 1);
        out = ZSTD_isError(r) ? 0 : r;
        break;
    }
    case MR_CODEC_ZLIB: {
        /* Raw deflate (no zlib wrapper): the block header has the lengths
         * and a crc32 already, an adler32 on top would be paid twice. */
        if (!cx->def_ok) {
            int r = deflateInit2(&cx->def, 1, Z_DEFLATED, -15, 8,
                                 Z_DEFAULT_STRATEGY);
            g_assert(r == Z_OK);
            cx->def_ok = 1;
        } else {
            deflateReset(&cx->def);
        }
        cx->def.next_in = (Bytef *)src;
        cx->def.avail_in = (uInt)n;
        cx->def.next_out = dst;
        cx->def.avail_out = (uInt)(cap > UINT32_MAX ? UINT32_MAX : cap);
        out = deflate(&cx->def, Z_FINISH) == Z_STREAM_END
                  ? (size_t)cx->def.total_out
                  : 0;
        break;
    }
    }
    return out < n ? out : 0;
}

/* Fills hdr and returns the payload to write: dst (compressed) or src. */
static const unsigned char *encode(mr_spill_codec *cx, const unsigned char *src,
                                   size_t n, size_t nrec,
                                   unsigned char hdr[MR_SPILL_HDR],
                                   unsigned char *dst, size_t cap,
                                   size_t *stored)
{
    g_assert(n > 0 && n <= MR_SPILL_RAW_MAX && nrec > 0 && nrec <= n);
    size_t c = compress_payload(cx, src, n, dst, cap);
    const unsigned char *payload = c ? dst : src;
    *stored = c ? c : n;
    uint32_t h[4] = {(uint32_t)*stored, (uint32_t)n, (uint32_t)nrec, 0};
    h[3] = (uint32_t)crc32(0, payload, (uInt)*stored);
    memcpy(hdr, h, sizeof h);
    return payload;
}

size_t mr__spill_block_encode(mr_spill_codec *cx, const void *raw,
                              size_t rawlen, size_t nrec, unsigned char *out)
{
    size_t cap = mr__spill_block_bound(cx->codec, rawlen) - MR_SPILL_HDR;
    size_t stored;
    const unsigned char *p = encode(cx, raw, rawlen, nrec, out,
                                    out + MR_SPILL_HDR, cap, &stored);
    if (p != out + MR_SPILL_HDR)
        memcpy(out + MR_SPILL_HDR, p, stored);
    return MR_SPILL_HDR + stored;
}

typedef struct blockhdr {
    uint32_t stored, raw, nrec, crc;
} blockhdr;

/* Parses and bounds-checks a header: MR_OK or MR_EINVAL and *err. */
static int header_parse(const unsigned char *p, blockhdr *h, char **err)
{
    memcpy(h, p, sizeof *h);
    if (h->raw == 0 || h->nrec == 0) {
        *err = g_strdup_printf("empty block (raw length %u, %u records)",
                               h->raw, h->nrec);
        return MR_EINVAL;
    }
    if (h->raw > MR_SPILL_RAW_MAX) {
        *err = g_strdup_printf("raw length %u over the limit %zu", h->raw,
                               (size_t)MR_SPILL_RAW_MAX);
        return MR_EINVAL;
    }
    if (h->stored == 0 || h->stored > h->raw) {
        *err = g_strdup_printf("stored length %u out of range (raw %u)",
                               h->stored, h->raw);
        return MR_EINVAL;
    }
    if (h->nrec > h->raw / MR_REC_HDR) {
        *err = g_strdup_printf("%u records cannot fit in %u bytes", h->nrec,
                               h->raw);
        return MR_EINVAL;
    }
    return MR_OK;
}

/* Checks that raw[0..h->raw) parses into exactly h->nrec records. */
static int records_check(const unsigned char *raw, const blockhdr *h,
                         char **err)
{
    size_t off = 0, n = 0;
    while (off < h->raw) {
        if (h->raw - off < MR_REC_HDR) {
            *err = g_strdup_printf("record %zu: header cut at byte %zu of "
                                   "%u",
                                   n, off, h->raw);
            return MR_EINVAL;
        }
        size_t kl = mr__load32(raw + off), vl = mr__load32(raw + off + 4);
        size_t room = h->raw - off - MR_REC_HDR;
        if (kl > MR_MAX_ITEM || vl > MR_MAX_ITEM || kl > room ||
            vl > room - kl) {
            *err = g_strdup_printf("record %zu at byte %zu: key %zu + value "
                                   "%zu bytes do not fit in %zu",
                                   n, off, kl, vl, room);
            return MR_EINVAL;
        }
        off += MR_REC_HDR + kl + vl;
        n++;
    }
    if (n != h->nrec) {
        *err = g_strdup_printf("%zu records where the header says %u", n,
                               h->nrec);
        return MR_EINVAL;
    }
    return MR_OK;
}

/* Decodes the payload (h->stored bytes at in) into raw (h->raw bytes of
 * room; raw may equal in for a raw-stored block) and checks the records. */
static int decode_payload(mr_spill_codec *cx, const blockhdr *h,
                          const unsigned char *in, unsigned char *raw,
                          char **err)
{
    if ((uint32_t)crc32(0, in, h->stored) != h->crc) {
        *err = g_strdup_printf("checksum mismatch (%u stored bytes)",
                               h->stored);
        return MR_EINVAL;
    }
    if (h->stored == h->raw) {
        if (raw != in)
            memcpy(raw, in, h->raw);
        return records_check(raw, h, err);
    }
    const char *why = NULL;
    size_t got = 0;
    switch (cx->codec) {
    case MR_CODEC_NONE:
        why = "compressed block in a file of codec none";
        break;
    case MR_CODEC_LZ4: {
        int r = LZ4_decompress_safe((const char *)in, (char *)raw,
                                    (int)h->stored, (int)h->raw);
        if (r < 0)
            why = "lz4: malformed data";
        got = r < 0 ? 0 : (size_t)r;
        break;
    }
    case MR_CODEC_ZSTD: {
        if (!cx->zd)
            cx->zd = ZSTD_createDCtx();
        g_assert(cx->zd);
        size_t r = ZSTD_decompressDCtx(cx->zd, raw, h->raw, in, h->stored);
        if (ZSTD_isError(r))
            why = ZSTD_getErrorName(r);
        got = ZSTD_isError(r) ? 0 : r;
        break;
    }
    case MR_CODEC_ZLIB: {
        if (!cx->inf_ok) {
            int r = inflateInit2(&cx->inf, -15);
            g_assert(r == Z_OK);
            cx->inf_ok = 1;
        } else {
            inflateReset(&cx->inf);
        }
        cx->inf.next_in = (Bytef *)in;
        cx->inf.avail_in = h->stored;
        cx->inf.next_out = raw;
        cx->inf.avail_out = h->raw;
        int r = inflate(&cx->inf, Z_FINISH);
        if (r != Z_STREAM_END)
            why = cx->inf.msg ? cx->inf.msg : "zlib: truncated data";
        else if (cx->inf.avail_in != 0)
            why = "zlib: bytes after the end of the stream";
        got = cx->inf.total_out;
        break;
    }
    }
    if (why) {
        *err = g_strdup_printf("cannot decompress: %s", why);
        return MR_EINVAL;
    }
    if (got != h->raw) {
        *err = g_strdup_printf("decompressed to %zu bytes, not %u", got,
                               h->raw);
        return MR_EINVAL;
    }
    return records_check(raw, h, err);
}

/* Checks the block's framing: MR_OK and *h, or MR_EINVAL and *err. */
static int block_frame(const unsigned char *in, size_t inlen, blockhdr *h,
                       char **err)
{
    if (inlen < MR_SPILL_HDR) {
        *err = g_strdup_printf("block of %zu bytes, shorter than its header",
                               inlen);
        return MR_EINVAL;
    }
    int rc = header_parse(in, h, err);
    if (rc == MR_OK && h->stored != inlen - MR_SPILL_HDR) {
        *err = g_strdup_printf("stored length %u, but %zu bytes follow the "
                               "header",
                               h->stored, inlen - MR_SPILL_HDR);
        rc = MR_EINVAL;
    }
    return rc;
}

int mr__spill_block_decode_cx(mr_spill_codec *cx, const unsigned char *in,
                              size_t inlen, unsigned char *raw, size_t rawcap,
                              size_t *rawlen, size_t *nrec, char **err)
{
    blockhdr h;
    int rc = block_frame(in, inlen, &h, err);
    if (rc == MR_OK && h.raw > rawcap) {
        *err = g_strdup_printf("raw length %u over the %zu bytes of room",
                               h.raw, rawcap);
        rc = MR_EINVAL;
    }
    if (rc == MR_OK)
        rc = decode_payload(cx, &h, in + MR_SPILL_HDR, raw, err);
    if (rc != MR_OK)
        return rc;
    *rawlen = h.raw;
    *nrec = h.nrec;
    return MR_OK;
}

int mr__spill_block_decode(mr_codec codec, const unsigned char *in,
                           size_t inlen, unsigned char **raw, size_t *rawlen,
                           size_t *nrec, char **err)
{
    blockhdr h;
    if ((unsigned)codec > MR_CODEC_ZLIB) {
        *err = g_strdup_printf("unknown codec %d", (int)codec);
        return MR_EINVAL;
    }
    int rc = block_frame(in, inlen, &h, err);
    if (rc != MR_OK)
        return rc;
    mr_spill_codec *cx = mr__spill_codec_new(codec);
    unsigned char *out = g_malloc(h.raw);
    rc = decode_payload(cx, &h, in + MR_SPILL_HDR, out, err);
    mr__spill_codec_free(cx);
    if (rc != MR_OK) {
        g_free(out);
        return rc;
    }
    *raw = out;
    *rawlen = h.raw;
    *nrec = h.nrec;
    return MR_OK;
}

/* ---------------- Files */

typedef struct section {
    uint64_t first, end; /* byte range of its blocks in the file */
    uint64_t nblocks, raw, nrec;
} section;

struct mr_spill_file {
    int fd;
    char *dir;
    mr_codec codec;
    size_t block;
    int nsect, cur; /* cur: the section being written */
    section *sect;
    mr_spill_codec *cx;
    unsigned char *buf; /* raw records of the block being filled */
    size_t blen, bnrec;
    unsigned char *out; /* compressed payload */
    size_t outcap;
    uint64_t off;  /* bytes written: the end of the file */
    int sealed;
    int failed;    /* a write failed: the file is useless */
    char *failmsg; /* the first write error, repeated to later calls */
};

static size_t cfg_block(const mr_spill_cfg *cfg)
{
    size_t b = cfg->block ? cfg->block : MR_SPILL_BLOCK_DEFAULT;
    return b < MR_SPILL_BLOCK_MAX ? b : MR_SPILL_BLOCK_MAX;
}

static atomic_uint spill_seq;

/* A named file, for file systems without O_TMPFILE: created exclusive,
 * never through a link, and unlinked at once; if the process is killed
 * in between, mr__spill_sweep() removes it in a later run. */
static int open_named(const char *dir, char **err)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        g_strlcpy(host, "unknown", sizeof host);
    host[sizeof host - 1] = '\0';
    for (int tries = 0;; tries++) {
        unsigned seq = atomic_fetch_add(&spill_seq, 1);
        char *path = g_strdup_printf("%s/mr-spill-%s-%ld-%u", dir, host,
                                     (long)getpid(), seq);
        int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                      0600);
        int e = errno;
        if (fd >= 0)
            unlink(path);
        g_free(path);
        if (fd >= 0)
            return fd;
        if (e != EEXIST || tries >= 100) {
            *err = g_strdup_printf("spill folder %s: cannot create a run "
                                   "file: %s",
                                   dir, g_strerror(e));
            return -1;
        }
    }
}

int mr__spill_fd(const mr_spill_cfg *cfg, char **err)
{
    int fd = -1;
    if (!cfg->named) {
        fd = open(cfg->dir, O_TMPFILE | O_RDWR | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 && errno != EOPNOTSUPP && errno != EISDIR &&
            errno != EINVAL) {
            *err = g_strdup_printf("spill folder %s: cannot create a run "
                                   "file: %s",
                                   cfg->dir, g_strerror(errno));
            return -1;
        }
    }
    if (fd < 0)
        fd = open_named(cfg->dir, err);
    return fd;
}

mr_spill_file *mr__spill_create(const mr_spill_cfg *cfg, int nsect,
                                char **err)
{
    g_assert(cfg && cfg->dir && nsect > 0);
    g_assert((unsigned)cfg->codec <= MR_CODEC_ZLIB);
    int fd = mr__spill_fd(cfg, err);
    if (fd < 0)
        return NULL;
    mr_spill_file *f = g_new0(mr_spill_file, 1);
    f->fd = fd;
    f->dir = g_strdup(cfg->dir);
    f->codec = cfg->codec;
    f->block = cfg_block(cfg);
    f->nsect = nsect;
    f->sect = g_new0(section, nsect);
    f->cx = mr__spill_codec_new(cfg->codec);
    f->buf = g_malloc(f->block);
    f->outcap = mr__spill_block_bound(f->codec, f->block) - MR_SPILL_HDR;
    f->out = g_malloc(f->outcap);
    return f;
}

static char *fmt_size(uint64_t n)
{
    return g_format_size_full(n, G_FORMAT_SIZE_IEC_UNITS);
}

/* Writes the block of n raw bytes at src (nrec records) to section s. */
static int write_block(mr_spill_file *f, section *s, const unsigned char *src,
                       size_t n, size_t nrec, char **err)
{
    unsigned char hdr[MR_SPILL_HDR];
    unsigned char *dst = f->out;
    size_t cap = f->outcap, stored;
    if (n > f->block) { /* a lone record bigger than a block */
        cap = mr__spill_block_bound(f->codec, n) - MR_SPILL_HDR;
        dst = g_malloc(cap);
    }
    const unsigned char *payload = encode(f->cx, src, n, nrec, hdr, dst, cap,
                                          &stored);
    struct iovec iov[2] = {{hdr, MR_SPILL_HDR},
                           {(void *)payload, stored}};
    size_t total = MR_SPILL_HDR + stored, done = 0;
    int rc = MR_OK;
    while (done < total) {
        /* Skip what a short write already took. */
        struct iovec v[2];
        int nv = 0;
        size_t skip = done;
        for (int i = 0; i < 2; i++) {
            if (skip >= iov[i].iov_len) {
                skip -= iov[i].iov_len;
                continue;
            }
            v[nv].iov_base = (unsigned char *)iov[i].iov_base + skip;
            v[nv++].iov_len = iov[i].iov_len - skip;
            skip = 0;
        }
        ssize_t w = pwritev(f->fd, v, nv, (off_t)(f->off + done));
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w < 0 ? errno : ENOSPC;
            char *have = fmt_size(f->off), *more = fmt_size(total);
            if (e == ENOSPC || e == EDQUOT)
                f->failmsg = g_strdup_printf(
                    "spill folder %s: %s (this run file holds %s; %s more "
                    "did not fit); free space or choose another --spill-dir",
                    f->dir,
                    e == EDQUOT ? "disk quota exceeded"
                                : "no space left on the device",
                    have, more);
            else
                f->failmsg = g_strdup_printf("spill folder %s: cannot write "
                                             "a run file (it holds %s): %s",
                                             f->dir, have, g_strerror(e));
            g_free(have);
            g_free(more);
            f->failed = 1;
            *err = g_strdup(f->failmsg);
            rc = MR_EIO;
            break;
        }
        done += (size_t)w;
    }
    if (dst != f->out)
        g_free(dst);
    if (rc != MR_OK)
        return rc;
    if (s->nblocks == 0)
        s->first = f->off;
    f->off += total;
    s->end = f->off;
    s->nblocks++;
    s->raw += n;
    s->nrec += nrec;
    return MR_OK;
}

static int flush(mr_spill_file *f, char **err)
{
    if (f->blen == 0)
        return MR_OK;
    int rc = write_block(f, &f->sect[f->cur], f->buf, f->blen, f->bnrec, err);
    f->blen = f->bnrec = 0;
    return rc;
}

static int failed(const mr_spill_file *f, char **err)
{
    *err = g_strdup(f->failmsg);
    return MR_EIO;
}

int mr__spill_append(mr_spill_file *f, int sect, const void *recs,
                     size_t len, size_t nrec, char **err)
{
    g_assert(!f->sealed && sect >= f->cur && sect < f->nsect);
    if (f->failed)
        return failed(f, err);
    int rc;
    if (sect != f->cur) { /* a block holds one section's records */
        if ((rc = flush(f, err)) != MR_OK)
            return rc;
        f->cur = sect;
    }
    const unsigned char *p = recs;
    /* OPTIMIZATION: the common case, all of it fits in the block. */
    if (len <= f->block - f->blen) {
        memcpy(f->buf + f->blen, p, len);
        f->blen += len;
        f->bnrec += nrec;
        return MR_OK;
    }
    size_t seen = 0;
    while (len > 0) {
        /* The whole records that fit in the room left. */
        size_t room = f->block - f->blen, n = 0, k = 0;
        while (n < len) {
            size_t sz = mr__rec_size(p + n);
            g_assert(sz <= len - n); /* whole records only */
            if (sz > room - n)
                break;
            n += sz;
            k++;
        }
        if (n > 0) {
            memcpy(f->buf + f->blen, p, n);
            f->blen += n;
            f->bnrec += k;
        } else if (f->blen > 0) {
            if ((rc = flush(f, err)) != MR_OK)
                return rc;
            continue;
        } else { /* one record bigger than a block: a block of its own */
            n = mr__rec_size(p);
            k = 1;
            if ((rc = write_block(f, &f->sect[sect], p, n, 1, err)) != MR_OK)
                return rc;
        }
        p += n;
        len -= n;
        seen += k;
    }
    g_assert(seen == nrec);
    return MR_OK;
}

int mr__spill_seal(mr_spill_file *f, char **err)
{
    g_assert(!f->sealed);
    if (f->failed)
        return failed(f, err);
    int rc = flush(f, err);
    if (rc != MR_OK)
        return rc;
    f->sealed = 1;
    /* The write buffers are not needed any more; readers have their own. */
    g_clear_pointer(&f->buf, g_free);
    g_clear_pointer(&f->out, g_free);
    return MR_OK;
}

uint64_t mr__spill_nrec(const mr_spill_file *f, int sect)
{
    g_assert(sect >= 0 && sect < f->nsect);
    return f->sect[sect].nrec;
}

uint64_t mr__spill_raw(const mr_spill_file *f, int sect)
{
    g_assert(sect >= 0 && sect < f->nsect);
    return f->sect[sect].raw;
}

uint64_t mr__spill_stored(const mr_spill_file *f)
{
    return f->off;
}

void mr__spill_close(mr_spill_file *f)
{
    if (!f)
        return;
    close(f->fd);
    mr__spill_codec_free(f->cx);
    g_free(f->buf);
    g_free(f->out);
    g_free(f->sect);
    g_free(f->failmsg);
    g_free(f->dir);
    g_free(f);
}

/* ---------------- Readers */

struct mr_spill_reader {
    mr_spill_file *f;
    int sect;
    uint64_t off, end; /* the next block; the section's end */
    uint64_t nblocks, nrec; /* blocks and records read so far */
    mr_spill_codec *cx;
    unsigned char *in, *raw; /* stored payload, raw records */
    size_t incap, rawcap;
    size_t pos, rawlen; /* the next record in raw */
    size_t last, lastlen; /* the record last returned */
    int err;              /* sticky status */
    char *errmsg;
};

mr_spill_reader *mr__spill_reader_new(mr_spill_file *f, int sect)
{
    g_assert(f->sealed && sect >= 0 && sect < f->nsect);
    mr_spill_reader *rd = g_new0(mr_spill_reader, 1);
    rd->f = f;
    rd->sect = sect;
    rd->off = f->sect[sect].first;
    rd->end = f->sect[sect].end;
    rd->cx = mr__spill_codec_new(f->codec);
    return rd;
}

static void grow(unsigned char **p, size_t *cap, size_t need)
{
    if (need > *cap) {
        g_free(*p);
        *p = g_malloc(need);
        *cap = need;
    }
}

/* pread of exactly n bytes: MR_OK, or MR_EIO and a reason in *why. */
static int read_at(int fd, void *p, size_t n, uint64_t off, char **why)
{
    size_t done = 0;
    while (done < n) {
        ssize_t r = pread(fd, (unsigned char *)p + done, n - done,
                          (off_t)(off + done));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            *why = r < 0 ? g_strdup_printf("read failed: %s",
                                           g_strerror(errno))
                         : g_strdup_printf("short block: %zu of %zu bytes "
                                           "before the end of the file",
                                           done, n);
            return MR_EIO;
        }
        done += (size_t)r;
    }
    return MR_OK;
}

/* Reads and decodes the block at rd->off. */
static int next_block(mr_spill_reader *rd, char **why)
{
    const mr_spill_file *f = rd->f;
    unsigned char hb[MR_SPILL_HDR];
    blockhdr h;
    if (rd->end - rd->off < MR_SPILL_HDR) {
        *why = g_strdup_printf("block header past the section's end (byte "
                               "%" G_GUINT64_FORMAT ")",
                               rd->end);
        return MR_EINVAL;
    }
    int rc = read_at(f->fd, hb, sizeof hb, rd->off, why);
    if (rc == MR_OK)
        rc = header_parse(hb, &h, why);
    if (rc != MR_OK)
        return rc;
    if (h.stored > rd->end - rd->off - MR_SPILL_HDR) {
        *why = g_strdup_printf("stored length %u runs past the section's "
                               "end (byte %" G_GUINT64_FORMAT ")",
                               h.stored, rd->end);
        return MR_EINVAL;
    }
    grow(&rd->raw, &rd->rawcap, h.raw);
    unsigned char *in = rd->raw; /* a raw-stored block is read in place */
    if (h.stored != h.raw) {
        grow(&rd->in, &rd->incap, h.stored);
        in = rd->in;
    }
    rc = read_at(f->fd, in, h.stored, rd->off + MR_SPILL_HDR, why);
    if (rc == MR_OK)
        rc = decode_payload(rd->cx, &h, in, rd->raw, why);
    if (rc != MR_OK)
        return rc;
    rd->off += MR_SPILL_HDR + h.stored;
    rd->nblocks++;
    rd->nrec += h.nrec;
    rd->pos = 0;
    rd->rawlen = h.raw;
    return MR_OK;
}

int mr__spill_next(mr_spill_reader *rd, mr_rec *r, char **err)
{
    if (rd->err) {
        *err = g_strdup(rd->errmsg);
        return rd->err;
    }
    if (rd->pos == rd->rawlen) {
        const section *s = &rd->f->sect[rd->sect];
        if (rd->nblocks == s->nblocks) {
            rd->lastlen = 0;
            return 0;
        }
        uint64_t at = rd->off;
        char *why = NULL;
        int rc = next_block(rd, &why);
        if (rc == MR_OK && rd->nblocks == s->nblocks && rd->nrec != s->nrec) {
            why = g_strdup_printf("%" G_GUINT64_FORMAT " records where %"
                                  G_GUINT64_FORMAT " were written",
                                  rd->nrec, s->nrec);
            rc = MR_EINVAL;
        }
        if (rc != MR_OK) {
            rd->err = rc;
            rd->errmsg = g_strdup_printf(
                "spill folder %s: run file section %d, block at byte %"
                G_GUINT64_FORMAT ": %s",
                rd->f->dir, rd->sect, at, why);
            g_free(why);
            *err = g_strdup(rd->errmsg);
            return rc;
        }
    }
    /* decode_payload checked every record of the block. */
    rd->last = rd->pos;
    rd->lastlen = mr__rec_read(rd->raw + rd->pos, r);
    rd->pos += rd->lastlen;
    return 1;
}

const unsigned char *mr__spill_last_raw(const mr_spill_reader *rd,
                                        size_t *len)
{
    *len = rd->lastlen;
    return rd->lastlen ? rd->raw + rd->last : NULL;
}

void mr__spill_reader_free(mr_spill_reader *rd)
{
    if (!rd)
        return;
    mr__spill_codec_free(rd->cx);
    g_free(rd->in);
    g_free(rd->raw);
    g_free(rd->errmsg);
    g_free(rd);
}

size_t mr__spill_reader_mem(const mr_spill_cfg *cfg)
{
    size_t b = cfg_block(cfg);
    size_t m = sizeof(mr_spill_reader) + sizeof(mr_spill_codec) + b;
    if (cfg->codec != MR_CODEC_NONE)
        m += mr__spill_block_bound(cfg->codec, b);
    if (cfg->codec == MR_CODEC_ZSTD) {
        /* Measured once: the decompression context's size is the
         * library's business and changes between versions. */
        static size_t dctx;
        if (!dctx) {
            ZSTD_DCtx *d = ZSTD_createDCtx();
            dctx = ZSTD_sizeof_DCtx(d);
            ZSTD_freeDCtx(d);
        }
        m += dctx;
    } else if (cfg->codec == MR_CODEC_ZLIB) {
        m += 8 << 10; /* inflate's state; Z_FINISH into a whole block
                       * needs no window */
    }
    return m;
}

/* ---------------- The spill folder */

int mr__spill_space(const char *dir, uint64_t need, char **err)
{
    struct stat st;
    struct statvfs sv;
    if (stat(dir, &st) != 0) {
        *err = g_strdup_printf("spill folder %s: %s", dir, g_strerror(errno));
        return MR_EIO;
    }
    if (!S_ISDIR(st.st_mode)) {
        *err = g_strdup_printf("spill folder %s: not a folder", dir);
        return MR_EIO;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        *err = g_strdup_printf("spill folder %s: not writable: %s", dir,
                               g_strerror(errno));
        return MR_EIO;
    }
    if (statvfs(dir, &sv) != 0) {
        *err = g_strdup_printf("spill folder %s: cannot read its free "
                               "space: %s",
                               dir, g_strerror(errno));
        return MR_EIO;
    }
    uint64_t avail = (uint64_t)sv.f_bavail * sv.f_frsize;
    if (avail < need) {
        char *n = fmt_size(need), *a = fmt_size(avail);
        *err = g_strdup_printf("spill folder %s: %s needed, %s available; "
                               "free space or choose another --spill-dir",
                               dir, n, a);
        g_free(n);
        g_free(a);
        return MR_EIO;
    }
    return MR_OK;
}

/* s is all decimal digits (at least one); its value in *v. */
static int all_digits(const char *s, const char *end, long *v)
{
    if (s == end || end - s > 9)
        return 0;
    long x = 0;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        x = x * 10 + (*p - '0');
    }
    *v = x;
    return 1;
}

int mr__spill_sweep(const char *dir)
{
    char host[256];
    if (gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    char *prefix = g_strdup_printf("mr-spill-%s-", host);
    size_t plen = strlen(prefix);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    int removed = 0;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        g_free(prefix);
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        /* Exactly <prefix><pid>-<seq>: a host name may hold '-' and
         * digits, so anything looser could read another host's file as
         * ours ("mr-spill-a-1-<pid>-<seq>" is not host a's pid 1). */
        if (strncmp(e->d_name, prefix, plen) != 0)
            continue;
        const char *pid_s = e->d_name + plen, *dash = strchr(pid_s, '-');
        long pid, seq;
        if (!dash || !all_digits(pid_s, dash, &pid) ||
            !all_digits(dash + 1, dash + 1 + strlen(dash + 1), &seq) ||
            pid <= 0)
            continue;
        struct stat st;
        if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (!(kill((pid_t)pid, 0) == -1 && errno == ESRCH))
            continue; /* alive, or not ours to judge */
        if (unlinkat(dfd, e->d_name, 0) == 0)
            removed++;
    }
    closedir(d);
    g_free(prefix);
    return removed;
}
