/* mr_engine.c -- the driver: one run of one job on every rank.
 *
 *   setup -> split -> map -> combine -> shuffle -> reduce -> output -> teardown
 *
 * Each phase is a function in a file of its own (mr_phases.h), handed the
 * data the previous phase made (mr_pipe, mr_ctx.h). After each one, agree()
 * makes every rank agree on the outcome: an MPI_Allreduce of the rank's
 * status with MPI_MIN (codes are negative, so the worst wins). If any rank
 * failed, every rank stops at that same point, the failing ranks' messages
 * are gathered on rank 0 with the rank, host and phase, and teardown still
 * runs. No rank is ever left inside a collective that another rank
 * skipped.
 *
 * Memory: a phase frees its input once it has consumed it (runs while
 * they are sent, what was received once reduced), so a rank holds about
 * twice its share of the pairs at its peak: the shuffle's receive buffer
 * plus the reduce output, or the fold table plus its serialised copy.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_fault.h"
#include "mr_mem.h"
#include "mr_monitor.h"
#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_phases.h"
#include "mr_signal.h"
#include "mr_stats.h"

#include <stdio.h>

#define MSG_LEN 1024

/* Makes every rank agree on the outcome of a phase (collective). */
static int agree(mr_ctx *ctx, int rc, char **error)
{
    if (rc == MR_OK)
        rc = ctx->status; /* an error recorded but not returned */
    if (rc != MR_OK && ctx->status == MR_OK)
        mr_error(ctx, rc, "%s callback returned %d (%s) without a message",
                 mr__phase_names[ctx->phase], rc, mr_strerror(rc));
    if (rc == MR_OK && mr__stop_reason())
        rc = mr_error(ctx, MR_ESTOP, "%s", mr__stop_reason());
    int worst = rc;
    double t = mr__now(ctx);
    MR_MPI(MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, ctx->comm));
    mr__span_add(ctx, MR_SPAN_WAIT, t, mr__now(ctx), 0);
    if (worst == MR_OK)
        return MR_OK;

    char mine[MSG_LEN] = "";
    if (rc != MR_OK)
        g_snprintf(mine, sizeof mine, "%s", ctx->errmsg ? ctx->errmsg : "");
    char *all = ctx->rank == 0 ? g_malloc((size_t)MSG_LEN * ctx->nranks)
                               : NULL;
    MR_MPI(MPI_Gather(mine, MSG_LEN, MPI_CHAR, all, MSG_LEN, MPI_CHAR, 0,
               ctx->comm));
    /* Hosts too, for the message: "rank 3 on node7". */
    char *hosts = ctx->rank == 0 ? g_malloc((size_t)256 * ctx->nranks)
                                 : NULL;
    MR_MPI(MPI_Gather(ctx->host, 256, MPI_CHAR, hosts, 256, MPI_CHAR, 0, ctx->comm));
    if (ctx->rank == 0) {
        GString *s = g_string_new(NULL);
        /* Ranks that stopped because another one failed say nothing new
         * when that one's own message is there. */
        int cause = 0;
        for (int r = 0; r < ctx->nranks; r++) {
            const char *m = all + (size_t)r * MSG_LEN;
            if (*m && !g_str_has_prefix(m, MR_STOP_REMOTE))
                cause = 1;
        }
        for (int r = 0; r < ctx->nranks; r++) {
            const char *m = all + (size_t)r * MSG_LEN;
            if (!*m || (cause && g_str_has_prefix(m, MR_STOP_REMOTE)))
                continue;
            /* Identical messages from consecutive ranks (an option error
             * seen by all) are reported once, with the range of ranks. */
            int last = r;
            while (last + 1 < ctx->nranks &&
                   strcmp(all + (size_t)(last + 1) * MSG_LEN, m) == 0)
                last++;
            if (s->len)
                g_string_append_c(s, '\n');
            if (last == r)
                g_string_append_printf(s, "rank %d on %s, %s: %s", r,
                                       hosts + (size_t)r * 256,
                                       mr__phase_names[ctx->phase], m);
            else
                g_string_append_printf(s, "ranks %d-%d, %s: %s", r, last,
                                       mr__phase_names[ctx->phase], m);
            r = last;
        }
        if (s->len == 0)
            g_string_append_printf(s, "%s failed (%s)",
                                   mr__phase_names[ctx->phase],
                                   mr_strerror(worst));
        g_free(*error);
        *error = g_string_free(s, FALSE);
    }
    g_free(all);
    g_free(hosts);
    return worst;
}

static double phase_start;

static void enter(mr_ctx *ctx, mr_phase ph)
{
    ctx->phase = ph;
    ctx->sink = (mr_sink){.mode = MR_EMIT_NONE, .stamp = -1};
    phase_start = mr__now(ctx);
    mr__signal_where(ctx);
    mr__fault_check(ctx);
}

static int leave(mr_ctx *ctx, int rc, char **error)
{
    double t = mr__now(ctx);
    ctx->phase_time[ctx->phase] += t - phase_start;
    const mr_config *cfg = ctx->cfg;
    if (cfg->stats || cfg->stats_json || cfg->trace)
        ctx->phase_peak[ctx->phase] = mr__mem_peak();
    mr__span_add(ctx, MR_SPAN_PHASE, phase_start, t, 0);
    ctx->sink = (mr_sink){.mode = MR_EMIT_NONE, .stamp = -1};
    return agree(ctx, rc, error);
}

static int run_phases(mr_ctx *ctx, mr_pipe *p, char **error)
{
    int rc;
    enter(ctx, MR_PH_SETUP);
    rc = mr__ooc_check(ctx);
    if (rc == MR_OK)
        rc = mr__setup_run(ctx, &p->mapped);
    if ((rc = leave(ctx, rc, error)) != MR_OK)
        return rc;
    enter(ctx, MR_PH_SPLIT);
    if ((rc = leave(ctx, mr__split_run(ctx, &p->tasks), error)) != MR_OK)
        return rc;
    enter(ctx, MR_PH_MAP);
    rc = mr__map_run(ctx, &p->tasks, &p->mapped);
    if ((rc = leave(ctx, rc, error)) != MR_OK)
        return rc;
    /* Out of core if any rank spilled while mapping (mr_ooc.c): then the
     * combine ran on each spill, and the next phases stream from disk. */
    enter(ctx, MR_PH_COMBINE);
    int ooc = 0;
    rc = mr__ooc_decide(ctx, &p->mapped, &ooc);
    if (rc == MR_OK && !ooc && (ctx->job.fold || ctx->job.combine))
        rc = mr__combine_run(ctx, &p->mapped);
    if ((rc = leave(ctx, rc, error)) != MR_OK)
        return rc;
    enter(ctx, MR_PH_SHUFFLE);
    rc = ooc ? mr__ooc_shuffle(ctx)
             : mr__shuffle_run(ctx, p->mapped.runs, &p->received);
    if ((rc = leave(ctx, rc, error)) != MR_OK)
        return rc;
    enter(ctx, MR_PH_REDUCE);
    rc = ooc ? mr__ooc_reduce(ctx, &p->reduced)
             : mr__reduce_run(ctx, &p->mapped, &p->received, &p->reduced);
    if ((rc = leave(ctx, rc, error)) != MR_OK)
        return rc;
    enter(ctx, MR_PH_OUTPUT);
    MR_MPI(MPI_Allreduce(&ctx->bytes_in, &ctx->total_bytes, 1, MPI_UINT64_T,
                         MPI_SUM, ctx->comm));
    rc = ooc ? mr__ooc_output(ctx, &p->reduced)
             : mr__output_run(ctx, &p->reduced);
    if (rc == MR_OK && ctx->rank == 0 && ctx->job.finish)
        rc = ctx->job.finish(ctx);
    return leave(ctx, rc, error);
}

int mr_engine_run(const struct mr_job *job, const mr_config *cfg,
                  const mr_optset *opts, MPI_Comm comm, char **error)
{
    *error = NULL;
    MPI_Errhandler old_errors = mr__mpi_errors_install(comm);
    mr__out_reset();
    mr_ctx *ctx = mr__ctx_new(job, cfg, opts, comm);
    mr_pipe pipe;
    mr__pipe_init(&pipe, job, ctx->nranks);
    ctx->pipe = &pipe;
    mr__ooc_init(ctx);
    if (pipe.mapped.fold) {
        pipe.mapped.fold->limit_bytes = ctx->ooc.fold_limit;
        pipe.mapped.fold->limit_count =
            ctx->ooc.every > 0 ? (size_t)ctx->ooc.every : 0;
    }
    ctx->monitor = mr__monitor_start(comm, cfg->stall_timeout);
    MR_MPI(MPI_Barrier(comm)); /* aligns the ranks' clocks to one start */
    ctx->t0 = MPI_Wtime();
    mr__signal_running(1);

    int rc = run_phases(ctx, &pipe, error);

    if (job->teardown)
        job->teardown(ctx);
    mr__signal_running(0);
    if (rc == MR_OK) {
        int src = mr__stats_report(ctx);
        if (src != MR_OK && ctx->rank == 0 && !*error)
            *error = g_strdup(ctx->errmsg);
        rc = src;
    }
    if (rc != MR_OK) /* a failed run leaves no output, committed or not */
        mr__out_fail();
    mr__monitor_stop(ctx->monitor);
    ctx->pipe = NULL;
    mr__ooc_fini(ctx);
    mr__pipe_fini(&pipe, ctx->nranks);
    mr__ctx_free(ctx);
    mr__mpi_errors_restore(comm, old_errors);
    return rc;
}
