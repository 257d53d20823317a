/* mr_kvbuf.h -- PRIVATE to the framework: serialised key/value records
 * (mr_kvbuf.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_KVBUF_H
#define MR_KVBUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mr/mr_job.h"
#include "mr_small.h"

/* Keys and values are each limited to this size (the public MR_ITEM_MAX),
 * so that one record always fits in a shuffle message (MPI counts are
 * int). */
#define MR_MAX_ITEM MR_ITEM_MAX
_Static_assert((MR_MAX_ITEM & (MR_MAX_ITEM - 1)) == 0,
               "mr_emit tests both limits at once");

/* A record is [u32 klen][u32 vlen][u32 task][key][value], unaligned,
 * host byte order (all ranks of a run share one architecture). */
#define MR_REC_HDR 12

typedef struct mr_kvbuf {
    unsigned char *data;
    size_t len, cap;
    size_t nrec;
} mr_kvbuf;

typedef struct mr_rec {
    mr_bytes key, value;
    uint32_t task;
} mr_rec;

void mr__kvbuf_init(mr_kvbuf *b);
void mr__kvbuf_fini(mr_kvbuf *b);
void mr__kvbuf_reserve(mr_kvbuf *b, size_t extra);
/* Empties b and gives it exactly n bytes of room (no doubling). */
void mr__kvbuf_alloc(mr_kvbuf *b, size_t n);
void mr__kvbuf_append(mr_kvbuf *b, mr_bytes key, mr_bytes value,
                      uint32_t task);
/* Appends n bytes of already serialised records (nrec of them). */
void mr__kvbuf_append_raw(mr_kvbuf *b, const void *p, size_t n, size_t nrec);
/* Moves src's storage into dst (dst is finalised first; src left empty). */
void mr__kvbuf_move(mr_kvbuf *dst, mr_kvbuf *src);

/* Decodes the record at p; returns its total size. */
static inline size_t mr__rec_read(const unsigned char *p, mr_rec *r)
{
    uint32_t kl = mr__load32(p), vl = mr__load32(p + 4);
    r->task = mr__load32(p + 8);
    r->key = (mr_bytes){p + MR_REC_HDR, kl};
    r->value = (mr_bytes){p + MR_REC_HDR + kl, vl};
    return MR_REC_HDR + (size_t)kl + vl;
}

static inline size_t mr__rec_size(const unsigned char *p)
{
    return MR_REC_HDR + (size_t)mr__load32(p) + mr__load32(p + 4);
}

/* The bytes of the whole records at the front of p[0..len) that fit in
 * `limit`: at least one record if len > 0, so an oversized record still
 * moves. */
size_t mr__rec_cut(const unsigned char *p, size_t len, size_t limit);

/* Bytewise order of byte strings, a prefix first (memcmp's order). */
static inline int mr__bytes_cmp(mr_bytes a, mr_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

#endif /* MR_KVBUF_H */
