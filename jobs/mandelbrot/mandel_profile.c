/* mandel_profile.c -- imbalance figures, the study's CSV files and plots.
 *
 * Every file goes through mr_out_open/mr_out_commit, one after the other,
 * so a failed or killed run leaves no half-written CSV. The plots are made
 * by running `gnuplot plots.gp` inside DIR (through /bin/sh, with DIR as a
 * positional parameter so that no quoting of the path is needed); gnuplot
 * writes its PNGs itself. If gnuplot is not installed, the CSVs and the
 * script are still there and a note says the plots were skipped.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "mandel_profile.h"

#include <errno.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define HIST_MAX_BINS (1 << 20)

int mandel_hist_init(mandel_hist *h, int32_t max_iter)
{
    int64_t values = (int64_t)max_iter + 1;
    h->width = (values + HIST_MAX_BINS - 1) / HIST_MAX_BINS;
    h->n = (size_t)((values + h->width - 1) / h->width);
    h->bins = calloc(h->n, sizeof *h->bins);
    return h->bins ? 0 : -1;
}

void mandel_hist_add(mandel_hist *h, const int32_t *counts, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t b = (size_t)(counts[i] / h->width);
        if (counts[i] >= 0 && b < h->n)
            h->bins[b]++;
    }
}

void mandel_hist_fini(mandel_hist *h)
{
    free(h->bins);
    h->bins = NULL;
}

void mandel_balance_fini(mandel_balance *b)
{
    free(b->busy);
    free(b->cpu);
    free(b->idle);
    free(b->tasks);
    free(b->pixels);
    free(b->iterations);
    memset(b, 0, sizeof *b);
}

int mandel_balance_init(mandel_balance *b, const mandel_task_rec *recs,
                        size_t ntasks, int nranks, int32_t width)
{
    size_t n = nranks > 0 ? (size_t)nranks : 1;
    double t0 = 0, t1 = 0;

    memset(b, 0, sizeof *b);
    b->nranks = nranks;
    b->busy = calloc(n, sizeof *b->busy);
    b->cpu = calloc(n, sizeof *b->cpu);
    b->idle = calloc(n, sizeof *b->idle);
    b->tasks = calloc(n, sizeof *b->tasks);
    b->pixels = calloc(n, sizeof *b->pixels);
    b->iterations = calloc(n, sizeof *b->iterations);
    if (!b->busy || !b->cpu || !b->idle || !b->tasks || !b->pixels ||
        !b->iterations)
        goto err;
    for (size_t i = 0; i < ntasks; i++) {
        const mandel_task_rec *r = &recs[i];
        if (r->rank < 0 || r->rank >= nranks)
            goto err;
        if (i == 0 || r->start < t0)
            t0 = r->start;
        if (i == 0 || r->end > t1)
            t1 = r->end;
        b->busy[r->rank] += r->end - r->start;
        b->cpu[r->rank] += r->cpu;
        b->tasks[r->rank]++;
        b->pixels[r->rank] += (int64_t)r->rows * width;
        b->iterations[r->rank] += r->iterations;
    }
    b->span = t1 - t0;
    double it_mean = 0, it_max = 0;
    for (int k = 0; k < nranks; k++) {
        it_mean += (double)b->iterations[k] / nranks;
        if ((double)b->iterations[k] > it_max)
            it_max = (double)b->iterations[k];
        b->idle[k] = b->span - b->busy[k];
        b->busy_mean += b->busy[k] / nranks;
        b->cpu_mean += b->cpu[k] / nranks;
        if (b->busy[k] > b->busy_max)
            b->busy_max = b->busy[k];
        if (b->cpu[k] > b->cpu_max)
            b->cpu_max = b->cpu[k];
    }
    b->imbalance = b->busy_mean > 0 ? b->busy_max / b->busy_mean : 1.0;
    b->imbalance_cpu = b->cpu_mean > 0 ? b->cpu_max / b->cpu_mean : 1.0;
    b->imbalance_iter = it_mean > 0 ? it_max / it_mean : 1.0;
    return 0;
err:
    mandel_balance_fini(b);
    return -1;
}

/* ---------------- files ---------------- */

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

/* Opens DIR/name through mr_out_open; NULL after an mr_error(). */
static FILE *open_in(mr_ctx *ctx, const char *dir, const char *name)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >=
        sizeof path) {
        mr_error(ctx, MR_EUSAGE, "%s/%s: path too long", dir, name);
        return NULL;
    }
    return mr_out_open(ctx, path);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The median cost of an empty clock_gettime pair, in ns. */
static double timer_overhead(void)
{
    double t[101];
    for (int i = 0; i < 101; i++) {
        double a = now_ns();
        t[i] = now_ns() - a;
    }
    qsort(t, 101, sizeof t[0], cmp_double);
    return t[50];
}

static int write_pixels(mr_ctx *ctx, const mandel_profile_in *in,
                        int64_t *samples)
{
    const mandel_view *v = in->view;
    FILE *f = open_in(ctx, in->dir, "pixel_times.csv");
    if (!f)
        return MR_EIO;
    fprintf(f, "row,col,count,ns\n");
    *samples = 0;
    for (int32_t k = 0; k < v->height; k += in->stride) {
        double cy = mandel_view_y(v, k);
        for (int32_t j = 0; j < v->width; j += in->stride) {
            double cx = mandel_view_x(v, j);
            int32_t n;
            double t0 = now_ns();
            mandel_kernel_scalar(&cx, cy, 1, v->max_iter, &n);
            double t1 = now_ns();
            fprintf(f, "%d,%d,%d,%.0f\n", k, j, n, t1 - t0);
            (*samples)++;
        }
    }
    return mr_out_commit(ctx);
}

static int write_iterations(mr_ctx *ctx, const mandel_profile_in *in)
{
    const mandel_hist *h = in->hist;
    FILE *f = open_in(ctx, in->dir, "iterations.csv");
    if (!f)
        return MR_EIO;
    fprintf(f, "lo,hi,pixels\n");
    for (size_t b = 0; b < h->n; b++) {
        if (h->bins[b])
            fprintf(f, "%lld,%lld,%llu\n", (long long)b * h->width,
                    (long long)(b + 1) * h->width - 1,
                    (unsigned long long)h->bins[b]);
    }
    return mr_out_commit(ctx);
}

static int write_tasks(mr_ctx *ctx, const mandel_profile_in *in)
{
    FILE *f = open_in(ctx, in->dir, "tasks.csv");
    if (!f)
        return MR_EIO;
    fprintf(f, "task,rank,first_row,rows,pixels,iterations,start_s,end_s,"
               "wall_s,cpu_s\n");
    for (size_t i = 0; i < in->ntasks; i++) {
        const mandel_task_rec *r = &in->recs[i];
        fprintf(f, "%zu,%d,%d,%d,%lld,%lld,%.9f,%.9f,%.9f,%.9f\n", i,
                r->rank, r->first_row, r->rows,
                (long long)r->rows * in->view->width,
                (long long)r->iterations, r->start, r->end,
                r->end - r->start, r->cpu);
    }
    return mr_out_commit(ctx);
}

static int write_ranks(mr_ctx *ctx, const mandel_profile_in *in,
                       const mandel_balance *b)
{
    FILE *f = open_in(ctx, in->dir, "ranks.csv");
    if (!f)
        return MR_EIO;
    fprintf(f, "rank,tasks,pixels,iterations,busy_s,cpu_s,idle_s\n");
    for (int k = 0; k < b->nranks; k++)
        fprintf(f, "%d,%lld,%lld,%lld,%.9f,%.9f,%.9f\n", k,
                (long long)b->tasks[k], (long long)b->pixels[k],
                (long long)b->iterations[k], b->busy[k], b->cpu[k],
                b->idle[k]);
    return mr_out_commit(ctx);
}

static int write_summary(mr_ctx *ctx, const mandel_profile_in *in,
                         const mandel_balance *b, int64_t samples,
                         double overhead)
{
    const mandel_view *v = in->view;
    FILE *f = open_in(ctx, in->dir, "summary.csv");
    if (!f)
        return MR_EIO;
    fprintf(f, "name,value\n");
    fprintf(f, "ranks,%d\n", in->nranks);
    fprintf(f, "width,%d\nheight,%d\nmax_iter,%d\n", v->width, v->height,
            v->max_iter);
    fprintf(f, "x0,%.17g\nx1,%.17g\ny0,%.17g\ny1,%.17g\n", v->x0, v->x1,
            v->y0, v->y1);
    fprintf(f, "tile,%d\ntasks,%zu\nkernel,%s\n", in->tile, in->ntasks,
            in->kernel);
    fprintf(f, "span_s,%.9f\n", b->span);
    fprintf(f, "busy_mean_s,%.9f\nbusy_max_s,%.9f\n", b->busy_mean,
            b->busy_max);
    fprintf(f, "cpu_mean_s,%.9f\ncpu_max_s,%.9f\n", b->cpu_mean, b->cpu_max);
    fprintf(f, "imbalance,%.4f\nimbalance_cpu,%.4f\nimbalance_iter,%.4f\n",
            b->imbalance, b->imbalance_cpu, b->imbalance_iter);
    fprintf(f, "mpixel_per_s,%.3f\n",
            b->span > 0 ? (double)v->width * v->height / b->span / 1e6 : 0);
    fprintf(f, "pixel_stride,%d\nsampled_pixels,%lld\n", in->stride,
            (long long)samples);
    fprintf(f, "timer_overhead_ns,%.0f\n", overhead);
    return mr_out_commit(ctx);
}

static int write_script(mr_ctx *ctx, const mandel_profile_in *in,
                        const mandel_balance *b, double overhead)
{
    FILE *f = open_in(ctx, in->dir, "plots.gp");
    if (!f)
        return MR_EIO;
    fprintf(f,
        "# plots.gp -- the plots of one mandelbrot --profile run;\n"
        "# rerun with: cd DIR && gnuplot plots.gp\n"
        "set terminal png size 1000,600\n"
        "set datafile separator ','\n"
        "set key autotitle columnhead\n"
        "set grid\n\n"
        "set output 'pixel_times.png'\n"
        "set multiplot layout 1,2 title 'Per-pixel time, scalar loop, "
        "every %dth pixel of every %dth row (timer overhead of %.0f ns "
        "included)' noenhanced\n"
        "set logscale x\n"
        "bw = 0.05\n"
        "bin(x) = 10**(bw*floor(log10(x > 1 ? x : 1)/bw))\n"
        "set xlabel 'ns per pixel (log)'\nset ylabel 'pixels'\n"
        "plot 'pixel_times.csv' using (bin($4)):(1) smooth frequency "
        "with histeps notitle\n"
        "set logscale y\nset xlabel 'iterations (log)'\n"
        "set ylabel 'ns per pixel (log)'\n"
        "plot 'pixel_times.csv' using 3:4 with dots notitle\n"
        "unset multiplot\nunset logscale\n\n"
        "set output 'iterations.png'\n"
        "set title 'Iteration counts of all %dx%d pixels (max-iter %d: "
        "inside the set)'\n"
        "set logscale y\nset xlabel 'iterations'\nset ylabel 'pixels "
        "(log)'\n"
        "plot 'iterations.csv' using 1:3 with impulses notitle\n"
        "unset logscale\n\n"
        "set output 'tasks.png'\n"
        "set title 'Per-task time (%zu tasks of %d rows) by first row, "
        "colour = rank'\nset key inside top right\n"
        "set xlabel 'first row'\nset ylabel 'ms'\n"
        "plot 'tasks.csv' using 3:($9*1000) with points pt 1 ps 0.5 "
        "lc rgb 'gray' title 'wall time', "
        "'' using 3:($10*1000):($2+1) with points pt 7 ps 0.6 "
        "lc variable title 'CPU time'\n\n"
        "set output 'ranks.png'\n"
        "set title sprintf('Time per rank over the map phase: imbalance "
        "(max/mean busy) %%.3f CPU, %%.3f wall', %.4f, %.4f)\n"
        "set style data histograms\nset style histogram rowstacked\n"
        "set style fill solid 0.8 border -1\nset boxwidth 0.7\n"
        "set xlabel 'rank'\nset ylabel 's'\nset yrange [0:*]\n"
        "set key outside\n"
        "plot 'ranks.csv' using 6:xtic(1) title 'busy: CPU in tasks', "
        "'' using ($5-$6) title 'busy: in tasks, off CPU', "
        "'' using 7 title 'idle: no task'\n",
        in->stride, in->stride, overhead, in->view->width,
        in->view->height, in->view->max_iter, in->ntasks, in->tile,
        b->imbalance_cpu, b->imbalance);
    return mr_out_commit(ctx);
}

/* Runs `gnuplot plots.gp` in dir. Returns 0, 127 if gnuplot is missing,
 * or another non-zero status. */
static int run_gnuplot(const char *dir)
{
    char *argv[] = {"sh", "-c",
                    "cd \"$1\" || exit 126; command -v gnuplot >/dev/null "
                    "|| exit 127; exec gnuplot plots.gp",
                    "sh", (char *)dir, NULL};
    pid_t pid;
    int status;

    if (posix_spawn(&pid, "/bin/sh", NULL, NULL, argv, environ) != 0)
        return 126;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return 126;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 126;
}

int mandel_profile_write(mr_ctx *ctx, const mandel_profile_in *in)
{
    mandel_balance b;
    int64_t samples = 0;
    int rc;

    if (mandel_balance_init(&b, in->recs, in->ntasks, in->nranks,
                            in->view->width) < 0)
        return mr_error(ctx, MR_ERROR, "profile: bad task records");
    double overhead = timer_overhead();
    if ((rc = write_pixels(ctx, in, &samples)) != MR_OK ||
        (rc = write_iterations(ctx, in)) != MR_OK ||
        (rc = write_tasks(ctx, in)) != MR_OK ||
        (rc = write_ranks(ctx, in, &b)) != MR_OK ||
        (rc = write_summary(ctx, in, &b, samples, overhead)) != MR_OK ||
        (rc = write_script(ctx, in, &b, overhead)) != MR_OK)
        goto out;
    int st = run_gnuplot(in->dir);
    if (st == 127)
        fprintf(stderr, "mandelbrot: gnuplot not found: wrote the CSV "
                        "files and plots.gp in %s, plots skipped\n",
                in->dir);
    else if (st != 0)
        fprintf(stderr, "mandelbrot: gnuplot failed (status %d); the CSV "
                        "files in %s are complete\n", st, in->dir);
out:
    mandel_balance_fini(&b);
    return rc;
}
