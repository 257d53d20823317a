/* mr_combine.c -- the combine phase: what a rank made for other ranks,
 * made smaller before the shuffle.
 *
 * Fold jobs: the entries of the fold table whose keys belong to other
 * ranks become one run per destination, taken out of the table as it is
 * compacted in the same pass (mr__fold_take); the rank's own keys stay in
 * it, and reduce folds what arrives into them.
 * Jobs with combine: the job's combine runs over each destination's pairs,
 * grouped by key. What it emits for the group's key goes back to that
 * destination's run without a second hash, stamped with the task of the
 * group's first value, so the values a reduce sees stay in task order.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_group.h"
#include "mr_phases.h"

typedef struct take_arg {
    mr_ctx *ctx;
    mr_mapped *m;
} take_arg;

/* An entry of another rank's key goes to its run. */
static int take_other(void *arg, mr_bytes key, const void *acc, int *taken)
{
    take_arg *a = arg;
    uint32_t d;
    int rc = mr__partition(a->ctx, key, &d);
    if (rc != MR_OK)
        return rc;
    *taken = d != (uint32_t)a->ctx->rank;
    if (*taken)
        mr__kvbuf_append(&a->m->runs[d], key,
                         mr_mem(acc, a->ctx->job.value_size), 0);
    return MR_OK;
}

/* What leaves is (P-1)/P of the table: the table is compacted as it is
 * read, so its memory goes before the shuffle brings the other ranks'
 * pairs, and the runs made and the table are held about once. */
static int combine_fold(mr_ctx *ctx, mr_mapped *m)
{
    if (ctx->nranks == 1)
        return MR_OK;
    take_arg a = {ctx, m};
    return mr__fold_take(m->fold, take_other, &a);
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
