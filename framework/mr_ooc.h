/* mr_ooc.h -- PRIVATE to the framework: the memory budget (--memory) and
 * the out-of-core path that keeps a rank inside it (mr_ooc.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_OOC_H
#define MR_OOC_H

#include <glib.h>

#include "mr_kvbuf.h"
#include "mr_spill.h"

typedef struct mr_ctx mr_ctx;
struct mr_mapped;

typedef struct mr_ooc {
    uint64_t budget;        /* bytes per rank */
    char why[160];          /* where the budget came from */
    mr_spill_cfg spill;     /* folder and codec */
    long every;             /* --spill-every: records per spilled run */
    size_t fold_limit, run_limit, out_limit; /* the budget's shares */
    size_t round;           /* bytes per peer per exchange round */
    int readers;            /* run-file readers the budget holds at once */
    GPtrArray *mapped;      /* mr_spill_file: nranks sections, made in order */
    GPtrArray *recv;        /* one file per source rank */
    GPtrArray *outs;        /* runs in the output order, one section */
    GArray *mapped_lv, *outs_lv; /* int: each run's merge level */
    mr_kvbuf samples;       /* records of the output runs, for splitters */
    size_t run_bytes, run_recs; /* in the map's runs since the last spill */
    int spilling;           /* a spill is running: no spill from within */
    int active;             /* every rank agreed to go out of core */
    uint64_t raw, stored, files; /* what this rank spilled */
} mr_ooc;

/* The budget and its shares (collective: counts the ranks per node). */
int mr__ooc_init(mr_ctx *ctx);
void mr__ooc_fini(mr_ctx *ctx);
/* Setup: a --spill-dir given by the user must take a run file now, not
 * at the first spill, hours into map. */
int mr__ooc_check(mr_ctx *ctx);

/* Map side, from mr_emit: the fold table or the runs reached their share. */
int mr__ooc_spill_fold(mr_ctx *ctx);
int mr__ooc_spill_runs(mr_ctx *ctx);

/* After map (collective): 1 if any rank spilled or would receive more
 * than half its budget, and then every rank has spilled everything it
 * holds; 0 if the run stays in memory. */
int mr__ooc_decide(mr_ctx *ctx, struct mr_mapped *mapped, int *active);

/* The out-of-core shuffle, reduce and output (collective), in place of
 * mr__shuffle_run, mr__reduce_run and mr__output_run. */
int mr__ooc_shuffle(mr_ctx *ctx);
int mr__ooc_reduce(mr_ctx *ctx, mr_kvbuf *out);
int mr__ooc_output(mr_ctx *ctx, mr_kvbuf *out);

#endif /* MR_OOC_H */
