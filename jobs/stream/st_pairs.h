/* st_pairs.h -- one task's mapper output lines, kept for the combiner and
 * sorted by key.
 *
 * Lines are stored back to back in one growing buffer, indexed by the
 * length of their key (the bytes before the first tab) and its first 8
 * bytes as a big-endian integer, so that most comparisons of the sort
 * touch the index only (OPTIMIZATION: word keys are short, and a task
 * holds hundreds of thousands of them); st_pairs_sort()
 * orders them by key bytewise (as `LC_ALL=C sort -s -t TAB -k1,1` would),
 * lines with equal keys in the order they were added, so the combiner
 * sees the mapper's values of a key in the mapper's order.
 *
 * Caller-allocated: zero it (or st_pairs_clear after use) before the
 * first add; st_pairs_free releases the buffers. Out of memory aborts.
 */
/* SPDX-License-Identifier: MIT */
#ifndef ST_PAIRS_H
#define ST_PAIRS_H

#include <stddef.h>
#include <stdint.h>

#include <mr/mr_job.h>

typedef struct st_pair {
    uint64_t prefix; /* the first 8 key bytes, big-endian, zero-padded */
    size_t off;      /* of the line in the buffer */
    uint32_t klen;   /* key bytes */
    uint32_t len;    /* line bytes, without '\n' */
} st_pair;

/* The longest line st_pairs_add() takes (mr_emit() refuses keys and
 * values of 1 GiB or more anyway). */
#define ST_PAIRS_MAX_LINE ((size_t)UINT32_MAX)

typedef struct st_pairs {
    char *data; /* private */
    size_t len, cap;
    st_pair *v; /* the lines, in added (then sorted) order */
    size_t n, vcap;
} st_pairs;

/* Copies a line of len (<= ST_PAIRS_MAX_LINE) bytes whose key is its
 * first klen bytes. */
void st_pairs_add(st_pairs *ps, const char *line, size_t klen, size_t len);
/* Sorts by key, stably. */
void st_pairs_sort(st_pairs *ps);
/* Line i (after sorting, in sorted order), without '\n'. Borrowed until
 * the next add, clear or free. */
mr_bytes st_pairs_line(const st_pairs *ps, size_t i);
/* Forgets the lines, keeps the memory for the next task. */
void st_pairs_clear(st_pairs *ps);
void st_pairs_free(st_pairs *ps);

#endif /* ST_PAIRS_H */
