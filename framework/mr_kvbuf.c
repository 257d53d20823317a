/* mr_kvbuf.c -- append-only runs of serialised key/value records.
 *
 * Pairs are packed back to back into one growing arena per run
 * ([u32 klen][u32 vlen][u32 task][key][value], see mr_kvbuf.h), so an
 * emit costs a memcpy, never a malloc, and a run is already the wire
 * format of the shuffle. Growth doubles, so appends are amortised O(1) and
 * a run wastes at most half its capacity.
 *
 * Runs of 2 MiB and more are mappings of their own (mr_bigmem.h), not
 * malloc's: Open MPI turns malloc's own mappings off (M_MMAP_MAX 0), so a
 * freed run would stay in the heap and the rank's resident size would only
 * grow from phase to phase; a mapping goes back to the system when freed,
 * and grows by mremap without a copy.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include <glib.h>

#include "mr_bigmem.h"
#include "mr_kvbuf.h"

void mr__kvbuf_init(mr_kvbuf *b)
{
    memset(b, 0, sizeof *b);
}

void mr__kvbuf_fini(mr_kvbuf *b)
{
    mr_bigmem_free(b->data, b->cap);
    memset(b, 0, sizeof *b);
}

void mr__kvbuf_reserve(mr_kvbuf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra)
        cap *= 2;
    b->data = mr_bigmem_grow(b->data, b->cap, cap);
    b->cap = cap;
}

void mr__kvbuf_alloc(mr_kvbuf *b, size_t n)
{
    mr__kvbuf_fini(b);
    b->cap = n ? n : 1;
    b->data = mr_bigmem_grow(NULL, 0, b->cap);
}

void mr__kvbuf_append(mr_kvbuf *b, mr_bytes key, mr_bytes value,
                      uint32_t task)
{
    size_t n = MR_REC_HDR + key.len + value.len;
    mr__kvbuf_reserve(b, n);
    unsigned char *p = b->data + b->len;
    uint32_t hdr[3] = {(uint32_t)key.len, (uint32_t)value.len, task};
    memcpy(p, hdr, sizeof hdr);
    if (key.len)
        memcpy(p + MR_REC_HDR, key.ptr, key.len);
    if (value.len)
        memcpy(p + MR_REC_HDR + key.len, value.ptr, value.len);
    b->len += n;
    b->nrec++;
}

void mr__kvbuf_append_raw(mr_kvbuf *b, const void *p, size_t n, size_t nrec)
{
    if (n == 0)
        return;
    mr__kvbuf_reserve(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->nrec += nrec;
}

void mr__kvbuf_move(mr_kvbuf *dst, mr_kvbuf *src)
{
    mr__kvbuf_fini(dst);
    *dst = *src;
    memset(src, 0, sizeof *src);
}

size_t mr__rec_cut(const unsigned char *p, size_t len, size_t limit)
{
    size_t n = 0;
    while (n < len) {
        size_t r = mr__rec_size(p + n);
        if (n > 0 && n + r > limit)
            break;
        n += r;
        if (n >= limit)
            break;
    }
    return n;
}
