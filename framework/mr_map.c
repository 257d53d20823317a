/* mr_map.c -- the map phase: the job's map, once per task that the
 * schedule gives this rank, in task order within a claimed range.
 *
 * After each task: the fold table's deferred adds are done (a task's adds
 * are complete when it ends), the task's times are recorded (--stats,
 * --trace), rank 0 answers dynamic claims, the progress counts go out, and
 * a stop request (a signal, another rank's failure) ends the loop.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_mem.h"
#include "mr_phases.h"
#include "mr_progress.h"
#include "mr_schedule.h"
#include "mr_signal.h"

void mr__map_sink(mr_ctx *ctx, mr_mapped *mapped)
{
    ctx->sink.mode = mapped->fold ? MR_EMIT_FOLD : MR_EMIT_PART;
    ctx->sink.fold = mapped->fold;
    ctx->sink.runs = mapped->runs;
    ctx->sink.stamp = -1;
    ctx->sink.mapped = mapped;
}

static int run_task(mr_ctx *ctx, const mr_tasks *tasks, mr_mapped *mapped,
                    size_t t)
{
    mr_rec r;
    mr__rec_read(tasks->recs.data + tasks->offs[t], &r);
    mr_task_rec tr = {.task = (uint32_t)t, .rank = ctx->rank};
    memcpy(&tr.weight, r.value.ptr, sizeof tr.weight);
    ctx->task = (long)t;
    mr__signal_where(ctx);
    tr.start = mr__now(ctx);
    int rc = ctx->job.map(ctx, r.key);
    if (mapped->fold)
        mr__fold_flush(mapped->fold);
    tr.end = mr__now(ctx);
    ctx->task = -1;
    g_array_append_val(ctx->task_recs, tr);
    if (rc == MR_OK && ctx->status != MR_OK)
        rc = ctx->status; /* an mr_emit error the job ignored */
    if (rc == MR_OK)
        rc = mr__mem_check(ctx, 0, NULL);
    return rc;
}

typedef struct idle_arg {
    mr_progress *progress;
    mr_ctx *ctx;
} idle_arg;

static void master_idle(void *p)
{
    idle_arg *a = p;
    mr__progress_tick(a->progress, a->ctx, 0);
}

int mr__map_run(mr_ctx *ctx, const mr_tasks *tasks, mr_mapped *mapped)
{
    mr__map_sink(ctx, mapped);
    int rc = ctx->status;
    mr_sched *s = mr__sched_new(ctx->cfg->schedule, tasks->n, ctx->comm,
                                ctx->monitor);
    mr_progress *pg = mr__progress_new(ctx);
    idle_arg ia = {pg, ctx};
    mr__sched_set_idle(s, master_idle, &ia);
    uint64_t done = 0;
    size_t first, count;
    while (mr__sched_next(s, rc, &first, &count)) {
        for (size_t t = first; t < first + count && rc == MR_OK; t++) {
            rc = run_task(ctx, tasks, mapped, t);
            mr__sched_poll(s);
            mr__progress_tick(pg, ctx, ++done);
            if (rc == MR_OK && mr__stop_reason())
                rc = mr_error(ctx, MR_ESTOP, "%s", mr__stop_reason());
        }
    }
    mr__sched_free(s);
    mr__progress_free(pg, ctx, done);
    return rc;
}
