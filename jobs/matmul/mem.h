/* mem.h -- matmul's big buffers: tiles, C blocks, block-rows.
 *
 * Shared with the benchmark's baseline (tools/bench/matmul), so that the
 * one-process cblas_dgemm it is held to gets its C the way the job does.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_MEM_H
#define MM_MEM_H

#include <stddef.h>

/* What pages a big buffer wants. */
typedef enum mm_pages {
    MM_PAGES_SMALL, /* 4 KiB pages: the operand tiles */
    MM_PAGES_HUGE,  /* transparent huge pages where allowed: C */
} mm_pages;

/* A buffer of `bytes`, 16-byte aligned. From 1 MiB up it is its own
 * mapping, its pages faulted in up front, and the data 64-byte aligned
 * (2 MiB aligned on huge pages). Aborts when out of memory. Free with
 * mm_free_big() (accepts NULL). */
void *mm_alloc_big(size_t bytes, mm_pages pages);
void mm_free_big(void *buf);

#endif /* MM_MEM_H */
