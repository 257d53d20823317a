/* mr_progress.c -- the live progress report of the map phase.
 *
 * Rank 0 prints, on stderr, tasks done of total, input bytes, MB/s and an
 * ETA: rewritten in place about twice a second when stderr is a terminal,
 * as a plain line every 10 seconds when it is not (a batch job's log).
 * Nothing is printed for runs shorter than 2 seconds, nor with --quiet.
 * MR_PROGRESS_AFTER and MR_PROGRESS_INTERVAL (seconds) override the delay
 * and the interval (tests use them to see reports from short runs).
 *
 * How rank 0 knows: every rank puts its (tasks done, bytes read) pair into
 * its slot of a small window on rank 0 with MPI_Put, at most every 0.2 s
 * (time-gated, so a run with millions of tiny tasks pays for a clock read
 * per task, nothing more); rank 0 reads the window when it reports. Rank 0
 * reports between its own tasks, and under `master` between requests, so a
 * very long task on rank 0 delays the report, never the run.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

#include <stdio.h>
#include <unistd.h>

struct mr_progress {
    MPI_Win win;
    uint64_t *slots; /* rank 0: 2 per rank */
    int rank, nranks, tty, quiet;
    size_t ntasks;
    double start, last_put, last_print;
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

mr_progress *mr__progress_new(mr_ctx *ctx)
{
    mr_progress *p = g_new0(mr_progress, 1);
    p->rank = ctx->rank;
    p->nranks = ctx->nranks;
    p->ntasks = ctx->ntasks;
    p->quiet = ctx->cfg->quiet;
    p->tty = ctx->rank == 0 && isatty(STDERR_FILENO);
    MPI_Aint size = ctx->rank == 0 ? (MPI_Aint)(2 * sizeof(uint64_t)) *
                                         ctx->nranks
                                   : 0;
    MPI_Win_allocate(size, sizeof(uint64_t), MPI_INFO_NULL, ctx->comm,
                     &p->slots, &p->win);
    if (ctx->rank == 0)
        memset(p->slots, 0, (size_t)size);
    MPI_Barrier(ctx->comm); /* slots are zero before anyone puts */
    p->start = p->last_put = p->last_print = mr__now(ctx);
    p->after = env_seconds("MR_PROGRESS_AFTER", 2.0);
    p->interval = env_seconds("MR_PROGRESS_INTERVAL", p->tty ? 0.5 : 10.0);
    return p;
}

static void put(mr_progress *p, mr_ctx *ctx, uint64_t done)
{
    uint64_t v[2] = {done, ctx->bytes_in};
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, p->win);
    MPI_Put(v, 2, MPI_UINT64_T, 0, (MPI_Aint)2 * p->rank, 2, MPI_UINT64_T,
            p->win);
    MPI_Win_unlock(0, p->win);
}

static void report(mr_progress *p, double now, int final)
{
    uint64_t done = 0, bytes = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, p->win);
    for (int r = 0; r < p->nranks; r++) {
        done += p->slots[2 * r];
        bytes += p->slots[2 * r + 1];
    }
    MPI_Win_unlock(0, p->win);
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
    double now = mr__now(ctx);
    if (now - p->last_put >= (p->interval < 0.2 ? p->interval : 0.2)) {
        put(p, ctx, done);
        p->last_put = now;
    }
    if (p->rank != 0 || p->quiet || now - p->start < p->after)
        return;
    if (now - p->last_print >= p->interval) {
        report(p, now, 0);
        p->last_print = now;
    }
}

/* Collective: final counts, the closing line if anything was printed. */
void mr__progress_free(mr_progress *p, mr_ctx *ctx, uint64_t done)
{
    if (!p)
        return;
    put(p, ctx, done);
    MPI_Barrier(ctx->comm);
    if (p->rank == 0 && p->printed && !p->quiet)
        report(p, mr__now(ctx), 1);
    MPI_Win_free(&p->win);
    g_free(p);
}
