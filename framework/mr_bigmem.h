/* mr_bigmem.h -- big hash-table memory on transparent huge pages.
 *
 * A fold table of millions of keys (hundreds of MiB of slots and entries)
 * is read at random, one slot and one entry per token. With 4 KiB pages
 * nearly every access misses the TLB as well as the caches; on 2 MiB pages
 * the whole table is a few dozen TLB entries (docs/performance.md, "Huge pages").
 *
 * Blocks of MR_BIGMEM_MIN bytes or more are their own anonymous mappings
 * marked MADV_HUGEPAGE (a hint: where THP is off, as on some clusters,
 * they are ordinary pages). Growing one is mremap on Linux (the includer
 * defines _GNU_SOURCE first): the pages move, nothing is copied, and the
 * old and the new block are never resident at once, which at the
 * doubling from 256 to 512 MiB was 256 MiB of a rank's peak. (Moving it
 * onto a 2 MiB boundary with MREMAP_FIXED over a reservation confused
 * valgrind's memcheck, which then saw every write past the old end as
 * invalid.) Elsewhere growing maps a new block and copies. Smaller blocks come from malloc.
 * The caller passes the size back when growing or freeing, so no header.
 *
 * Header-only so that the one-process word-count baseline
 * (tools/bench/wordcount) allocates its table exactly as the engine does.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_BIGMEM_H
#define MR_BIGMEM_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define MR_BIGMEM_MIN ((size_t)2 << 20)
/* What mr_bigmem_release gives back: whole huge pages. */
#define MR_BIGMEM_PAGE ((size_t)2 << 20)
/* How far a pass reads between two releases (mr_bigmem_release_behind):
 * a few huge pages, so that the madvise calls stay rare. */
#define MR_BIGMEM_STEP ((size_t)8 << 20)

static inline void mr_bigmem_oom(size_t n)
{
    fprintf(stderr, "mr: out of memory (%zu bytes)\n", n);
    abort();
}

static inline void *mr_bigmem_map(size_t n)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        mr_bigmem_oom(n);
#ifdef MADV_HUGEPAGE
    (void)madvise(p, n, MADV_HUGEPAGE);
#endif
    return p;
}

/* n zeroed bytes. */
static inline void *mr_bigmem_zalloc(size_t n)
{
    if (n >= MR_BIGMEM_MIN)
        return mr_bigmem_map(n);
    void *p = calloc(1, n ? n : 1);
    if (!p)
        mr_bigmem_oom(n);
    return p;
}

/* Grows p (old bytes, NULL if 0) to n >= old bytes, keeping the first
 * old. */
static inline void *mr_bigmem_grow(void *p, size_t old, size_t n)
{
    if (n < MR_BIGMEM_MIN) {
        void *q = realloc(p, n);
        if (!q)
            mr_bigmem_oom(n);
        return q;
    }
#ifdef MREMAP_MAYMOVE
    if (old >= MR_BIGMEM_MIN) {
        void *q = mremap(p, old, n, MREMAP_MAYMOVE);
        if (q == MAP_FAILED)
            mr_bigmem_oom(n);
#ifdef MADV_HUGEPAGE
        (void)madvise(q, n, MADV_HUGEPAGE);
#endif
        return q;
    }
#endif
    void *q = mr_bigmem_map(n);
    if (old)
        memcpy(q, p, old < n ? old : n);
    if (old < MR_BIGMEM_MIN)
        free(p);
    else
        munmap(p, old);
    return q;
}

/* Bytes [from, to) of p (n bytes) will not be read again: the whole
 * 2 MiB pages among them go back to the system (a mapping; malloc'd
 * memory is left alone), and read as zeros if touched again. Returns the
 * offset the released pages end at (to, rounded down to such a page),
 * where the next release of a region consumed front to back starts.
 * Whole huge pages only: releasing part of one splits it into small
 * pages for good. */
static inline size_t mr_bigmem_release(void *p, size_t n, size_t from,
                                       size_t to)
{
    const uintptr_t page = MR_BIGMEM_PAGE;
    uintptr_t a = ((uintptr_t)p + from + page - 1) & ~(page - 1);
    uintptr_t b = ((uintptr_t)p + to) & ~(page - 1);
    if (n >= MR_BIGMEM_MIN && b > a)
        (void)madvise((void *)a, b - a, MADV_DONTNEED);
    return b > (uintptr_t)p ? (size_t)(b - (uintptr_t)p) : 0;
}

/* For a pass that reads p (n bytes) front to back and keeps what it
 * needs below `keep` (bytes it moved down, or 0): once the bytes between
 * max(keep, *done) and `read` reach MR_BIGMEM_STEP, they go back. *done
 * starts at 0 and is where the released pages end. */
static inline void mr_bigmem_release_behind(void *p, size_t n, size_t keep,
                                            size_t read, size_t *done)
{
    size_t from = keep > *done ? keep : *done;
    if (read >= from + MR_BIGMEM_STEP)
        *done = mr_bigmem_release(p, n, from, read);
}

static inline void mr_bigmem_free(void *p, size_t n)
{
    if (!p)
        return;
    if (n >= MR_BIGMEM_MIN)
        munmap(p, n);
    else
        free(p);
}

#endif
