/* mr_keysort.h -- sort records by a 64-bit key, then by a comparison.
 *
 * The output phase sorts millions of records by the job's order (word
 * count: count descending, then word). A comparison sort pays a call to
 * the job's order, and a decode of both records, some 20 times per record.
 * Here each record carries a 64-bit key that summarises the order (the
 * job's order_key, or the first 8 key bytes), the keys are sorted by
 * radix, and only records whose keys are equal are compared in full.
 *
 * Big arrays go into 4096 buckets in place first (mr_keysort_pf), then
 * each bucket is sorted by LSD radix; bits every key shares cost no pass
 * at all (docs/performance.md, "The output phase"). Records whose keys
 * are equal may get further 64-bit keys, level by level (mr_keysort_lv:
 * the job's order_key_at), sorted the same way, before any comparison.
 *
 * Header-only so that the one-process word-count baseline
 * (tools/bench/wordcount) sorts exactly as the engine does.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_KEYSORT_H
#define MR_KEYSORT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mr/mr_job.h"
#include "mr_bigmem.h"

typedef struct mr_keyed {
    uint64_t key; /* sorts ascending, unsigned */
    uint64_t ref; /* the record: an offset, an index */
} mr_keyed;

typedef int mr_keysort_cmp(const mr_keyed *x, const mr_keyed *y, void *arg);

/* Merge sort of a[0..n) by cmp, with tmp[0..n) as scratch: for the runs
 * of equal keys, which may be long (a job with no order_key has one). */
static inline void mr_keysort_merge(mr_keyed *a, mr_keyed *tmp, size_t n,
                                    mr_keysort_cmp *cmp, void *arg)
{
    if (n < 16) {
        for (size_t i = 1; i < n; i++) {
            mr_keyed x = a[i];
            size_t j = i;
            for (; j > 0 && cmp(&x, &a[j - 1], arg) < 0; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t h = n / 2, i = 0, j = h, o = 0;
    mr_keysort_merge(a, tmp, h, cmp, arg);
    mr_keysort_merge(a + h, tmp + h, n - h, cmp, arg);
    while (i < h && j < n)
        tmp[o++] = cmp(&a[j], &a[i], arg) < 0 ? a[j++] : a[i++];
    while (i < h)
        tmp[o++] = a[i++];
    memcpy(a, tmp, o * sizeof *a); /* a[j..n) is already in place */
}

/* Where the record a ref stands for is, for a prefetch of it. */
typedef const void *mr_keysort_where(uint64_t ref, void *arg);

/* How many entries ahead the comparison pass prefetches records. */
#define MR_KEYSORT_AHEAD 32
/* From this many entries on, the first pass is in place (below). */
#define MR_KEYSORT_MSD_MIN ((size_t)1 << 16)
#define MR_KEYSORT_DIGIT 12 /* bits of that pass: 4096 buckets */

/* Stable LSD radix sort of a[0..n) by the low `bytes` bytes of the key
 * (the higher bytes are equal), tmp[0..n) as scratch. A byte every key
 * shares costs no pass. */
static inline void mr_keysort_lsd(mr_keyed *a, mr_keyed *tmp, size_t n,
                                  int bytes)
{
    if (n < 32) { /* insertion sort: cheaper than 256 counters a byte */
        for (size_t i = 1; i < n; i++) {
            mr_keyed x = a[i];
            size_t j = i;
            for (; j > 0 && a[j - 1].key > x.key; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    size_t count[8][256];
    memset(count, 0, (size_t)bytes * sizeof count[0]);
    for (size_t i = 0; i < n; i++) {
        uint64_t k = a[i].key;
        for (int b = 0; b < bytes; b++)
            count[b][(k >> (8 * b)) & 0xff]++;
    }
    mr_keyed *src = a, *dst = tmp;
    for (int b = 0; b < bytes; b++) {
        if (count[b][(a[0].key >> (8 * b)) & 0xff] == n)
            continue; /* every key has this byte */
        size_t pos[256], sum = 0;
        for (int v = 0; v < 256; v++) {
            pos[v] = sum;
            sum += count[b][v];
        }
        for (size_t i = 0; i < n; i++)
            dst[pos[(src[i].key >> (8 * b)) & 0xff]++] = src[i];
        mr_keyed *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* Puts a[0..n) in buckets by digit (key >> shift) & (2^bits - 1), in
 * place (American flag sort: each entry is moved straight to its bucket).
 * Sets start[0..2^bits] to the buckets' bounds. */
static inline void mr_keysort_buckets(mr_keyed *a, size_t n, int shift,
                                      int bits, size_t *start)
{
    size_t nb = (size_t)1 << bits, mask = nb - 1;
    size_t *next = (size_t *)calloc(nb, sizeof *next);
    if (!next)
        abort();
    for (size_t i = 0; i < n; i++)
        next[(a[i].key >> shift) & mask]++;
    size_t sum = 0;
    for (size_t v = 0; v < nb; v++) {
        start[v] = sum;
        sum += next[v];
        next[v] = start[v];
    }
    start[nb] = n;
    for (size_t v = 0; v < nb; v++) {
        while (next[v] < start[v + 1]) {
            mr_keyed x = a[next[v]];
            size_t d = (x.key >> shift) & mask;
            while (d != v) { /* x to its bucket, and on with what was there */
                mr_keyed y = a[next[d]];
                a[next[d]++] = x;
                x = y;
                d = (x.key >> shift) & mask;
            }
            a[next[v]++] = x;
        }
    }
    free(next);
}

/* The key at `level` (>= 1) of the record ref stands for: the next 64
 * bits of the order among records equal at every level below. */
typedef uint64_t mr_keysort_level(uint64_t ref, unsigned level, void *arg);

/* Levels asked at most below the first key; then cmp decides. */
#define MR_KEYSORT_LEVELS 8

/* Sorts a[0..n), whose keys at the levels below `level` are all equal:
 * by the keys at `level` and below (while lv gives them), then by cmp.
 * tmp has room for n entries. The entries' keys are overwritten. */
static inline void mr_keysort_ties(mr_keyed *a, mr_keyed *tmp, size_t n,
                                   mr_keysort_cmp *cmp,
                                   mr_keysort_where *where,
                                   mr_keysort_level *lv, unsigned level,
                                   void *arg)
{
    while (lv && level <= MR_KEYSORT_LEVELS) {
        uint64_t all = ~(uint64_t)0, any = 0;
        for (size_t i = 0; i < n; i++) {
            if (where && i + MR_KEYSORT_AHEAD < n)
                __builtin_prefetch(where(a[i + MR_KEYSORT_AHEAD].ref, arg));
            a[i].key = lv(a[i].ref, level, arg);
            all &= a[i].key;
            any |= a[i].key;
        }
        level++;
        if (all == any)
            continue; /* this level tells them apart no more: the next */
        mr_keysort_lsd(a, tmp, n, (64 - __builtin_clzll(all ^ any) + 7) / 8);
        for (size_t i = 0; i < n;) {
            size_t j = i + 1;
            while (j < n && a[j].key == a[i].key)
                j++;
            if (j - i > 1)
                mr_keysort_ties(a + i, tmp, j - i, cmp, where, lv, level, arg);
            i = j;
        }
        return;
    }
    mr_keysort_merge(a, tmp, n, cmp, arg);
}

/* The first pass of a sort of a[0..n) (below): whether it puts entries
 * in buckets by the bits of the key from *shift up (*bits of them, the
 * highest where keys differ); else *shift is the bits to sort at all. */
static inline int mr_keysort_digit(const mr_keyed *a, size_t n, int *shift,
                                   int *bits)
{
    uint64_t all = ~(uint64_t)0, any = 0;
    for (size_t i = 0; i < n; i++) {
        all &= a[i].key;
        any |= a[i].key;
    }
    uint64_t differ = all ^ any; /* the bits where some keys differ */
    int top = differ ? 64 - __builtin_clzll(differ) : 0; /* bits to sort */
    if (top == 0 || n < MR_KEYSORT_MSD_MIN) {
        *shift = top;
        *bits = 0;
        return 0;
    }
    *shift = top > MR_KEYSORT_DIGIT ? top - MR_KEYSORT_DIGIT : 0;
    *bits = top - *shift;
    return 1;
}

/* Sorts a[0..n), which is in nb buckets in order of the key bits from
 * `shift` up (bucket v is a[start[v]..start[v + 1]), start[nb] = n): each
 * bucket by the bits below (LSD), then runs of equal keys by the keys lv
 * (or NULL) gives at the levels below, then by cmp. */
static inline void mr_keysort_buckets_sort(mr_keyed *a, const size_t *start,
                                           size_t nb, int shift,
                                           mr_keysort_cmp *cmp,
                                           mr_keysort_where *where,
                                           mr_keysort_level *lv, void *arg)
{
    size_t n = start[nb], big = 0; /* the scratch: a bucket at most */
    for (size_t v = 0; v < nb; v++)
        big = start[v + 1] - start[v] > big ? start[v + 1] - start[v] : big;
    mr_keyed *tmp = (mr_keyed *)mr_bigmem_grow(NULL, 0, big * sizeof *tmp);
    if (shift > 0)
        for (size_t v = 0; v < nb; v++)
            if (start[v + 1] - start[v] > 1)
                mr_keysort_lsd(a + start[v], tmp, start[v + 1] - start[v],
                               (shift + 7) / 8);
    size_t pf = 0; /* the next entry to look at for a prefetch */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && a[j].key == a[i].key)
            j++;
        if (where) {
            size_t lim = j + MR_KEYSORT_AHEAD < n ? j + MR_KEYSORT_AHEAD : n;
            for (pf = pf > i ? pf : i; pf < lim; pf++)
                if ((pf + 1 < n && a[pf + 1].key == a[pf].key) ||
                    (pf > i && a[pf - 1].key == a[pf].key))
                    __builtin_prefetch(where(a[pf].ref, arg));
        }
        if (j - i > 1)
            mr_keysort_ties(a + i, tmp, j - i, cmp, where, lv, 1, arg);
        i = j;
    }
    mr_bigmem_free(tmp, big * sizeof *tmp);
}

/* Sorts a[0..n) by key, then, among equal keys, by the keys lv (or NULL)
 * gives at the levels below, then by cmp; where (or NULL) says where an
 * entry's record is, so that those of equal keys are prefetched before
 * they are looked at. With lv, the keys of entries that tied at level 0
 * are left overwritten.
 *
 * Keys are sorted by radix. Past MR_KEYSORT_MSD_MIN entries the first
 * pass takes the 12 highest bits where keys differ, in place, and the
 * buckets are then sorted on their own by the bits below (LSD): the
 * scratch is the largest bucket, not a second array of n entries, which
 * was a fifth of a rank's peak in word count's output phase
 * (docs/performance.md, "A rank's peak under 450 MiB on big.txt"). 12
 * bits, not 16: the in-place pass's bucket heads then stay in cache. */
static inline void mr_keysort_lv(mr_keyed *a, size_t n, mr_keysort_cmp *cmp,
                                 mr_keysort_where *where,
                                 mr_keysort_level *lv, void *arg)
{
    if (n < 2)
        return;
    int shift, bits;
    if (mr_keysort_digit(a, n, &shift, &bits)) {
        size_t nb = (size_t)1 << bits;
        size_t *start = (size_t *)malloc((nb + 1) * sizeof *start);
        if (!start)
            abort();
        mr_keysort_buckets(a, n, shift, bits, start);
        mr_keysort_buckets_sort(a, start, nb, shift, cmp, where, lv, arg);
        free(start);
    } else {
        size_t start[2] = {0, n};
        mr_keysort_buckets_sort(a, start, 1, shift, cmp, where, lv, arg);
    }
}

static inline void mr_keysort_pf(mr_keyed *a, size_t n, mr_keysort_cmp *cmp,
                                 mr_keysort_where *where, void *arg)
{
    mr_keysort_lv(a, n, cmp, where, NULL, arg);
}

static inline void mr_keysort(mr_keyed *a, size_t n, mr_keysort_cmp *cmp,
                              void *arg)
{
    mr_keysort_pf(a, n, cmp, NULL, arg);
}

#endif /* MR_KEYSORT_H */
