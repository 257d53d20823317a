/* plan.c -- the block decomposition of matmul and its memory estimate.
 *
 * The memory estimate follows the data: every rank holds its tile caches
 * (one tile of A and one of B for generated operands; a block-row of A,
 * and all of B or one tile of it, for files) and one C block. When
 * C is gathered (--out, --verify), rank 0 receives every C block (or every
 * partial block with --split-k) from the shuffle, and the engine copies
 * them once more for reduce's output and once for the sort before output,
 * so rank 0 peaks near 3 copies of C, plus the block-row the job assembles
 * for the file (all of C with --verify, which also needs A, B, the
 * reference product and |A||B|). Without gathering, only two doubles per
 * block travel. The figures are estimates meant to refuse a run that
 * cannot fit before it starts, not to pack memory tightly.
 */
/* SPDX-License-Identifier: MIT */
#include "plan.h"

#include <limits.h>
#include <stdio.h>

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

int mm_plan_init(mm_plan *p, long m, long k, long n, long block, long split,
                 char *err, size_t errlen)
{
    if (m <= 0 || k <= 0 || n <= 0) {
        snprintf(err, errlen, "sizes must be positive (m %ld, k %ld, n %ld)", m,
                 k, n);
        return MR_EUSAGE;
    }
    if (m > INT_MAX || k > INT_MAX || n > INT_MAX) {
        snprintf(err, errlen,
                 "sizes must be at most %d (the BLAS interface takes int): "
                 "--m %ld --k %ld --n %ld",
                 INT_MAX, m, k, n);
        return MR_EUSAGE;
    }
    long big = m > n ? m : n;
    if (block < 0) {
        snprintf(err, errlen, "--block must be positive, not %ld", block);
        return MR_EUSAGE;
    }
    if (block > big) {
        snprintf(err, errlen,
                 "--block %ld is larger than the matrix: C is %ld x %ld", block,
                 m, n);
        return MR_EUSAGE;
    }
    if (block == 0) {
        block = MM_BLOCK_MAX;
        while (block > MM_BLOCK_MIN_DEFAULT &&
               ((m + block - 1) / block) * ((n + block - 1) / block) <
                   MM_BLOCKS_WANTED)
            block /= 2;
        if (block > big)
            block = big;
    }
    uint64_t vbytes = min_u64((uint64_t)block, (uint64_t)m) *
                      min_u64((uint64_t)block, (uint64_t)n) * 8;
    if (vbytes >= MM_VALUE_MAX) {
        snprintf(err, errlen,
                 "--block %ld makes C blocks of %llu MiB: the engine moves "
                 "values under %llu MiB",
                 block, (unsigned long long)(vbytes >> 20),
                 (unsigned long long)(MM_VALUE_MAX >> 20));
        return MR_EUSAGE;
    }
    if (split < 0 || split > k) {
        snprintf(err, errlen,
                 "--split-k %ld: k (%ld) can be cut into 1 to %ld chunks",
                 split, k, k);
        return MR_EUSAGE;
    }
    if (split == 0)
        split = 1;
    p->m = (uint64_t)m;
    p->k = (uint64_t)k;
    p->n = (uint64_t)n;
    p->block = (uint64_t)block;
    p->kchunk = ((uint64_t)k + (uint64_t)split - 1) / (uint64_t)split;
    p->nbi = (uint32_t)((p->m + p->block - 1) / p->block);
    p->nbj = (uint32_t)((p->n + p->block - 1) / p->block);
    p->nkc = (uint32_t)((p->k + p->kchunk - 1) / p->kchunk);
    double tasks = (double)p->nbi * p->nbj * p->nkc;
    if (tasks > MM_TASKS_MAX) {
        snprintf(err, errlen,
                 "--m %ld --n %ld with --block %llu%s makes %.3g map tasks; "
                 "at most %.0e (use a larger --block%s)",
                 m, n, (unsigned long long)p->block,
                 split > 1 ? " and --split-k" : "", tasks,
                 (double)MM_TASKS_MAX, split > 1 ? " or a smaller --split-k" : "");
        return MR_EUSAGE;
    }
    return MR_OK;
}

uint64_t mm_plan_rows(const mm_plan *p, uint32_t i)
{
    return min_u64(p->block, p->m - (uint64_t)i * p->block);
}

uint64_t mm_plan_cols(const mm_plan *p, uint32_t j)
{
    return min_u64(p->block, p->n - (uint64_t)j * p->block);
}

uint64_t mm_plan_k0(const mm_plan *p, uint32_t kc)
{
    return (uint64_t)kc * p->kchunk;
}

uint64_t mm_plan_depth(const mm_plan *p, uint32_t kc)
{
    return min_u64(p->kchunk, p->k - mm_plan_k0(p, kc));
}

uint64_t mm_plan_ntasks(const mm_plan *p)
{
    return (uint64_t)p->nbi * p->nbj * p->nkc;
}

mm_task mm_plan_task(const mm_plan *p, uint64_t t)
{
    mm_task r;
    r.kc = (uint32_t)(t % p->nkc);
    t /= p->nkc;
    r.j = (uint32_t)(t % p->nbj);
    r.i = (uint32_t)(t / p->nbj);
    return r;
}

double mm_plan_flops(const mm_plan *p, mm_task t)
{
    return 2.0 * (double)mm_plan_rows(p, t.i) * (double)mm_plan_cols(p, t.j) *
           (double)mm_plan_depth(p, t.kc);
}

void mm_task_encode(mm_task t, unsigned char out[MM_TASK_BYTES])
{
    mr_put_be32(out, t.i);
    mr_put_be32(out + 4, t.j);
    mr_put_be32(out + 8, t.kc);
}

int mm_task_decode(const mm_plan *p, mr_bytes d, mm_task *t)
{
    if (d.len != MM_TASK_BYTES)
        return MR_EINVAL;
    t->i = mr_get_be32(d.ptr);
    t->j = mr_get_be32((const unsigned char *)d.ptr + 4);
    t->kc = mr_get_be32((const unsigned char *)d.ptr + 8);
    return t->i < p->nbi && t->j < p->nbj && t->kc < p->nkc ? MR_OK : MR_EINVAL;
}

mm_memory mm_plan_memory(const mm_plan *p, int nranks, mm_keep keep, int gather,
                         int verify)
{
    mm_memory r;
    double m = (double)p->m, k = (double)p->k, n = (double)p->n;
    double b = (double)p->block, kt = k < MM_KSTEP ? k : MM_KSTEP;
    double bi = b < m ? b : m, bj = b < n ? b : n;
    double panels = keep == MM_KEEP_LAST  ? 8 * kt * (bi + bj)
                    : keep == MM_KEEP_ROW ? 8 * bi * k + 8 * kt * bj
                                          : 8 * bi * k + 8 * k * n;
    double cblock = 8 * bi * bj;
    double P = nranks > 0 ? nranks : 1;

    /* The task list is on every rank (the engine keeps a record of about
     * 48 bytes a task), and so is the table of block checksums that
     * output_end adds up over the ranks (16 bytes a block, twice: the
     * table and the sum's buffer). */
    double tasks = (double)p->nbi * p->nbj * p->nkc;
    r.matrices = 8 * (m * k + k * n);
    r.c = 8 * m * n;
    r.other = panels + cblock + 48 * tasks + 32.0 * p->nbi * p->nbj;
    if (gather) {
        /* A rank's share of C: its blocks (all their partial blocks)
         * sent and received for its block-rows, the rows reduce emits,
         * the output sort's two copies, the part in memory until the
         * commit; and one block-row being assembled. */
        double parts = p->nkc;
        r.other += r.c * (2 * parts + 4) / P + 8 * bi * n;
    }
    /* --verify: every rank checks its rows against a band of A times B
     * (two copies of B, two band products), holding its rows of C. */
    if (verify)
        r.other += 8 * (bi * k + 2 * k * n + 2 * bi * n) + r.c / P;
    r.root = r.other;
    return r;
}

char *mm_format_bytes(double bytes, char *buf, size_t cap)
{
    static const char *const units[] = {"bytes", "KiB", "MiB", "GiB",
                                        "TiB",   "PiB", "EiB"};
    int u = 0;
    while (bytes >= 1024 && u < 6) {
        bytes /= 1024;
        u++;
    }
    snprintf(buf, cap, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
    return buf;
}
