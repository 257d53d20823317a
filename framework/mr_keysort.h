/* mr_keysort.h -- sort records by a 64-bit key, then by a comparison.
 *
 * The output phase sorts millions of records by the job's order (word
 * count: count descending, then word). A comparison sort pays a call to
 * the job's order, and a decode of both records, some 20 times per record.
 * Here each record carries a 64-bit key that summarises the order (the
 * job's order_key, or the first 8 key bytes), the keys are sorted by LSD
 * radix, and only records whose keys are equal are compared in full.
 *
 * One pass over the keys counts all eight byte positions; positions where
 * every key has the same byte (the high bytes of small counts) cost no
 * pass at all (docs/performance.md, "The output phase").
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

/* How many entries ahead the records of equal keys are prefetched. */
#define MR_KEYSORT_AHEAD 32

/* Sorts a[0..n) by key, and records with equal keys by cmp. tmp holds n
 * records of scratch. Stable; cmp should be a total order (break ties by
 * ref) for the result not to depend on the input order. With `where`
 * (else NULL), the records of equal keys are prefetched MR_KEYSORT_AHEAD
 * entries before their comparisons: cmp reads them at random, and many
 * short runs of equal keys (word count's words of one count and a common
 * prefix) otherwise wait for memory one record at a time. */
static inline void mr_keysort_pf(mr_keyed *a, mr_keyed *tmp, size_t n,
                                 mr_keysort_cmp *cmp, mr_keysort_where *where,
                                 void *arg)
{
    if (n < 2)
        return;
    size_t(*count)[256] = calloc(8, sizeof *count);
    if (!count)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint64_t k = a[i].key;
        for (int b = 0; b < 8; b++)
            count[b][(k >> (8 * b)) & 0xff]++;
    }
    mr_keyed *src = a, *dst = tmp;
    for (int b = 0; b < 8; b++) {
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
    free(count);
    if (src != a)
        memcpy(a, src, n * sizeof *a);
    size_t pf = 0; /* the next entry to look at for a prefetch */
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && a[j].key == a[i].key)
            j++;
        if (where) {
            size_t lim = j + MR_KEYSORT_AHEAD < n ? j + MR_KEYSORT_AHEAD : n;
            for (pf = pf > i ? pf : i; pf < lim; pf++)
                if ((pf + 1 < n && a[pf + 1].key == a[pf].key) ||
                    (pf > 0 && a[pf - 1].key == a[pf].key))
                    __builtin_prefetch(where(a[pf].ref, arg));
        }
        mr_keysort_merge(a + i, tmp, j - i, cmp, arg);
        i = j;
    }
}

static inline void mr_keysort(mr_keyed *a, mr_keyed *tmp, size_t n,
                              mr_keysort_cmp *cmp, void *arg)
{
    mr_keysort_pf(a, tmp, n, cmp, NULL, arg);
}

#endif /* MR_KEYSORT_H */
