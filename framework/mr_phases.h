/* mr_phases.h -- PRIVATE to the framework: the phases of a run, one file
 * each, as the driver (mr_engine.c) calls them.
 *
 *   setup, split (mr_split.c) -> map (mr_map.c) -> combine (mr_combine.c)
 *   -> shuffle (mr_shuffle.c) -> reduce (mr_reduce.c) -> output
 *   (mr_output.c)
 *
 * Each takes the hand-off the previous phase made (mr_ctx.h) and fills the
 * one the next needs; what it consumed it frees. Each returns MR_OK or the
 * rank's error, and the driver makes the ranks agree after it. Every one
 * is collective except split's job callback (rank 0).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_PHASES_H
#define MR_PHASES_H

#include "mr_ctx.h"

/* mr_split.c: the output checks and the job's setup, which may emit into
 * `mapped` (hello does). */
int mr__setup_run(mr_ctx *ctx, mr_mapped *mapped);

/* mr_split.c: rank 0 runs the job's split into `tasks`, and the list goes
 * to every rank in one broadcast. */
int mr__split_run(mr_ctx *ctx, mr_tasks *tasks);

/* mr_map.c: runs the tasks the schedule gives this rank; the pairs go
 * into `mapped`. */
int mr__map_run(mr_ctx *ctx, const mr_tasks *tasks, mr_mapped *mapped);
/* Points mr_emit at `mapped`: the fold table, or the run of each key's
 * destination rank. */
void mr__map_sink(mr_ctx *ctx, mr_mapped *mapped);

/* mr_combine.c: fold jobs move the entries of the table that belong to
 * other ranks into their runs; jobs with combine replace each run with its
 * combined pairs. */
int mr__combine_run(mr_ctx *ctx, mr_mapped *mapped);
/* The job's combine over each destination's run, which it replaces (the
 * out-of-core path runs it on every spill). */
int mr__combine_runs(mr_ctx *ctx, mr_mapped *m);

/* mr_shuffle.c: sends runs[d] to rank d, in rounds of at most
 * cfg->shuffle_round bytes sent per rank; frees the runs. */
int mr__shuffle_run(mr_ctx *ctx, mr_kvbuf *runs, mr_received *got);

/* mr_reduce.c: the received pairs (folded into the table, grouped by key
 * for the job's reduce, or passed through) become the output pairs;
 * frees what it read, the fold table included. */
int mr__reduce_run(mr_ctx *ctx, mr_mapped *mapped, mr_received *got,
                   mr_kvbuf *out);

/* mr_output.c: sorts the rank's output pairs by the job's order, then
 * streams every rank's run to rank 0, which merges them and calls the
 * job's output; or, for jobs with output_part, cuts the run at sampled
 * splitters (in place: out keeps only this rank's range afterwards) and
 * gives every rank its range of the global order. */
int mr__output_run(mr_ctx *ctx, mr_kvbuf *out);

#endif /* MR_PHASES_H */
