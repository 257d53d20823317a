/* mr_ctx.h -- PRIVATE to the framework: the per-rank context (mr_ctx.c),
 * what a phase hands the next (mr_pipe), and the partitioner
 * (mr_partition.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_CTX_H
#define MR_CTX_H

#include <glib.h>
#include <mpi.h>

#include "mr/mr.h"
#include "mr/mr_job.h"
#include "mr_fold.h"
#include "mr_kvbuf.h"
#include "mr_ooc.h"

/* The default partitioner: the high half of mr__hash, range-reduced. The
 * fold tables index by the low bits, so the two do not correlate. */
uint32_t mr__partition_default(mr_bytes key, uint32_t nparts);

typedef enum mr_phase {
    MR_PH_SETUP,
    MR_PH_SPLIT,
    MR_PH_MAP,
    MR_PH_COMBINE,
    MR_PH_SHUFFLE,
    MR_PH_REDUCE,
    MR_PH_OUTPUT,
    MR_PH_COUNT
} mr_phase;

extern const char *const mr__phase_names[MR_PH_COUNT];

typedef enum mr_emit_mode {
    MR_EMIT_NONE,
    MR_EMIT_FOLD, /* into sink.fold */
    MR_EMIT_PART, /* into sink.runs[partition(key)], stamped with the task */
    MR_EMIT_OUT,  /* into sink.run */
} mr_emit_mode;

/* The hand-offs of a run, each made by one phase and taken by the next.
 * They live in the driver (mr_engine.c); a phase is given the ones it
 * reads and the one it makes. The context points to them only for what
 * jobs call (mr_emit, mr_task_add) and for reports (--mem-limit, --stats,
 * progress). */

/* split -> map: the task list, the same on every rank after the
 * broadcast. Records: key = descriptor, value = double weight. */
typedef struct mr_tasks {
    mr_kvbuf recs;
    size_t *offs; /* n + 1 record offsets */
    size_t n;
} mr_tasks;

/* map -> combine -> shuffle: what the rank emitted. Fold jobs fold into
 * the table (and combine moves the other ranks' keys into runs); others
 * append to one run per destination rank. */
typedef struct mr_mapped {
    mr_fold *fold; /* NULL: the job does not fold */
    mr_kvbuf *runs; /* nranks runs */
} mr_mapped;

/* shuffle -> reduce: the rank's own run (moved, never copied) and what
 * the others sent, by source rank; the first in_lower bytes (in_lower_nrec
 * records) of `in` came from ranks below this one. */
typedef struct mr_received {
    mr_kvbuf own, in;
    size_t in_lower, in_lower_nrec;
} mr_received;

/* reduce -> output: the rank's output pairs, in no order. */
typedef struct mr_pipe {
    mr_tasks tasks;
    mr_mapped mapped;
    mr_received received;
    mr_kvbuf reduced;
} mr_pipe;

void mr__pipe_init(mr_pipe *p, const struct mr_job *job, int nranks);
void mr__pipe_fini(mr_pipe *p, int nranks);

/* Where mr_emit and mr_task_add write in the current phase. */
typedef struct mr_sink {
    mr_emit_mode mode;
    mr_fold *fold;
    mr_kvbuf *runs;   /* MR_EMIT_PART */
    mr_kvbuf *run;    /* MR_EMIT_OUT */
    mr_kvbuf *tasks;  /* split: mr_task_add */
    struct mr_mapped *mapped; /* map: what the fold table or runs belong to */
    long stamp;       /* MR_EMIT_PART: the task records carry; -1: ctx->task */
    /* MR_EMIT_PART in combine: the group's key, whose run is known. */
    mr_bytes known_key;
    uint32_t known_dest;
    int known;
} mr_sink;

typedef struct mr_task_rec {
    uint32_t task;
    int rank;
    double start, end, weight;
} mr_task_rec;

/* A span of time on a rank's timeline (--trace, --stats-json). */
typedef enum mr_span_kind {
    MR_SPAN_PHASE, /* arg: the phase */
    MR_SPAN_ROUND, /* a shuffle round; arg: bytes sent */
    MR_SPAN_WAIT,  /* waiting for the other ranks at a phase's end */
} mr_span_kind;

typedef struct mr_span {
    int kind;
    int phase;
    double start, end;
    uint64_t arg;
} mr_span;

typedef struct mr_progress mr_progress;
typedef struct mr_monitor mr_monitor;

struct mr_ctx {
    MPI_Comm comm;
    mr_monitor *monitor; /* heartbeats, progress counts, claims */
    int rank, nranks;
    char host[256];
    struct mr_job job; /* host-sized copy */
    const mr_config *cfg;
    const mr_optset *opts;
    void *state;

    mr_phase phase;
    long task; /* current map task, -1 outside map */
    int status;
    char *errmsg;

    mr_sink sink;
    mr_ooc ooc; /* the memory budget, and what was spilled */
    uint64_t out_index; /* output_part: the pair's place in the global order */
    const mr_pipe *pipe; /* for reports only: phases are handed theirs */

    /* clocks and counters */
    double t0;
    double phase_time[MR_PH_COUNT];
    uint64_t phase_peak[MR_PH_COUNT]; /* peak resident bytes by the
                                         phase's end, with --stats */
    uint64_t bytes_in, total_bytes;
    uint64_t pairs_emitted, pairs_out, shuffle_sent, shuffle_recv;
    int shuffle_rounds;
    GArray *task_recs; /* mr_task_rec */
    GArray *spans;     /* mr_span */
};

mr_ctx *mr__ctx_new(const struct mr_job *job, const mr_config *cfg,
                    const mr_optset *opts, MPI_Comm comm);
void mr__ctx_free(mr_ctx *ctx);
double mr__now(const mr_ctx *ctx);
/* The destination rank of key (the job's partitioner or the default);
 * MR_EINVAL and an mr_error if the job's answer is out of range. */
int mr__partition(mr_ctx *ctx, mr_bytes key, uint32_t *dest);

#endif /* MR_CTX_H */
