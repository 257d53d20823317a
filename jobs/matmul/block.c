/* block.c -- one block of C: its operand tiles and their product.
 *
 * See block.h for the tiles and their caches. The product calls
 * cblas_dgemm once per k tile on dense row-major tiles, adding into C
 * after the first: no transposes, and the same calls in the same order
 * with the same operands on whichever rank runs the task, so a block's
 * bits do not depend on the number of ranks or the schedule. They may
 * depend on the block size and on the number of BLAS threads (OpenBLAS
 * blocks the product differently for each; measured: both change the last
 * bits), on the k tile depth (MM_KSTEP), and on the CPU, since OpenBLAS
 * picks its kernels at run time: ranks on different CPU models could
 * disagree in the last bit.
 */
/* SPDX-License-Identifier: MIT */
#include "block.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gen.h"
#include "mem.h"
#include "mr/mr_job.h"

double mm_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---------------- sources ---------------- */

void mm_source_gen(mm_source *s, uint64_t seed, int mat, uint64_t rows,
                   uint64_t cols)
{
    memset(s, 0, sizeof *s);
    s->file.fd = -1;
    s->seed = seed;
    s->mat = mat;
    s->rows = rows;
    s->cols = cols;
}

int mm_source_open(mm_source *s, const char *path, char *err, size_t errlen)
{
    memset(s, 0, sizeof *s);
    int rc = npy_open(&s->file, path, err, errlen);
    if (rc != MR_OK)
        return rc;
    s->rows = s->file.info.rows;
    s->cols = s->file.info.cols;
    return MR_OK;
}

void mm_source_fini(mm_source *s)
{
    npy_close(&s->file);
}

int mm_source_read(const mm_source *s, uint64_t r0, size_t nr, uint64_t c0,
                   size_t nc, double *dst, size_t ld, char *err, size_t errlen)
{
    if (s->file.fd >= 0)
        return npy_read_block(&s->file, r0, nr, c0, nc, dst, ld, err, errlen);
    mm_gen_block(s->seed, s->mat, r0, nr, c0, nc, dst, ld);
    return MR_OK;
}

/* ---------------- panels ---------------- */

void mm_panels_init(mm_panels *p, const mm_source *src, uint64_t tr,
                    uint64_t tc, mm_cache cache)
{
    memset(p, 0, sizeof *p);
    p->src = src;
    p->tr = tr;
    p->tc = tc;
    p->ntr = (size_t)((src->rows + tr - 1) / tr);
    p->ntc = (size_t)((src->cols + tc - 1) / tc);
    p->cache = cache;
    p->nslots = cache == MM_CACHE_ALL   ? p->ntr * p->ntc
                : cache == MM_CACHE_ROW ? p->ntc
                                        : 1;
    p->slots = calloc(p->nslots, sizeof *p->slots);
    p->held = malloc(p->nslots * sizeof *p->held);
    if (!p->slots || !p->held)
        abort();
    for (size_t s = 0; s < p->nslots; s++)
        p->held[s] = SIZE_MAX;
}

void mm_panels_fini(mm_panels *p)
{
    for (size_t s = 0; p->slots && s < p->nslots; s++)
        mm_free_big(p->slots[s]);
    free(p->slots);
    free(p->held);
    p->slots = NULL;
    p->held = NULL;
}

int mm_panels_get(mm_panels *p, size_t ti, size_t tj, const double **tile,
                  size_t *rows, size_t *cols, char *err, size_t errlen)
{
    uint64_t r0 = (uint64_t)ti * p->tr, c0 = (uint64_t)tj * p->tc;
    size_t id = ti * p->ntc + tj;
    size_t s = p->cache == MM_CACHE_ALL   ? id
               : p->cache == MM_CACHE_ROW ? tj
                                          : 0;

    *rows = (size_t)(p->src->rows - r0 < p->tr ? p->src->rows - r0 : p->tr);
    *cols = (size_t)(p->src->cols - c0 < p->tc ? p->src->cols - c0 : p->tc);
    if (p->held[s] != id) {
        double t0 = mm_now();
        if (!p->slots[s])
            p->slots[s] =
                mm_alloc_big((size_t)(p->tr * p->tc * 8), MM_PAGES_SMALL);
        p->held[s] = SIZE_MAX;
        int rc = mm_source_read(p->src, r0, *rows, c0, *cols, p->slots[s],
                                *cols, err, errlen);
        if (rc != MR_OK)
            return rc;
        p->held[s] = id;
        p->made++;
        p->seconds += mm_now() - t0;
    }
    *tile = p->slots[s];
    return MR_OK;
}

/* ---------------- product ---------------- */

int mm_block_product(mm_panels *a, mm_panels *b, size_t i, size_t j,
                     uint64_t k0, uint64_t depth, double *c,
                     double *gemm_seconds, char *err, size_t errlen)
{
    uint64_t kt = a->tc, end = k0 + depth;
    if (kt != b->tr)
        abort(); /* A's tile columns must be B's tile rows */
    for (uint64_t k = k0; k < end;) {
        size_t t = (size_t)(k / kt), off = (size_t)(k - t * kt);
        const double *ta, *tb;
        size_t m, kw, kw2, n;
        int rc = mm_panels_get(a, i, t, &ta, &m, &kw, err, errlen);
        if (rc == MR_OK)
            rc = mm_panels_get(b, t, j, &tb, &kw2, &n, err, errlen);
        if (rc != MR_OK)
            return rc;
        if (kw != kw2)
            abort();
        /* The part of this k tile inside [k0, end): a chunk of --split-k
         * may start or end inside a tile. */
        size_t step = (size_t)(end - k < kw - off ? end - k : kw - off);
        double t0 = mm_now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n,
                    (int)step, 1.0, ta + off, (int)kw, tb + off * n, (int)n,
                    k == k0 ? 0.0 : 1.0, c, (int)n);
        *gemm_seconds += mm_now() - t0;
        k += step;
    }
    return MR_OK;
}

/* OPTIMIZATION: eight running sums, lane = column mod 8, combined in a
 * fixed tree at the end: eight independent addition chains instead of one
 * (a single chain costs an add latency per element: 25 ms per 2048^2
 * block here), and still a fixed order, so the same bits on every rank. */
void mm_block_checksum(const double *c, size_t rows, size_t cols, size_t ld,
                       double *sum, double *sumsq)
{
    double s[8] = {0}, q[8] = {0};
    for (size_t r = 0; r < rows; r++) {
        const double *x = c + r * ld;
        size_t i = 0;
        for (; i + 8 <= cols; i += 8)
            for (size_t l = 0; l < 8; l++) {
                s[l] += x[i + l];
                q[l] += x[i + l] * x[i + l];
            }
        for (; i < cols; i++) {
            s[i & 7] += x[i];
            q[i & 7] += x[i] * x[i];
        }
    }
    *sum = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
    *sumsq = ((q[0] + q[1]) + (q[2] + q[3])) + ((q[4] + q[5]) + (q[6] + q[7]));
}
