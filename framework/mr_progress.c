/* mr_progress.c -- the live progress report of the map phase.
 *
 * Rank 0 prints, on stderr, tasks done of total, input bytes, MB/s and an
 * ETA: rewritten in place about twice a second when stderr is a terminal,
 * as a plain line every 10 seconds when it is not (a batch job's log).
 * Nothing is printed for runs shorter than 2 seconds, nor with --quiet.
 * MR_PROGRESS_AFTER and MR_PROGRESS_INTERVAL (seconds) override the delay
 * and the interval (tests use them to see reports from short runs).
 *
 * How rank 0 knows: every rank stores its (tasks done, bytes read) after
 * each task for its monitor thread, which sends them with its heartbeat
 * once a second (mr_monitor.c); rank 0 sums what it last heard. Rank 0's
 * monitor thread prints the line, so it comes on time while rank 0 runs a
 * long task or waits for the others; without the thread (one rank) the
 * main thread prints it between tasks. The closing line has the exact
 * totals, from a reduction.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_monitor.h"
#include "mr_mpierr.h"
#include "mr_progress.h"

#include <stdio.h>
#include <unistd.h>

struct mr_progress {
    mr_monitor *monitor;
    const mr_ctx *ctx;
    int rank, tty, quiet, threaded;
    size_t ntasks;
    double start, last_print;
    double after, interval;
    int printed;
};

static double env_seconds(const char *name, double fallback)
{
    const char *v = g_getenv(name);
    char *end;
    double d = v ? g_ascii_strtod(v, &end) : 0;
    return v && end != v && d >= 0 ? d : fallback;
}

static void due(void *arg);

mr_progress *mr__progress_new(mr_ctx *ctx)
{
    mr_progress *p = g_new0(mr_progress, 1);
    p->monitor = ctx->monitor;
    p->rank = ctx->rank;
    p->ntasks = ctx->pipe->tasks.n;
    p->quiet = ctx->cfg->quiet;
    p->tty = ctx->rank == 0 && isatty(STDERR_FILENO);
    mr__monitor_set_counts(p->monitor, 0, ctx->bytes_in);
    p->ctx = ctx;
    p->start = p->last_print = mr__now(ctx);
    p->after = env_seconds("MR_PROGRESS_AFTER", 2.0);
    p->interval = env_seconds("MR_PROGRESS_INTERVAL", p->tty ? 0.5 : 10.0);
    p->threaded = mr__monitor_threaded(p->monitor);
    if (p->threaded && p->rank == 0 && !p->quiet)
        mr__monitor_set_report(p->monitor, due, p, 0.05);
    return p;
}

static void report(mr_progress *p, double now, int final, uint64_t done,
                   uint64_t bytes);

/* Prints the line if one is due (rank 0's monitor thread, or its main
 * thread at one rank). */
static void due(void *arg)
{
    mr_progress *p = arg;
    double now = mr__now(p->ctx);
    if (now - p->start >= p->after && now - p->last_print >= p->interval) {
        uint64_t all_done, all_bytes;
        mr__monitor_counts(p->monitor, &all_done, &all_bytes);
        report(p, now, 0, all_done, all_bytes);
        p->last_print = now;
    }
}

static void report(mr_progress *p, double now, int final, uint64_t done,
                   uint64_t bytes)
{
    double el = now - p->start, mbs = el > 0 ? (double)bytes / el / 1e6 : 0;
    char eta[32] = "?";
    if (done > 0 && done < p->ntasks)
        g_snprintf(eta, sizeof eta, "%.0f s",
                   el * (double)(p->ntasks - done) / (double)done);
    else if (done >= p->ntasks)
        g_strlcpy(eta, "0 s", sizeof eta);
    fprintf(stderr, "%smr: map %llu/%zu tasks, %.1f MB, %.1f MB/s, ETA %s%s",
            p->tty ? "\r" : "", (unsigned long long)done, p->ntasks,
            (double)bytes / 1e6, mbs, eta,
            p->tty && !final ? "   " : "\n");
    fflush(stderr);
    p->printed = 1;
}

void mr__progress_tick(mr_progress *p, mr_ctx *ctx, uint64_t done)
{
    if (!p)
        return;
    mr__monitor_set_counts(p->monitor, done, ctx->bytes_in);
    if (p->rank == 0 && !p->quiet && !p->threaded)
        due(p);
}

/* Collective: final counts, the closing line if anything was printed. */
void mr__progress_free(mr_progress *p, mr_ctx *ctx, uint64_t done)
{
    if (!p)
        return;
    if (p->threaded && p->rank == 0 && !p->quiet)
        mr__monitor_set_report(p->monitor, NULL, NULL, 0);
    uint64_t mine[2] = {done, ctx->bytes_in}, all[2] = {0, 0};
    MR_MPI(MPI_Reduce(mine, all, 2, MPI_UINT64_T, MPI_SUM, 0, ctx->comm));
    if (p->rank == 0 && p->printed && !p->quiet)
        report(p, mr__now(ctx), 1, all[0], all[1]);
    g_free(p);
}
