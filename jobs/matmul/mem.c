/* mem.c -- matmul's big buffers (see mem.h).
 *
 * OPTIMIZATION: a big buffer is its own anonymous mapping, faulted in
 * before use in one system call (MADV_POPULATE_WRITE) instead of one trap
 * per page: a 32 MiB buffer costs 4-9 ms here instead of 12.
 *
 * OPTIMIZATION: a buffer that asks for huge pages (a C block) starts on a
 * 2 MiB boundary, is rounded up to whole 2 MiB pages and is marked
 * MADV_HUGEPAGE before it is faulted in, so that it sits on transparent
 * huge pages where the system allows it (Debian's default, THP
 * "madvise"; where THP is off the hint does nothing). Every k tile's
 * dgemm reads and writes the whole C block (16 passes over 32 MiB per
 * task at n = 4096), and with 4 KiB pages those passes miss the TLB.
 * Measured on this project's VM (one rank, n = 4096, 5 alternating
 * rounds): dgemm 1.63-1.68 s -> 1.54-1.61 s, the whole job 1.71-1.77 s ->
 * 1.62-1.69 s; faulting the block in 1.3-5.4 ms instead of 4-9. The
 * baseline's one cblas_dgemm gains as much from a C on huge pages
 * (1.56-1.61 s -> 1.48-1.57 s), so it gets its C from here too.
 *
 * On this VM, faulting a 32 MiB block in on huge pages now and then took
 * 40-75 ms: the host backs the guest's memory on first use (and takes
 * freed memory back), and 2 MiB pages come from memory the guest had not
 * used lately (a first 6 GB took 9.8 s to fault in, the same 6 GB again
 * 1.4 s). Machines whose memory is backed up front do not see it.
 *
 * The operand tiles stay on 4 KiB pages: on huge pages making them took
 * 0.083 s instead of 0.056 (our guess: tiles that start on 2 MiB
 * boundaries, with power-of-two row lengths, share cache sets; scattered
 * 4 KiB pages do not). They are marked MADV_NOHUGEPAGE, for systems where
 * THP is "always". MR_MATMUL_NO_THP=1 puts C on 4 KiB pages too, for
 * measuring.
 *
 * A header just before the data says where the memory starts and how
 * long its mapping is, so mm_free_big needs only the pointer.
 */
/* SPDX-License-Identifier: MIT */
#include "mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BIG_MIN ((size_t)1 << 20)
#define BIG_HUGE ((size_t)2 << 20)
#define BIG_PAGE ((size_t)4096)
#define BIG_HEAD ((size_t)64) /* keeps mapped data on a cache line */

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* Just before every buffer's data: where its memory starts, and the
 * length of its mapping (0: from malloc). */
typedef struct big_head {
    size_t lead, mapped;
} big_head;

static char *map_or_die(size_t len)
{
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        abort();
    return p;
}

static void populate(char *p, size_t len)
{
    if (madvise(p, len, MADV_POPULATE_WRITE) != 0) /* before Linux 5.14 */
        for (size_t o = 0; o < len; o += BIG_PAGE)
            p[o] = 0;
}

void *mm_alloc_big(size_t bytes, mm_pages pages)
{
    big_head h = {BIG_HEAD, 0};
    char *base, *data;
    if (bytes < BIG_MIN) {
        if (!(base = malloc(bytes + BIG_HEAD)))
            abort();
        data = base + BIG_HEAD;
    } else if (pages == MM_PAGES_HUGE && bytes >= BIG_HUGE &&
               !getenv("MR_MATMUL_NO_THP")) {
        /* The data on a 2 MiB boundary, in whole 2 MiB pages; the header
         * in the 4 KiB page before it. Map 2 MiB more than that and keep
         * the part that fits. */
        size_t want = (bytes + BIG_HUGE - 1) & ~(BIG_HUGE - 1);
        char *raw = map_or_die(want + BIG_HUGE);
        data = (char *)(((uintptr_t)raw + BIG_PAGE + BIG_HUGE - 1) &
                        ~(uintptr_t)(BIG_HUGE - 1));
        base = data - BIG_PAGE;
        if (base > raw)
            munmap(raw, (size_t)(base - raw));
        if (raw + BIG_HUGE > data)
            munmap(data + want, (size_t)(raw + BIG_HUGE - data));
        (void)madvise(data, want, MADV_HUGEPAGE);
        populate(base, BIG_PAGE + want);
        h.lead = BIG_PAGE;
        h.mapped = BIG_PAGE + want;
    } else {
        /* Where THP is "always" (RHEL's default) the kernel would put
         * tiles on huge pages unasked: say no. */
        h.mapped = bytes + BIG_HEAD;
        base = map_or_die(h.mapped);
        (void)madvise(base, h.mapped, MADV_NOHUGEPAGE);
        populate(base, h.mapped);
        data = base + BIG_HEAD;
    }
    memcpy(data - sizeof h, &h, sizeof h);
    return data;
}

void mm_free_big(void *buf)
{
    if (!buf)
        return;
    big_head h;
    memcpy(&h, (char *)buf - sizeof h, sizeof h);
    char *base = (char *)buf - h.lead;
    if (h.mapped)
        munmap(base, h.mapped);
    else
        free(base);
}
