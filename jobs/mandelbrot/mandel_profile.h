/* mandel_profile.h -- the load-imbalance study of one run (--profile DIR).
 *
 * What a run knows by the time rank 0 reaches finish: one record per map
 * task (which rank ran it, when, for how long, how many iterations), and
 * the histogram of the counts of every pixel (rank 0 saw every row). From
 * those this writes, into DIR, CSV files and gnuplot plots:
 *
 *   pixel_times.csv  row,col,count,ns      per-pixel times, sampled
 *   iterations.csv   lo,hi,pixels          counts of all pixels
 *   tasks.csv        task,rank,first_row,rows,pixels,iterations,
 *                    start_s,end_s,wall_s,cpu_s
 *   ranks.csv        rank,tasks,pixels,iterations,busy_s,cpu_s,idle_s
 *   summary.csv      name,value            sizes, span, imbalance ratios
 *   plots.gp         the gnuplot script; *.png its plots
 *
 * Per-pixel times are measured here, on rank 0 after the run, with the
 * scalar loop, one clock_gettime pair per pixel, on every stride-th pixel
 * of every stride-th row: timing inside the map tasks would slow the very
 * tasks whose times the study compares, and 8 ranks sharing 2 cores would
 * put scheduler noise into every sample.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MANDEL_PROFILE_H
#define MANDEL_PROFILE_H

#include <mr/mr_job.h>

#include "mandel_kernel.h"

/* One map task, as map measured it (travels to rank 0 as a pair value). */
typedef struct mandel_task_rec {
    int32_t rank;
    int32_t first_row, rows;
    int32_t pad_;
    double start, end; /* mr_ctx_time() at the task's start and end */
    double cpu;        /* thread CPU seconds spent in the task */
    int64_t iterations;
} mandel_task_rec;

/* Histogram of pixel counts: bin b holds counts [b*width, (b+1)*width),
 * with width 1 (exact) unless max_iter is huge. */
typedef struct mandel_hist {
    uint64_t *bins;
    size_t n;
    int64_t width;
} mandel_hist;

int mandel_hist_init(mandel_hist *h, int32_t max_iter);
void mandel_hist_add(mandel_hist *h, const int32_t *counts, size_t n);
void mandel_hist_fini(mandel_hist *h);

/* Per-rank totals and the imbalance ratios (max/mean). busy is the sum of
 * task wall times, cpu the sum of task CPU times, idle = span - busy where
 * span runs from the first task's start to the last task's end.
 *
 * Three ratios, because this machine has 2 cores and the study runs up to
 * 8 ranks: imbalance (wall) is what a run with a core per rank feels, but
 * oversubscribed it also counts time a rank sat runnable without a core;
 * imbalance_cpu (CPU seconds in tasks) is the work each rank did, whatever
 * the sharing; imbalance_iter (iterations per rank) is the work in the
 * machine-independent unit, exact and repeatable for static schedules. */
typedef struct mandel_balance {
    int nranks;
    double span, busy_mean, busy_max, cpu_mean, cpu_max;
    double imbalance, imbalance_cpu, imbalance_iter;
    double *busy, *cpu, *idle; /* per rank */
    int64_t *tasks, *pixels, *iterations;
} mandel_balance;

/* Fills b from ntasks records of a run on nranks ranks. Free with
 * mandel_balance_fini. Returns 0, or -1 if a record names a bad rank. */
int mandel_balance_init(mandel_balance *b, const mandel_task_rec *recs,
                        size_t ntasks, int nranks, int32_t width);
void mandel_balance_fini(mandel_balance *b);

/* What mandel_profile_write needs. */
typedef struct mandel_profile_in {
    const char *dir;
    const mandel_view *view;
    const char *kernel;
    int32_t tile;
    int stride;
    int nranks;
    const mandel_task_rec *recs;
    size_t ntasks;
    const mandel_hist *hist;
} mandel_profile_in;

/* Writes the files above (each through mr_out_open/mr_out_commit) and runs
 * gnuplot on plots.gp; a missing gnuplot is a note on stderr, not an error.
 * Returns MR_OK or an mr_error() status. */
int mandel_profile_write(mr_ctx *ctx, const mandel_profile_in *in);

#endif /* MANDEL_PROFILE_H */
