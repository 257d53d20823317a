/* mm_baseline.c -- the baseline of the matmul benchmark: one process, one
 * cblas_dgemm call on whole n x n matrices, T OpenBLAS threads.
 *
 *   mm-baseline N THREADS [REPS]
 *
 * A and B are made with matmul's generator (seed 1, the job's default).
 * C comes from the job's own allocator (jobs/matmul/mem.h): on huge pages,
 * as the job's C blocks are (the whole-matrix dgemm is 3-5% faster
 * for it here), faulted in before the clock starts. One small call first
 * brings OpenBLAS's buffers and threads up. Then REPS (default 3) timed
 * calls, one line each:
 *   n N threads T: S s G GFLOP/s (making A and B took X s, untimed)
 * Only the dgemm is timed: this is the rate the job's total is held to.
 * X (one thread, pages faulted in on first touch) is printed so that the
 * job's own panel time can be set against it.
 */
/* SPDX-License-Identifier: MIT */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gen.h"
#include "mem.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: mm-baseline N THREADS [REPS]\n");
        return 2;
    }
    int n = atoi(argv[1]), threads = atoi(argv[2]);
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    if (n <= 0 || threads <= 0 || reps <= 0) {
        fprintf(stderr, "mm-baseline: N, THREADS and REPS must be positive\n");
        return 2;
    }
    size_t nn = (size_t)n * (size_t)n;
    double *a = malloc(nn * 8), *b = malloc(nn * 8);
    double *c = mm_alloc_big(nn * 8, MM_PAGES_HUGE);
    if (!a || !b || !c) {
        fprintf(stderr, "mm-baseline: out of memory\n");
        return 1;
    }
    openblas_set_num_threads(threads);
    double g0 = now();
    mm_gen_block(1, MM_GEN_A, 0, (size_t)n, 0, (size_t)n, a, (size_t)n);
    mm_gen_block(1, MM_GEN_B, 0, (size_t)n, 0, (size_t)n, b, (size_t)n);
    double gen = now() - g0;
    int w = n < 256 ? n : 256;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, w, w, w, 1.0, a, n,
                b, n, 0.0, c, n);
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0, a,
                    n, b, n, 0.0, c, n);
        double s = now() - t0;
        printf("n %d threads %d: %.4f s %.2f GFLOP/s (making A and B "
               "took %.4f s, untimed)\n",
               n, threads, s, 2.0 * n * (double)n * n / s * 1e-9, gen);
        fflush(stdout);
    }
    free(a);
    free(b);
    mm_free_big(c);
    return 0;
}
