/* st_pairs.c -- one task's mapper lines, sorted by key for the combiner.
 *
 * Sorting is a radix sort on the prefixes, then a comparison sort inside
 * the runs of equal prefixes that are not in order yet. qsort is not
 * stable, so the comparison falls back on the buffer offset,
 * which grows with the order of addition: equal keys keep their order.
 * Keys that differ in their first 8 bytes are ordered by the prefix in
 * the index alone; a zero-padded prefix cannot tell "a" from "a\0", so
 * for short keys the lengths decide after it.
 */
/* SPDX-License-Identifier: MIT */
#include "st_pairs.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

static const char *sort_data; /* qsort has no context argument in C11 */

static void *grow(void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t c = *cap ? *cap : 1024;
    while (c < need)
        c *= 2;
    p = realloc(p, c * elem);
    if (!p)
        abort();
    *cap = c;
    return p;
}

void st_pairs_add(st_pairs *ps, const char *line, size_t klen, size_t len)
{
    assert(klen <= len && len <= ST_PAIRS_MAX_LINE);
    ps->data = grow(ps->data, &ps->cap, ps->len + len, 1);
    ps->v = grow(ps->v, &ps->vcap, ps->n + 1, sizeof *ps->v);
    if (len)
        memcpy(ps->data + ps->len, line, len);
    uint64_t prefix = 0;
    for (size_t i = 0; i < 8; i++)
        prefix = prefix << 8 | (i < klen ? (unsigned char)line[i] : 0);
    ps->v[ps->n++] = (st_pair){.prefix = prefix,
                               .off = ps->len,
                               .klen = (uint32_t)klen,
                               .len = (uint32_t)len};
    ps->len += len;
}

static int pair_cmp(const void *pa, const void *pb)
{
    const st_pair *a = pa, *b = pb;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    /* Equal first 8 bytes (zero padding included): the rest decides. */
    size_t n = a->klen < b->klen ? a->klen : b->klen;
    int c = n > 8
                ? memcmp(sort_data + a->off + 8, sort_data + b->off + 8, n - 8)
                : 0;
    if (c)
        return c;
    if (a->klen != b->klen)
        return a->klen < b->klen ? -1 : 1;
    return (a->off > b->off) - (a->off < b->off);
}

/* 1 if v[0..n) is in pair_cmp order already. */
static int is_sorted(const st_pair *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (pair_cmp(&v[i - 1], &v[i]) > 0)
            return 0;
    return 1;
}

void st_pairs_sort(st_pairs *ps)
{
    size_t n = ps->n;
    if (n < 2)
        return;
    /* OPTIMIZATION: an LSD radix sort on the 8-byte prefix (stable, 8
     * counting passes at most, passes where all entries share the byte
     * skipped): a task's hundreds of thousands of short keys sort in a
     * few linear passes instead of n log n indirect comparisons. */
    size_t(*count)[256] = calloc(8, sizeof *count);
    st_pair *tmp = malloc(n * sizeof *tmp);
    if (!count || !tmp)
        abort();
    for (size_t i = 0; i < n; i++)
        for (int b = 0; b < 8; b++)
            count[b][ps->v[i].prefix >> (8 * b) & 0xff]++;
    st_pair *src = ps->v, *dst = tmp;
    for (int b = 0; b < 8; b++) {
        if (count[b][ps->v[0].prefix >> (8 * b) & 0xff] == n)
            continue; /* every entry has this byte */
        size_t pos = 0;
        for (int d = 0; d < 256; d++) {
            size_t c = count[b][d];
            count[b][d] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[b][src[i].prefix >> (8 * b) & 0xff]++] = src[i];
        st_pair *t = src;
        src = dst;
        dst = t;
    }
    if (src != ps->v)
        memcpy(ps->v, src, n * sizeof *src);
    free(tmp);
    free(count);

    /* Runs of equal prefixes (the same key, mostly): the rest of the key
     * and its length decide; a run already in order is left alone. */
    sort_data = ps->data;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && ps->v[j].prefix == ps->v[i].prefix; j++)
            ;
        if (j - i > 1 && !is_sorted(ps->v + i, j - i))
            qsort(ps->v + i, j - i, sizeof *ps->v, pair_cmp);
    }
    sort_data = NULL;
}

mr_bytes st_pairs_line(const st_pairs *ps, size_t i)
{
    return mr_mem(ps->data + ps->v[i].off, ps->v[i].len);
}

void st_pairs_clear(st_pairs *ps)
{
    ps->len = 0;
    ps->n = 0;
}

void st_pairs_free(st_pairs *ps)
{
    free(ps->data);
    free(ps->v);
    memset(ps, 0, sizeof *ps);
}
