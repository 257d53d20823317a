/* mandel_bench.c -- Mpixel/s of one core: the plain C loop, or a kernel.
 *
 *   mandel-bench [--width W] [--height H] [--max-iter M] [--kernel K]
 *
 * K is "plain" (the baseline: the textbook loop below, self-contained,
 * compiled with the project's default flags and nothing else), or one of
 * the job's kernels (auto, avx512, avx2, sse2, scalar) called row by row
 * exactly as the job's map does. Prints one line:
 *   KERNEL LANES Mpixel/s SECONDS SUM-OF-COUNTS CPU-SECONDS
 * so that a script can check that every variant computed the same image,
 * and, on a shared machine, compare CPU time rather than wall time.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "mandel_kernel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* The baseline: the course's serial plotter, as anyone would write it. */
static long long plain(int w, int h, int max_iter)
{
    long long sum = 0;
    for (int k = 0; k < h; k++) {
        double y = -1.0 + k * (1.0 - -1.0) / h;
        for (int j = 0; j < w; j++) {
            double x = -2.0 + j * (1.0 - -2.0) / w;
            double zr = 0, zi = 0;
            int n = 0;
            while (n < max_iter && zr * zr + zi * zi < 4.0) {
                double t = zr * zr - zi * zi + x;
                zi = 2.0 * zr * zi + y;
                zr = t;
                n++;
            }
            sum += n;
        }
    }
    return sum;
}

static long long with_kernel(const mandel_kernel *kern, int w, int h,
                             int max_iter)
{
    mandel_view v = {-2.0, 1.0, -1.0, 1.0, w, h, max_iter};
    double *cx = malloc((size_t)w * sizeof *cx);
    int32_t *row = malloc((size_t)w * sizeof *row);
    long long sum = 0;

    for (int j = 0; j < w; j++)
        cx[j] = mandel_view_x(&v, j);
    for (int k = 0; k < h; k++) {
        kern->fn(cx, mandel_view_y(&v, k), (size_t)w, max_iter, row);
        for (int j = 0; j < w; j++)
            sum += row[j];
    }
    free(cx);
    free(row);
    return sum;
}

int main(int argc, char **argv)
{
    int w = 4096, h = 4096, max_iter = 1000;
    const char *kname = "auto";

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--width"))
            w = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--height"))
            h = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--max-iter"))
            max_iter = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--kernel"))
            kname = argv[i + 1];
        else {
            fprintf(stderr, "mandel-bench: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (w < 1 || h < 1 || max_iter < 1) {
        fprintf(stderr, "mandel-bench: sizes and --max-iter must be >= 1\n");
        return 2;
    }
    const mandel_kernel *kern = NULL;
    if (strcmp(kname, "plain") && !(kern = mandel_kernel_get(kname))) {
        fprintf(stderr, "mandel-bench: kernel %s: unknown or unsupported\n",
                kname);
        return 2;
    }
    double t0 = clock_s(CLOCK_MONOTONIC);
    double c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    long long sum = kern ? with_kernel(kern, w, h, max_iter)
                         : plain(w, h, max_iter);
    double t = clock_s(CLOCK_MONOTONIC) - t0;
    double c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    printf("%s %d %.2f %.3f %lld %.3f\n", kern ? kern->name : "plain",
           kern ? kern->lanes : 1, (double)w * h / t / 1e6, t, sum, c);
    return 0;
}
