/* mr_engine.c -- the phase driver: one run of one job on every rank.
 *
 *   setup -> split -> map -> combine -> shuffle -> reduce -> output -> teardown
 *
 * Each phase is a function below (or in its own file: mr_shuffle.c,
 * mr_group.c, mr_merge.c), and each ends in agree(): an MPI_Allreduce of
 * the rank's status with MPI_MIN (codes are negative, so the worst wins).
 * If any rank failed, every rank stops at that same point, the failing
 * ranks' messages are gathered on rank 0 with the rank, host and phase, and
 * teardown still runs. No rank is ever left inside a collective that
 * another rank skipped.
 *
 * Memory: a phase's input is released once the next phase has consumed it
 * (parts while they are sent, recv once reduced), so a rank holds about
 * twice its share of the pairs at its peak: the shuffle's receive buffer
 * plus the reduce output, or the fold table plus its serialised copy.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

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

static void enter(mr_ctx *ctx, mr_phase ph, mr_emit_mode mode)
{
    ctx->phase = ph;
    ctx->emit_mode = mode;
    phase_start = mr__now(ctx);
    mr__signal_where(ctx);
    mr__fault_check(ctx);
}

static void leave(mr_ctx *ctx)
{
    double t = mr__now(ctx);
    ctx->phase_time[ctx->phase] += t - phase_start;
    mr__span_add(ctx, MR_SPAN_PHASE, phase_start, t, 0);
    ctx->emit_mode = MR_EMIT_NONE;
}

static mr_emit_mode map_mode(const mr_ctx *ctx)
{
    return ctx->job.fold ? MR_EMIT_FOLD : MR_EMIT_PART;
}

static int phase_setup(mr_ctx *ctx)
{
    enter(ctx, MR_PH_SETUP, map_mode(ctx));
    int rc = MR_OK;
    if (ctx->cfg->stats_json)
        rc = mr_out_check(ctx, ctx->cfg->stats_json);
    if (rc == MR_OK && ctx->cfg->trace)
        rc = mr_out_check(ctx, ctx->cfg->trace);
    if (rc == MR_OK && ctx->job.setup)
        rc = ctx->job.setup(ctx);
    if (rc == MR_OK)
        rc = mr__out_check_inputs(ctx);
    if (ctx->job.fold)
        mr__fold_flush(&ctx->fold);
    leave(ctx);
    return rc;
}

/* Rank 0 splits; the task list goes to every rank in one broadcast. */
static int phase_split(mr_ctx *ctx)
{
    enter(ctx, MR_PH_SPLIT, MR_EMIT_NONE);
    int rc = MR_OK;
    if (ctx->rank == 0 && ctx->job.split)
        rc = ctx->job.split(ctx);
    leave(ctx);
    return rc;
}

static void broadcast_tasks(mr_ctx *ctx)
{
    uint64_t meta[2] = {ctx->tasks.len, ctx->tasks.nrec};
    MR_MPI(MPI_Bcast(meta, 2, MPI_UINT64_T, 0, ctx->comm));
    if (ctx->rank != 0) {
        mr__kvbuf_reserve(&ctx->tasks, meta[0] + 1);
        ctx->tasks.len = meta[0];
        ctx->tasks.nrec = meta[1];
    }
    for (uint64_t off = 0; off < meta[0]; off += 1 << 30) {
        uint64_t n = meta[0] - off < (1 << 30) ? meta[0] - off : 1 << 30;
        MR_MPI(MPI_Bcast(ctx->tasks.data + off, (int)n, MPI_BYTE, 0, ctx->comm));
    }
    ctx->ntasks = ctx->tasks.nrec;
    ctx->task_offs = g_new(size_t, ctx->ntasks + 1);
    size_t off = 0;
    for (size_t i = 0; i < ctx->ntasks; i++) {
        ctx->task_offs[i] = off;
        off += mr__rec_size(ctx->tasks.data + off);
    }
}

static int run_task(mr_ctx *ctx, size_t t)
{
    mr_rec r;
    mr__rec_read(ctx->tasks.data + ctx->task_offs[t], &r);
    mr_task_rec tr = {.task = (uint32_t)t, .rank = ctx->rank};
    memcpy(&tr.weight, r.value.ptr, sizeof tr.weight);
    ctx->task = (long)t;
    mr__signal_where(ctx);
    tr.start = mr__now(ctx);
    int rc = ctx->job.map(ctx, r.key);
    if (ctx->job.fold) /* the task's adds are complete when it ends */
        mr__fold_flush(&ctx->fold);
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

static int phase_map(mr_ctx *ctx)
{
    enter(ctx, MR_PH_MAP, map_mode(ctx));
    int rc = ctx->status;
    mr_sched *s = mr__sched_new(ctx->cfg->schedule, ctx->ntasks, ctx->comm,
                                ctx->monitor);
    mr_progress *pg = mr__progress_new(ctx);
    idle_arg ia = {pg, ctx};
    mr__sched_set_idle(s, master_idle, &ia);
    uint64_t done = 0;
    size_t first, count;
    while (mr__sched_next(s, rc, &first, &count)) {
        for (size_t t = first; t < first + count && rc == MR_OK; t++) {
            rc = run_task(ctx, t);
            mr__sched_poll(s);
            mr__progress_tick(pg, ctx, ++done);
            if (rc == MR_OK && mr__stop_reason())
                rc = mr_error(ctx, MR_ESTOP, "%s", mr__stop_reason());
        }
    }
    mr__sched_free(s);
    mr__progress_free(pg, ctx, done);
    leave(ctx);
    return rc;
}

/* Fold jobs: the entries of the table whose keys belong to other ranks
 * become one run per destination and are dropped from the table; the
 * rank's own keys stay in it, and reduce folds what arrives into it.
 * Others: the job's combine runs over each destination's pairs. */
static int phase_combine(mr_ctx *ctx)
{
    int rc = MR_OK;
    if (ctx->job.fold) {
        enter(ctx, MR_PH_COMBINE, MR_EMIT_NONE);
        if (ctx->nranks > 1) {
            size_t pos = 0;
            mr_bytes key;
            void *acc;
            uint32_t d;
            while (mr__fold_next(&ctx->fold, &pos, &key, &acc)) {
                if ((rc = mr__partition(ctx, key, &d)) != MR_OK)
                    break;
                if (d == (uint32_t)ctx->rank)
                    continue;
                mr__kvbuf_append(&ctx->parts[d], key,
                                 mr_mem(acc, ctx->job.value_size), 0);
                mr__fold_drop(&ctx->fold, key);
            }
        }
        leave(ctx);
        return rc;
    }
    if (!ctx->job.combine)
        return MR_OK;
    enter(ctx, MR_PH_COMBINE, MR_EMIT_PART);
    mr_kvbuf *old = ctx->parts;
    ctx->parts = g_new0(mr_kvbuf, ctx->nranks);
    for (int d = 0; d < ctx->nranks && rc == MR_OK; d++) {
        mr_group g;
        mr__group_build(&g, &old[d], 1);
        rc = mr__group_each(ctx, &g, ctx->job.combine);
        mr__group_fini(&g);
        mr__kvbuf_fini(&old[d]);
    }
    for (int d = 0; d < ctx->nranks; d++)
        mr__kvbuf_fini(&old[d]);
    g_free(old);
    leave(ctx);
    return rc;
}

static int phase_shuffle(mr_ctx *ctx)
{
    enter(ctx, MR_PH_SHUFFLE, MR_EMIT_NONE);
    int rc = MR_OK;
    if (!(ctx->job.fold && ctx->nranks == 1))
        rc = mr__shuffle_run(ctx);
    leave(ctx);
    return rc;
}

static int reduce_fold(mr_ctx *ctx)
{
    if (ctx->nranks > 1) { /* fold what arrived into the own keys */
        /* The own keys never left the table (combine), so the own run
         * is empty: only what the other ranks sent is folded. */
        g_assert(ctx->recv[0].len == 0);
        mr_kvbuf *in = &ctx->recv[1];
        size_t off = 0;
        while (off < in->len) {
            mr_rec r;
            off += mr__rec_read(in->data + off, &r);
            mr__fold_add(&ctx->fold, r.key, r.value.ptr);
        }
        mr__kvbuf_fini(in);
        mr__fold_flush(&ctx->fold);
    }
    size_t pos = 0;
    mr_bytes key;
    void *acc;
    int rc = MR_OK;
    mr__kvbuf_reserve(&ctx->out, ctx->fold.count *
                                     (MR_REC_HDR + 8 + ctx->job.value_size));
    while (rc == MR_OK && mr__fold_next(&ctx->fold, &pos, &key, &acc)) {
        mr_bytes val = mr_mem(acc, ctx->job.value_size);
        if (ctx->job.reduce) {
            mr_values v = {.one = val, .one_left = 1};
            rc = ctx->job.reduce(ctx, key, &v);
        } else {
            mr__kvbuf_append(&ctx->out, key, val, 0);
            ctx->pairs_out++;
        }
    }
    mr__fold_fini(&ctx->fold);
    mr__fold_init(&ctx->fold, ctx->job.value_size, ctx->job.fold);
    return rc;
}

/* The pairs as they arrived, in source rank order: a run that was in
 * order at its sources (mandelbrot's rows) is still in order, and the
 * output phase skips its sort. One copy (none at one rank). */
static void pass_through(mr_ctx *ctx)
{
    mr_kvbuf *own = &ctx->recv[0], *in = &ctx->recv[1];
    if (in->len == 0) {
        mr__kvbuf_move(&ctx->out, own);
    } else {
        mr__kvbuf_reserve(&ctx->out, own->len + in->len);
        mr__kvbuf_append_raw(&ctx->out, in->data, ctx->recv_lower,
                             ctx->recv_lower_nrec);
        mr__kvbuf_append_raw(&ctx->out, own->data, own->len, own->nrec);
        mr__kvbuf_append_raw(&ctx->out, in->data + ctx->recv_lower,
                             in->len - ctx->recv_lower,
                             in->nrec - ctx->recv_lower_nrec);
        mr__kvbuf_fini(own);
    }
    mr__kvbuf_fini(in);
    ctx->pairs_out += ctx->out.nrec;
}

static int phase_reduce(mr_ctx *ctx)
{
    enter(ctx, MR_PH_REDUCE, MR_EMIT_OUT);
    int rc = MR_OK;
    if (ctx->job.fold) {
        rc = reduce_fold(ctx);
    } else if (!ctx->job.reduce) {
        /* OPTIMIZATION: pass-through needs no grouping. The output phase
         * orders the pairs by (order, key, value) anyway, which is the
         * order grouping would give pairs that differ at all. */
        pass_through(ctx);
    } else if ((rc = mr__mem_check(
                    ctx, (ctx->recv[0].nrec + ctx->recv[1].nrec) * 24,
                    "to group the received pairs")) == MR_OK) {
        mr_group g;
        mr__group_build(&g, ctx->recv, 2);
        rc = mr__group_each(ctx, &g, ctx->job.reduce);
        mr__group_fini(&g);
        mr__kvbuf_fini(&ctx->recv[0]);
        mr__kvbuf_fini(&ctx->recv[1]);
    }
    if (rc == MR_OK && ctx->job.reduce_end)
        rc = ctx->job.reduce_end(ctx);
    if (rc == MR_OK) /* the output phase's index of the run, and scratch */
        rc = mr__mem_check(ctx, ctx->out.nrec * 32, "to sort the output");
    leave(ctx);
    return rc;
}

static int phase_output(mr_ctx *ctx)
{
    enter(ctx, MR_PH_OUTPUT, MR_EMIT_NONE);
    MR_MPI(MPI_Allreduce(&ctx->bytes_in, &ctx->total_bytes, 1, MPI_UINT64_T,
                  MPI_SUM, ctx->comm));
    int rc = mr__merge_output(ctx);
    if (rc == MR_OK && ctx->rank == 0 && ctx->job.finish)
        rc = ctx->job.finish(ctx);
    leave(ctx);
    return rc;
}

int mr_engine_run(const struct mr_job *job, const mr_config *cfg,
                  const mr_optset *opts, MPI_Comm comm, char **error)
{
    *error = NULL;
    MPI_Errhandler old_errors = mr__mpi_errors_install(comm);
    mr__out_reset();
    mr_ctx *ctx = mr__ctx_new(job, cfg, opts, comm);
    ctx->monitor = mr__monitor_start(comm, cfg->stall_timeout);
    MR_MPI(MPI_Barrier(comm)); /* aligns the ranks' clocks to one start */
    ctx->t0 = MPI_Wtime();
    mr__signal_running(1);

    int rc = agree(ctx, phase_setup(ctx), error);
    if (rc == MR_OK)
        rc = agree(ctx, phase_split(ctx), error);
    if (rc == MR_OK) {
        broadcast_tasks(ctx);
        rc = agree(ctx, phase_map(ctx), error);
    }
    if (rc == MR_OK)
        rc = agree(ctx, phase_combine(ctx), error);
    if (rc == MR_OK)
        rc = agree(ctx, phase_shuffle(ctx), error);
    if (rc == MR_OK)
        rc = agree(ctx, phase_reduce(ctx), error);
    if (rc == MR_OK)
        rc = agree(ctx, phase_output(ctx), error);

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
    mr__ctx_free(ctx);
    mr__mpi_errors_restore(comm, old_errors);
    return rc;
}
