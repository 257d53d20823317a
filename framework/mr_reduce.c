/* mr_reduce.c -- the reduce phase: the pairs a rank received become its
 * output pairs, in one of three ways.
 *
 * Fold jobs: what the other ranks sent is folded into the rank's own keys
 * (which never left the table), and each entry becomes one output pair,
 * or one call of the job's reduce with a single value.
 * Jobs with reduce: the received pairs are grouped by key, values in task
 * order (mr_group.c), and reduce runs once per key.
 * Jobs without: the pairs pass through as they arrived, in source rank
 * order, so a run that was in order at its sources (mandelbrot's rows) is
 * still in order and the output phase skips its sort. The output phase
 * orders pairs by (order, key, value) anyway, which is the order grouping
 * would give pairs that differ at all.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include "mr_bigmem.h"
#include "mr_group.h"
#include "mr_mem.h"
#include "mr_phases.h"

static int reduce_fold(mr_ctx *ctx, mr_fold *fold, mr_received *got,
                       mr_kvbuf *out)
{
    /* The own keys never left the table (combine), so the own run is
     * empty: only what the other ranks sent is folded. */
    g_assert(got->own.len == 0);
    /* What was folded goes back as the table grows: the received run
     * and the table are not both held whole. */
    size_t off = 0, freed = 0;
    while (off < got->in.len) {
        mr_rec r;
        off += mr__rec_read(got->in.data + off, &r);
        mr__fold_add(fold, r.key, r.value.ptr);
        mr_bigmem_release_behind(got->in.data, got->in.cap, 0, off, &freed);
    }
    mr__kvbuf_fini(&got->in);
    /* The table is read once more, front to back: its slots go now, and
     * its entries as they are read, so that it and what it becomes are
     * not both held whole. */
    mr__fold_seal(fold);

    size_t pos = 0, done = 0;
    mr_bytes key;
    void *acc;
    int rc = MR_OK;
    mr__kvbuf_reserve(out, fold->count *
                               (MR_REC_HDR + 8 + ctx->job.value_size));
    while (rc == MR_OK && mr__fold_next(fold, &pos, &key, &acc)) {
        mr__fold_release(fold, done);
        done = pos;
        mr_bytes val = mr_mem(acc, ctx->job.value_size);
        if (ctx->job.reduce) {
            mr_values v = {.one = val, .one_left = 1};
            rc = ctx->job.reduce(ctx, key, &v);
        } else {
            mr__kvbuf_append(out, key, val, 0);
            ctx->pairs_out++;
        }
    }
    return rc;
}

/* One copy (none at one rank). */
static void pass_through(mr_ctx *ctx, mr_received *got, mr_kvbuf *out)
{
    mr_kvbuf *own = &got->own, *in = &got->in;
    if (in->len == 0) {
        mr__kvbuf_move(out, own);
    } else {
        mr__kvbuf_reserve(out, own->len + in->len);
        mr__kvbuf_append_raw(out, in->data, got->in_lower,
                             got->in_lower_nrec);
        mr__kvbuf_append_raw(out, own->data, own->len, own->nrec);
        mr__kvbuf_append_raw(out, in->data + got->in_lower,
                             in->len - got->in_lower,
                             in->nrec - got->in_lower_nrec);
        mr__kvbuf_fini(own);
    }
    mr__kvbuf_fini(in);
    ctx->pairs_out += out->nrec;
}

static int reduce_groups(mr_ctx *ctx, mr_received *got)
{
    int rc = mr__mem_check(ctx, (got->own.nrec + got->in.nrec) * 24,
                           "to group the received pairs");
    if (rc != MR_OK)
        return rc;
    mr_group g;
    mr_kvbuf runs[2] = {got->own, got->in};
    mr__group_build(&g, runs, 2);
    size_t pos = 0;
    mr_bytes key;
    mr_values v;
    while (rc == MR_OK && mr__group_next(&g, &pos, &key, &v, NULL))
        rc = ctx->job.reduce(ctx, key, &v);
    mr__group_fini(&g);
    mr__kvbuf_fini(&got->own);
    mr__kvbuf_fini(&got->in);
    return rc;
}

int mr__reduce_run(mr_ctx *ctx, mr_mapped *mapped, mr_received *got,
                   mr_kvbuf *out)
{
    ctx->sink.mode = MR_EMIT_OUT;
    ctx->sink.run = out;
    int rc;
    if (mapped->fold) {
        rc = reduce_fold(ctx, mapped->fold, got, out);
        mr__fold_fini(mapped->fold); /* read to its end: no longer needed */
        g_free(mapped->fold);
        mapped->fold = NULL;
    } else if (!ctx->job.reduce) {
        pass_through(ctx, got, out);
        rc = MR_OK;
    } else {
        rc = reduce_groups(ctx, got);
    }
    if (rc == MR_OK && ctx->job.reduce_end)
        rc = ctx->job.reduce_end(ctx);
    /* The output phase's index of the run and scratch; with parallel
     * output, a copy of the run in buckets (mr_output.c, scatter). */
    if (rc == MR_OK)
        rc = mr__mem_check(ctx, ctx->job.output_part
                                    ? out->nrec * 18 + out->len
                                    : out->nrec * 32,
                           "to sort the output");
    return rc;
}
