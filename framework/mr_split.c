/* mr_split.c -- setup and split: the run's outputs checked, the job's
 * setup, and the task list, made on rank 0 and broadcast to every rank.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_phases.h"

int mr__setup_run(mr_ctx *ctx, mr_mapped *mapped)
{
    int rc = MR_OK;
    mr__map_sink(ctx, mapped);
    if (ctx->cfg->stats_json)
        rc = mr_out_check(ctx, ctx->cfg->stats_json);
    if (rc == MR_OK && ctx->cfg->trace)
        rc = mr_out_check(ctx, ctx->cfg->trace);
    if (rc == MR_OK && ctx->job.setup)
        rc = ctx->job.setup(ctx);
    if (rc == MR_OK)
        rc = mr__out_check_inputs(ctx);
    if (mapped->fold)
        mr__fold_flush(mapped->fold);
    return rc;
}

int mr_task_add(mr_ctx *ctx, mr_bytes desc, double weight)
{
    mr_kvbuf *tasks = ctx->sink.tasks;
    if (!tasks)
        return mr_error(ctx, MR_EINVAL, "mr_task_add outside split");
    if (desc.len >= MR_MAX_ITEM)
        return mr_error(ctx, MR_EINVAL, "task descriptor too large");
    if (tasks->nrec >= UINT32_MAX - 1)
        return mr_error(ctx, MR_EINVAL, "too many tasks");
    mr__kvbuf_append(tasks, desc, mr_mem(&weight, sizeof weight), 0);
    return MR_OK;
}

/* The list goes from rank 0 to every rank (in pieces under 1 GiB: MPI
 * counts are int), and every rank indexes it. */
static void broadcast(mr_ctx *ctx, mr_tasks *t)
{
    uint64_t meta[2] = {t->recs.len, t->recs.nrec};
    MR_MPI(MPI_Bcast(meta, 2, MPI_UINT64_T, 0, ctx->comm));
    if (ctx->rank != 0) {
        mr__kvbuf_reserve(&t->recs, meta[0] + 1);
        t->recs.len = meta[0];
        t->recs.nrec = meta[1];
    }
    for (uint64_t off = 0; off < meta[0]; off += 1 << 30) {
        uint64_t n = meta[0] - off < (1 << 30) ? meta[0] - off : 1 << 30;
        MR_MPI(MPI_Bcast(t->recs.data + off, (int)n, MPI_BYTE, 0, ctx->comm));
    }
    t->n = t->recs.nrec;
    t->offs = g_new(size_t, t->n + 1);
    size_t off = 0;
    for (size_t i = 0; i < t->n; i++) {
        t->offs[i] = off;
        off += mr__rec_size(t->recs.data + off);
    }
    t->offs[t->n] = off;
}

int mr__split_run(mr_ctx *ctx, mr_tasks *tasks)
{
    int rc = MR_OK;
    if (ctx->rank == 0 && ctx->job.split) {
        ctx->sink.tasks = &tasks->recs;
        rc = ctx->job.split(ctx);
        ctx->sink.tasks = NULL;
    }
    /* Every rank takes part, whatever split returned: the ranks agree on
     * the outcome only after the phase. */
    broadcast(ctx, tasks);
    return rc;
}
