/* mem.c -- matmul's big buffers (see mem.h).
 *
 * OPTIMIZATION: a big buffer is its own anonymous mapping, faulted in
 * before use in one system call (MAP_POPULATE, MADV_POPULATE_WRITE)
 * instead of one trap per page: a 32 MiB buffer costs 4-9 ms here
 * instead of 12 (1.3-5.4 ms on huge pages, below).
 *
 * OPTIMIZATION: a buffer that asks for huge pages (a C block) is aligned
 * to 2 MiB, rounded up to whole 2 MiB pages and marked MADV_HUGEPAGE
 * before it is faulted in, so that it sits on transparent huge pages
 * where the system allows it (Debian's default, THP "madvise"; where THP
 * is off the hint does nothing). Every k tile's dgemm reads and writes
 * the whole C block (16 passes over 32 MiB per task at n = 4096), and with
 * 4 KiB pages those passes miss the TLB. Measured on this project's VM
 * (one rank, n = 4096, 5 alternating rounds): dgemm 1.63-1.68 s ->
 * 1.54-1.61 s, the whole job 1.71-1.77 s -> 1.62-1.69 s. The baseline's
 * one cblas_dgemm gains as much from a C on huge pages (1.56-1.61 s ->
 * 1.48-1.57 s), so it gets its C from here too. On this VM, faulting a
 * 32 MiB block in on huge pages now and then took 40-75 ms instead of 2-5:
 * the host backs the guest's memory on first use, and 2 MiB pages come
 * from memory the guest had not used yet (a first 6 GB took 9.8 s to fault
 * in, the same 6 GB again 1.4 s). Machines whose memory is backed up
 * front do not see it. The operand tiles stay on
 * 4 KiB pages: on huge pages making them took 0.083 s instead of 0.056
 * (tiles that start on 2 MiB boundaries, with power-of-two row lengths,
 * share cache sets; scattered 4 KiB pages do not). MR_MATMUL_NO_THP=1
 * turns the hint off, for measuring.
 *
 * A 64-byte header in front of every buffer holds the length of the
 * mapping it starts (0: from malloc), so mm_free_big needs only the
 * pointer.
 */
/* SPDX-License-Identifier: MIT */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_MIN ((size_t)1 << 20)
#define BIG_HUGE ((size_t)2 << 20)
#define BIG_HEAD ((size_t)64)

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

static void *map_big(size_t len, mm_pages pages, size_t *mapped)
{
    int huge = pages == MM_PAGES_HUGE && len >= BIG_HUGE &&
               !getenv("MR_MATMUL_NO_THP");
    if (!huge) {
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (p == MAP_FAILED)
            abort();
        *mapped = len;
        return p;
    }
    /* Map 2 MiB more than needed and keep the aligned part. */
    size_t want = (len + BIG_HUGE - 1) & ~(BIG_HUGE - 1);
    char *raw = mmap(NULL, want + BIG_HUGE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        abort();
    char *p = (char *)(((uintptr_t)raw + BIG_HUGE - 1) &
                       ~(uintptr_t)(BIG_HUGE - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    munmap(p + want, (size_t)(raw + BIG_HUGE - p));
    (void)madvise(p, want, MADV_HUGEPAGE);
    if (madvise(p, want, MADV_POPULATE_WRITE) != 0) /* before Linux 5.14 */
        for (size_t o = 0; o < want; o += 4096)
            p[o] = 0;
    *mapped = want;
    return p;
}

void *mm_alloc_big(size_t bytes, mm_pages pages)
{
    size_t len = bytes + BIG_HEAD, mapped = 0;
    char *p;
    if (bytes >= BIG_MIN)
        p = map_big(len, pages, &mapped);
    else if (!(p = malloc(len)))
        abort();
    memcpy(p, &mapped, sizeof mapped);
    return p + BIG_HEAD;
}

void mm_free_big(void *buf)
{
    if (!buf)
        return;
    char *p = (char *)buf - BIG_HEAD;
    size_t mapped;
    memcpy(&mapped, p, sizeof mapped);
    if (mapped)
        munmap(p, mapped);
    else
        free(p);
}
