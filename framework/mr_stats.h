/* mr_stats.h -- PRIVATE: the gathered statistics of a run, shared by
 * mr_stats.c (table, JSON) and mr_trace.c (timeline). */
/* SPDX-License-Identifier: MIT */
#ifndef MR_STATS_H
#define MR_STATS_H

#include <stdio.h>

#include "mr_internal.h"

typedef struct mr_rank_stats {
    char host[64];
    double phase[MR_PH_COUNT];
    double busy;
    uint64_t ntasks, nspans, bytes_in, pairs, pairs_out, shuffle_sent,
        shuffle_recv, rounds;
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

/* A task as text: the job's describe, or the printable parts of its
 * descriptor (paths, names). */
void mr__task_describe(const mr_ctx *ctx, uint32_t task, char *buf,
                       size_t n);
void mr__json_string(FILE *f, const char *s);
/* Rank 0: writes the Chrome trace event file (mr_trace.c). */
int mr__trace_write(mr_ctx *ctx, const mr_run_stats *st, const char *path);

#endif /* MR_STATS_H */
