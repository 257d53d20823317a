/* plan.h -- how matmul cuts C = A * B into map tasks, and what it costs.
 *
 * C (m x n) is cut into blocks of `block` x `block` elements (the last
 * block-row and block-column are smaller when block does not divide m or
 * n). A task computes one block, C[i, j] = A[i, :] * B[:, j], from a row
 * panel of A and a column panel of B. With --split-k S, k is cut into S
 * chunks as well and a task computes one partial block A[i, kc] * B[kc, j];
 * reduce adds the S partials of a block in chunk order. Within a task, the
 * product runs over k in tiles of MM_KSTEP (below).
 *
 * Errors here are usage errors (MR_EUSAGE, exit 2): sizes that are not
 * positive, do not fit the BLAS interface (int) or the engine's value size,
 * a block larger than the matrix, and sizes that would not fit in memory.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_PLAN_H
#define MM_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "mr/mr_job.h"

/* The block edge when --block is not given: the largest of 2048, 1024,
 * 512, 256 that still cuts C into at least 4 blocks (so 2 ranks get 2
 * tasks each), clamped to the matrix. Measured here (single-thread
 * OpenBLAS, k = 4096, best of 5): a 2048 x k times k x 2048 dgemm runs at
 * 99% of the rate of one 4096^3 call, 1024 at 91%, 512 at 82%: every task
 * packs all of its A and B panels, a cost that grows as 1/block. The
 * default cannot depend on the number of ranks: the block size can change
 * the last bits of C, which must not. */
#define MM_BLOCK_MAX 2048
#define MM_BLOCK_MIN_DEFAULT 256
#define MM_BLOCKS_WANTED 4

/* OPTIMIZATION: the depth of a tile along k. A block's product is one
 * dgemm per k tile (beta 1 after the first) instead of one call on whole
 * panels, so the operands of a generated task take two tiles of memory
 * (2 x 2048 x 256 doubles: 8 MiB) instead of a row panel of A and all of
 * B (224 MiB at n = 4096 on one rank), memory that would be fresh pages
 * faulted in at about 0.25 ms per MiB on this project's VM; and each tile
 * is made just before OpenBLAS packs it, while it is still in cache.
 * Measured (one process, n = 4096, block 2048, best of 4): making the
 * operands 0.084 s as whole panels, 0.051 s as 256-deep tiles (0.037 s at
 * 128, 0.068 s at 512), and the dgemm calls as fast as one call per block
 * within noise; at n = 2048 (block 1024) the total went 0.231 -> 0.207 s. */
#define MM_KSTEP 256

/* The engine keeps a value under this size (MR_MAX_ITEM), and a C block is
 * one value. */
#define MM_VALUE_MAX ((uint64_t)256 << 20)

typedef struct mm_plan {
    uint64_t m, k, n;       /* C is m x n, A is m x k, B is k x n */
    uint64_t block;         /* edge of a C block */
    uint64_t kchunk;        /* k elements per task: k unless split */
    uint32_t nbi, nbj, nkc; /* blocks along m, along n, chunks along k */
} mm_plan;

/* One map task: block (i, j) of C, k chunk kc. */
typedef struct mm_task {
    uint32_t i, j, kc;
} mm_task;

#define MM_TASK_BYTES 12

/* More map tasks than this is a mistake of size (the task list alone would
 * take gigabytes), refused before any work. */
#define MM_TASKS_MAX 10000000

/* Fills p from the sizes. block 0 means the default (see above); a given
 * block larger than both m and n is refused. split is
 * the number of k chunks (0 or 1: k is not split). Returns MR_OK or
 * MR_EUSAGE with a message in err. */
int mm_plan_init(mm_plan *p, long m, long k, long n, long block, long split,
                 char *err, size_t errlen);

/* Rows of block-row i, columns of block-column j; first k index and
 * depth of chunk kc. */
uint64_t mm_plan_rows(const mm_plan *p, uint32_t i);
uint64_t mm_plan_cols(const mm_plan *p, uint32_t j);
uint64_t mm_plan_k0(const mm_plan *p, uint32_t kc);
uint64_t mm_plan_depth(const mm_plan *p, uint32_t kc);

uint64_t mm_plan_ntasks(const mm_plan *p);
/* Task number t in split order: i major, then j, then kc. */
mm_task mm_plan_task(const mm_plan *p, uint64_t t);
/* Floating-point operations of a task: 2 * rows * cols * depth. */
double mm_plan_flops(const mm_plan *p, mm_task t);

void mm_task_encode(mm_task t, unsigned char out[MM_TASK_BYTES]);
/* Returns MR_OK, or MR_EINVAL if d is not a task of this plan. */
int mm_task_decode(const mm_plan *p, mr_bytes d, mm_task *t);

/* What a run will hold in memory, in bytes. */
typedef struct mm_memory {
    double matrices; /* A + B */
    double c;        /* C */
    double root;     /* rank 0's peak, by the plan below */
    double other;    /* any other rank's peak (now the same as root) */
} mm_memory;

/* What every rank's tile caches keep (block.h). */
typedef enum mm_keep {
    MM_KEEP_LAST,  /* generated operands: the last tile of A and of B */
    MM_KEEP_ROW,   /* files: a block-row of A, the last tile of B */
    MM_KEEP_ROW_B, /* files: a block-row of A and all of B */
} mm_keep;

/* Estimates peak memory per rank: the tiles kept, one C block, and with
 * gather (--out or --verify), the rank's share of C on its way through
 * reduce and the output phase; verify: each rank's reference products for
 * its rows. No rank holds all of C: root and other are the same. */
mm_memory mm_plan_memory(const mm_plan *p, int nranks, mm_keep keep, int gather,
                         int verify);

/* Formats a byte count as "12.3 GiB". Returns buf. */
char *mm_format_bytes(double bytes, char *buf, size_t cap);

#endif /* MM_PLAN_H */
