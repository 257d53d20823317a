/* mr_stats.h -- PRIVATE: the run's timers (mr_stats.c) and their reports:
 * the gathered statistics, shared by mr_stats.c (table, JSON) and
 * mr_trace.c (timeline), with the text helpers of mr_describe.c. */
/* SPDX-License-Identifier: MIT */
#ifndef MR_STATS_H
#define MR_STATS_H

#include <stdio.h>

#include "mr_ctx.h"

void mr__span_add(mr_ctx *ctx, mr_span_kind kind, double start, double end,
                  uint64_t arg);
/* Collective: --stats table, --stats-json and --trace files (rank 0). */
int mr__stats_report(mr_ctx *ctx);

typedef struct mr_rank_stats {
    char host[64];
    double phase[MR_PH_COUNT];
    uint64_t peak[MR_PH_COUNT]; /* peak resident bytes by the phase's end */
    double busy;
    uint64_t ntasks, nspans, bytes_in, pairs, pairs_out, shuffle_sent,
        shuffle_recv, rounds;
    uint64_t budget, spill_raw, spill_stored, spill_files; /* mr_ooc.c */
} mr_rank_stats;

typedef struct mr_run_stats {
    int nranks;
    double seconds;
    mr_rank_stats *ranks; /* nranks */
    mr_task_rec *tasks;   /* all ranks' tasks, rank by rank */
    size_t ntasks;
    mr_span *spans; /* all ranks' spans; rank r's follow rank r-1's */
    size_t nspans;
} mr_run_stats;

/* mr_describe.c: a task as text: the job's describe, or the printable parts of its
 * descriptor (paths, names). */
void mr__task_describe(const mr_ctx *ctx, uint32_t task, char *buf,
                       size_t n);
void mr__json_string(FILE *f, const char *s);
/* mr_trace.c, rank 0: writes the Chrome trace event file. */
int mr__trace_write(mr_ctx *ctx, const mr_run_stats *st, const char *path);

#endif /* MR_STATS_H */
