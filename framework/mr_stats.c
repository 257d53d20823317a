/* mr_stats.c -- phase timers, per-task records and the --stats table.
 *
 * Every rank times each phase and each map task on a clock aligned at the
 * start of the run (mr_engine.c). --stats gathers them on rank 0 and
 * prints, per phase, the min / mean / max over ranks, the pairs and bytes
 * moved, and the imbalance of the map phase: max / mean of the ranks' busy
 * time (the sum of their task times). The gathers happen after the run's
 * output, so they never delay it.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

#include <stdio.h>

enum { NV = MR_PH_COUNT + 5 };

void mr__stats_report(mr_ctx *ctx)
{
    double mine[NV] = {0};
    for (int p = 0; p < MR_PH_COUNT; p++)
        mine[p] = ctx->phase_time[p];
    double busy = 0;
    for (guint i = 0; i < ctx->task_recs->len; i++) {
        mr_task_rec *t = &g_array_index(ctx->task_recs, mr_task_rec, i);
        busy += t->end - t->start;
    }
    mine[MR_PH_COUNT] = busy;
    mine[MR_PH_COUNT + 1] = (double)ctx->task_recs->len;
    mine[MR_PH_COUNT + 2] = (double)ctx->pairs_emitted;
    mine[MR_PH_COUNT + 3] = (double)ctx->shuffle_sent;
    mine[MR_PH_COUNT + 4] = (double)ctx->shuffle_rounds;
    double *all = ctx->rank == 0 ? g_new(double, (size_t)NV * ctx->nranks)
                                 : NULL;
    MPI_Gather(mine, NV, MPI_DOUBLE, all, NV, MPI_DOUBLE, 0, ctx->comm);
    if (ctx->rank != 0)
        return;
    int P = ctx->nranks;
    fprintf(stderr, "mr: %-8s %10s %10s %10s\n", "phase", "min s", "mean s",
            "max s");
    for (int p = 0; p <= MR_PH_COUNT; p++) {
        double mn = 1e300, mx = 0, sum = 0;
        for (int r = 0; r < P; r++) {
            double v = all[(size_t)r * NV + p];
            mn = v < mn ? v : mn;
            mx = v > mx ? v : mx;
            sum += v;
        }
        fprintf(stderr, "mr: %-8s %10.4f %10.4f %10.4f\n",
                p < MR_PH_COUNT ? mr__phase_names[p] : "busy", mn, sum / P,
                mx);
    }
    double bmax = 0, bsum = 0, tasks = 0, pairs = 0, sent = 0;
    for (int r = 0; r < P; r++) {
        const double *v = all + (size_t)r * NV;
        bmax = v[MR_PH_COUNT] > bmax ? v[MR_PH_COUNT] : bmax;
        bsum += v[MR_PH_COUNT];
        tasks += v[MR_PH_COUNT + 1];
        pairs += v[MR_PH_COUNT + 2];
        sent += v[MR_PH_COUNT + 3];
    }
    fprintf(stderr,
            "mr: %d ranks, %.0f tasks, %.0f pairs emitted, %.0f shuffle "
            "bytes in %.0f rounds, map imbalance (max/mean busy) %.3f\n",
            P, tasks, pairs, sent, all[MR_PH_COUNT + 4],
            bsum > 0 ? bmax / (bsum / P) : 1.0);
    g_free(all);
}
