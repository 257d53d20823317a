/* mr_combine.c -- the combine phase: what a rank made for other ranks,
 * made smaller before the shuffle.
 *
 * Fold jobs: the entries of the fold table whose keys belong to other
 * ranks become one run per destination and are dropped from the table,
 * which is then compacted; the rank's own keys stay in it, and reduce
 * folds what arrives into them.
 * Jobs with combine: the job's combine runs over each destination's pairs,
 * grouped by key. What it emits for the group's key goes back to that
 * destination's run without a second hash, stamped with the task of the
 * group's first value, so the values a reduce sees stay in task order.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_group.h"
#include "mr_phases.h"

static int combine_fold(mr_ctx *ctx, mr_mapped *m)
{
    if (ctx->nranks == 1)
        return MR_OK;
    size_t pos = 0;
    mr_bytes key;
    void *acc;
    uint32_t d;
    int rc = MR_OK;
    while (mr__fold_next(m->fold, &pos, &key, &acc)) {
        if ((rc = mr__partition(ctx, key, &d)) != MR_OK)
            break;
        if (d == (uint32_t)ctx->rank)
            continue;
        mr__kvbuf_append(&m->runs[d], key, mr_mem(acc, ctx->job.value_size),
                         0);
        mr__fold_drop(m->fold, key);
    }
    /* What left is (P-1)/P of the table: its memory goes now, before the
     * shuffle brings the other ranks' pairs, not after reduce. */
    if (rc == MR_OK)
        mr__fold_compact(m->fold);
    return rc;
}

int mr__combine_runs(mr_ctx *ctx, mr_mapped *m)
{
    int rc = MR_OK;
    mr_kvbuf *old = m->runs;
    m->runs = g_new0(mr_kvbuf, ctx->nranks);
    ctx->sink.mode = MR_EMIT_PART;
    ctx->sink.runs = m->runs;
    for (int d = 0; d < ctx->nranks && rc == MR_OK; d++) {
        mr_group g;
        mr__group_build(&g, &old[d], 1);
        size_t pos = 0;
        mr_bytes key;
        mr_values v;
        uint32_t task;
        while (rc == MR_OK && mr__group_next(&g, &pos, &key, &v, &task)) {
            ctx->sink.stamp = task;
            ctx->sink.known_key = key;
            ctx->sink.known_dest = (uint32_t)d;
            ctx->sink.known = 1;
            rc = ctx->job.combine(ctx, key, &v);
        }
        ctx->sink.known = 0;
        mr__group_fini(&g);
        mr__kvbuf_fini(&old[d]);
    }
    for (int d = 0; d < ctx->nranks; d++)
        mr__kvbuf_fini(&old[d]);
    g_free(old);
    return rc;
}

int mr__combine_run(mr_ctx *ctx, mr_mapped *mapped)
{
    if (mapped->fold)
        return combine_fold(ctx, mapped);
    if (ctx->job.combine)
        return mr__combine_runs(ctx, mapped);
    return MR_OK;
}
