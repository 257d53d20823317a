/* mr_output.h -- PRIVATE to the framework: the output order and its sort
 * (mr_output.c), shared with the out-of-core output (mr_ooc.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_OUTPUT_H
#define MR_OUTPUT_H

#include "mr_ctx.h"
#include "mr_keysort.h"

/* The total order of output pairs: the job's order, then key, then value
 * bytes. */
int mr__out_compare(const mr_ctx *ctx, const mr_rec *a, const mr_rec *b);
/* Run b in that order: an index of record offsets, or NULL when b is in
 * order already. */
mr_keyed *mr__out_sort(const mr_ctx *ctx, const mr_kvbuf *b);
/* key<TAB>value lines on standard output: the output of jobs without one. */
int mr__out_default(mr_ctx *ctx, mr_bytes key, mr_bytes value);

/* nranks - 1 splitters of the output order, the same on every rank, from
 * every rank's samples `mine` (collective); *spl points into the returned
 * bytes (free both). */
unsigned char *mr__out_splitters(mr_ctx *ctx, const mr_kvbuf *mine,
                                 const unsigned char ***spl);

#endif /* MR_OUTPUT_H */
