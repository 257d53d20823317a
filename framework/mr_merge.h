/* mr_merge.h -- PRIVATE to the framework: streams of records and their
 * k-way merge (mr_merge.c), what the out-of-core path (mr_ooc.c) reads
 * spilled runs, received runs and remote chunks through.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_MERGE_H
#define MR_MERGE_H

#include "mr_ctx.h"
#include "mr_keysort.h"
#include "mr_kvbuf.h"
#include "mr_spill.h"

/* A source of records in some order. next: 1 and *r (borrowed until the
 * next call), 0 at the end, or an error code after an mr_error. */
typedef struct mr_stream mr_stream;
struct mr_stream {
    int (*next)(mr_stream *s, mr_rec *r);
    void (*free)(mr_stream *s);
    mr_ctx *ctx;
};

void mr__stream_free(mr_stream *s);

/* Section sect of a sealed run file (the file stays the caller's). */
mr_stream *mr__stream_spill(mr_ctx *ctx, mr_spill_file *f, int sect);
/* The records of b, through order (mr_keyed refs are offsets) or, NULL,
 * front to back. b and order stay the caller's. */
mr_stream *mr__stream_kvbuf(mr_ctx *ctx, const mr_kvbuf *b,
                            const mr_keyed *order);

/* Two records' order; ties broken by the merge (lower source first). */
typedef int mr_rec_cmp(const mr_rec *a, const mr_rec *b, void *arg);
/* Key bytes, then task: the order of runs for reduce. */
int mr__rec_cmp_key_task(const mr_rec *a, const mr_rec *b, void *arg);

typedef struct mr_merge mr_merge;
/* Merges n streams (it owns them now) by cmp; among equal records, the
 * lower stream first, so streams given in the order their records were
 * made keep that order. */
mr_merge *mr__merge_new(mr_stream **src, int n, mr_rec_cmp *cmp, void *arg);
/* The next record without taking it: 1, 0 at the end, or an error. */
int mr__merge_peek(mr_merge *m, mr_rec *r);
/* Takes the record peek returned (it is invalid from now on). */
void mr__merge_pop(mr_merge *m);
void mr__merge_free(mr_merge *m);
/* The merge as a stream (owning m). */
mr_stream *mr__stream_merge(mr_merge *m);
/* The merge's records with equal keys folded into one (fold jobs: value
 * size vsize, fold), as a stream owning m. */
mr_stream *mr__stream_fold(mr_merge *m, size_t vsize, mr_fold_fn *fold);

#endif /* MR_MERGE_H */
