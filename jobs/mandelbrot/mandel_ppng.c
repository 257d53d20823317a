/* mandel_ppng.c -- the PNG in independent pieces (see mandel_ppng.h). */
/* SPDX-License-Identifier: MIT */
#include "mandel_ppng.h"
#include "mandel_png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define LUT_MAX (1 << 20)
#define GROUP_ROWS 64
#define GROUP_BYTES_MAX ((size_t)16 << 20)
#define BPP 3 /* bytes per pixel: 8-bit RGB */

struct mandel_ppng {
    z_stream zs;
    int32_t width, max_iter;
    size_t rowlen;      /* 1 + 3 * width: the filter byte, the pixels */
    unsigned char *raw; /* a group's rows as deflate reads them */
    unsigned char *lut; /* (max_iter + 1) * 3, or NULL */
};

int32_t mandel_ppng_group_rows(int32_t width)
{
    size_t per_row = (size_t)width * 4;
    size_t rows = GROUP_BYTES_MAX / (per_row ? per_row : 1);
    return rows >= GROUP_ROWS ? GROUP_ROWS : rows < 1 ? 1 : (int32_t)rows;
}

void mandel_ppng_free(mandel_ppng *z)
{
    if (!z)
        return;
    deflateEnd(&z->zs);
    free(z->raw);
    free(z->lut);
    free(z);
}

mandel_ppng *mandel_ppng_new(int32_t width, int32_t max_iter, int level)
{
    mandel_ppng *z = calloc(1, sizeof *z);
    if (!z)
        return NULL;
    z->width = width;
    z->max_iter = max_iter;
    z->rowlen = 1 + (size_t)width * BPP;
    z->raw = malloc((size_t)mandel_ppng_group_rows(width) * z->rowlen);
    int ok = z->raw != NULL;
    if (ok && max_iter <= LUT_MAX) {
        z->lut = malloc(((size_t)max_iter + 1) * BPP);
        ok = z->lut != NULL;
        for (int32_t n = 0; ok && n <= max_iter; n++)
            mandel_color(n, max_iter, z->lut + (size_t)n * BPP);
    }
    /* Raw deflate: the zlib header and Adler-32 are the head's and the
     * tail's. */
    if (!ok || deflateInit2(&z->zs, level, Z_DEFLATED, -15, 8,
                            Z_DEFAULT_STRATEGY) != Z_OK) {
        mandel_ppng_free(z); /* deflateEnd on a stream never started is ok */
        return NULL;
    }
    return z;
}

static int reserve(mandel_buf *b, size_t more)
{
    if (b->cap - b->len >= more)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < more)
        cap *= 2;
    unsigned char *p = realloc(b->p, cap);
    if (!p)
        return -1;
    b->p = p;
    b->cap = cap;
    return 0;
}

static void put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Closes the chunk that starts at `start` (its length and type already
 * reserved there): the length, then the CRC of type and data. */
static int end_chunk(mandel_buf *out, size_t start)
{
    size_t len = out->len - start - 8;
    if (reserve(out, 4) < 0)
        return -1;
    put_be32(out->p + start, (uint32_t)len);
    uLong crc = crc32(0L, out->p + start + 4, (uInt)(len + 4));
    put_be32(out->p + out->len, (uint32_t)crc);
    out->len += 4;
    return 0;
}

static int chunk(mandel_buf *out, const char type[4], const void *data,
                 size_t len)
{
    size_t start = out->len;
    if (reserve(out, 8 + len) < 0)
        return -1;
    memcpy(out->p + start + 4, type, 4);
    if (len)
        memcpy(out->p + start + 8, data, len);
    out->len += 8 + len;
    return end_chunk(out, start);
}

int mandel_ppng_head(mandel_buf *out, int32_t width, int32_t height,
                     int level)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G',
                                         '\r', '\n', 0x1a, '\n'};
    unsigned char ihdr[13] = {0};
    put_be32(ihdr, (uint32_t)width);
    put_be32(ihdr + 4, (uint32_t)height);
    ihdr[8] = 8; /* bits per channel; colour type 2 (RGB); the rest 0 */
    ihdr[9] = 2;
    /* The zlib header as deflate writes it: 32 KiB window, the level's
     * FLEVEL, check bits. */
    unsigned flevel = level < 2 ? 0 : level < 6 ? 1 : level == 6 ? 2 : 3;
    unsigned hdr = 0x78u << 8 | flevel << 6;
    hdr += 31 - hdr % 31;
    unsigned char zhdr[2] = {(unsigned char)(hdr >> 8), (unsigned char)hdr};
    if (reserve(out, sizeof sig) < 0)
        return -1;
    memcpy(out->p + out->len, sig, sizeof sig);
    out->len += sizeof sig;
    if (chunk(out, "IHDR", ihdr, sizeof ihdr) < 0 ||
        chunk(out, "IDAT", zhdr, sizeof zhdr) < 0)
        return -1;
    return 0;
}

int mandel_ppng_tail(mandel_buf *out, uint32_t adler)
{
    /* The final block: fixed Huffman codes, BFINAL set, nothing but the
     * end-of-block code; then the zlib trailer. */
    unsigned char data[6] = {0x03, 0x00};
    put_be32(data + 2, adler);
    if (chunk(out, "IDAT", data, sizeof data) < 0 ||
        chunk(out, "IEND", NULL, 0) < 0)
        return -1;
    return 0;
}

uint32_t mandel_ppng_combine(uint32_t adler_a, uint32_t adler_b,
                             uint64_t len_b)
{
    return (uint32_t)adler32_combine(adler_a, adler_b, (z_off_t)len_b);
}

/* Feeds the deflater, growing out as it fills. */
static int pump(mandel_ppng *z, mandel_buf *out, int flush)
{
    do {
        if (reserve(out, 1 << 16) < 0)
            return -1;
        z->zs.next_out = out->p + out->len;
        z->zs.avail_out = (uInt)(out->cap - out->len);
        int rc = deflate(&z->zs, flush);
        out->len = out->cap - z->zs.avail_out;
        if (rc != Z_OK && rc != Z_BUF_ERROR)
            return -1;
    } while (z->zs.avail_out == 0);
    return 0;
}

int mandel_ppng_group(mandel_ppng *z, const int32_t *counts, int32_t rows,
                      mandel_buf *out, uint32_t *adler, uint64_t *len,
                      char *err, size_t errlen)
{
    size_t start = out->len, w = (size_t)z->width;
    size_t n = (size_t)rows * z->rowlen;
    if (rows > mandel_ppng_group_rows(z->width)) {
        snprintf(err, errlen, "PNG: a group of %d rows", rows);
        return -1;
    }
    for (int32_t k = 0; k < rows; k++) {
        unsigned char *px = z->raw + (size_t)k * z->rowlen;
        const int32_t *c = counts + (size_t)k * w;
        *px++ = 0; /* filter type None (mandel_ppng.h) */
        for (size_t j = 0; j < w; j++) {
            int32_t v = c[j];
            if (v < 0 || v > z->max_iter) {
                snprintf(err, errlen, "PNG: count %d out of range", v);
                return -1;
            }
            if (z->lut)
                memcpy(px + j * BPP, z->lut + (size_t)v * BPP, BPP);
            else
                mandel_color(v, z->max_iter, px + j * BPP);
        }
    }
    if (reserve(out, 8) < 0 || deflateReset(&z->zs) != Z_OK)
        goto zfail;
    memcpy(out->p + start + 4, "IDAT", 4);
    out->len += 8;
    z->zs.next_in = z->raw;
    z->zs.avail_in = (uInt)n;
    /* Byte-aligned and not final: the next group's stream follows. */
    if (pump(z, out, Z_SYNC_FLUSH) < 0 || end_chunk(out, start) < 0)
        goto zfail;
    *adler = (uint32_t)adler32(adler32(0L, Z_NULL, 0), z->raw, (uInt)n);
    *len = n;
    return 0;
zfail:
    snprintf(err, errlen, "PNG: deflate failed (%s)",
             z->zs.msg ? z->zs.msg : "out of memory");
    return -1;
}
