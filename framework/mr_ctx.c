/* mr_ctx.c -- the per-rank context: emit, errors, tasks, accessors.
 *
 * A job sees the engine only through an mr_ctx. mr_emit() is one switch on
 * the phase's emit mode: fold into the accumulator table, append to the
 * destination rank's run, or append to the output run; it copies what it
 * is given, so jobs may emit from stack buffers.
 *
 * Errors: mr_error() keeps the first status and message of the rank; the
 * engine makes every rank agree at the end of each phase (mr_engine.c).
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_mpierr.h"
#include "mr_optint.h"
#include "mr_signal.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

const char *const mr__phase_names[MR_PH_COUNT] = {
    "setup", "split", "map", "combine", "shuffle", "reduce", "output",
};

mr_ctx *mr__ctx_new(const struct mr_job *job, const mr_config *cfg,
                    const mr_optset *opts, MPI_Comm comm)
{
    mr_ctx *ctx = g_new0(mr_ctx, 1);
    ctx->comm = comm;
    MR_MPI(MPI_Comm_rank(comm, &ctx->rank));
    MR_MPI(MPI_Comm_size(comm, &ctx->nranks));
    if (gethostname(ctx->host, sizeof ctx->host - 1) != 0)
        g_strlcpy(ctx->host, "?", sizeof ctx->host);
    ctx->job = *job;
    ctx->cfg = cfg;
    ctx->opts = opts;
    ctx->task = -1;
    ctx->sink.stamp = -1;
    ctx->task_recs = g_array_new(FALSE, FALSE, sizeof(mr_task_rec));
    ctx->spans = g_array_new(FALSE, FALSE, sizeof(mr_span));
    return ctx;
}

void mr__ctx_free(mr_ctx *ctx)
{
    if (!ctx)
        return;
    g_array_free(ctx->task_recs, TRUE);
    g_array_free(ctx->spans, TRUE);
    g_free(ctx->errmsg);
    g_free(ctx);
}

void mr__pipe_init(mr_pipe *p, const struct mr_job *job, int nranks)
{
    memset(p, 0, sizeof *p);
    if (job->fold) {
        p->mapped.fold = g_new(mr_fold, 1);
        mr__fold_init(p->mapped.fold, job->value_size, job->fold);
    }
    p->mapped.runs = g_new0(mr_kvbuf, nranks);
}

void mr__pipe_fini(mr_pipe *p, int nranks)
{
    mr__kvbuf_fini(&p->tasks.recs);
    g_free(p->tasks.offs);
    if (p->mapped.fold) {
        mr__fold_fini(p->mapped.fold);
        g_free(p->mapped.fold);
    }
    for (int i = 0; i < nranks; i++)
        mr__kvbuf_fini(&p->mapped.runs[i]);
    g_free(p->mapped.runs);
    mr__kvbuf_fini(&p->received.own);
    mr__kvbuf_fini(&p->received.in);
    mr__kvbuf_fini(&p->reduced);
    memset(p, 0, sizeof *p);
}

double mr__now(const mr_ctx *ctx)
{
    return MPI_Wtime() - ctx->t0;
}

int mr__partition(mr_ctx *ctx, mr_bytes key, uint32_t *dest)
{
    uint32_t P = (uint32_t)ctx->nranks;
    uint32_t d = ctx->job.partition ? ctx->job.partition(key, P)
                                    : mr__partition_default(key, P);
    if (d >= P)
        return mr_error(ctx, MR_EINVAL, "partition returned %u for %d ranks",
                        d, ctx->nranks);
    *dest = d;
    return MR_OK;
}

/* ---------------- API for jobs ---------------- */

/* The destination of a pair emitted into per-rank runs: combine's own
 * key goes back to the run it came from without a second hash. */
static int emit_dest(mr_ctx *ctx, mr_bytes key, uint32_t *d)
{
    const mr_sink *k = &ctx->sink;
    if (k->known && key.len == k->known_key.len &&
        (key.len == 0 || memcmp(key.ptr, k->known_key.ptr, key.len) == 0)) {
        *d = k->known_dest;
        return MR_OK;
    }
    return mr__partition(ctx, key, d);
}

/* mr_emit's cases other than the common fold (below). */
__attribute__((noinline)) static int emit_general(mr_ctx *ctx, mr_bytes key,
                                                  mr_bytes value)
{
    if (key.len >= MR_MAX_ITEM || value.len >= MR_MAX_ITEM)
        return mr_error(ctx, MR_EINVAL,
                        "mr_emit: key or value of %zu bytes is over the "
                        "limit of %zu",
                        key.len > value.len ? key.len : value.len,
                        MR_MAX_ITEM - 1);
    mr_sink *k = &ctx->sink;
    switch (k->mode) {
    case MR_EMIT_FOLD:
        ctx->pairs_emitted++;
        if (value.len != ctx->job.value_size)
            return mr_error(ctx, MR_EINVAL,
                            "mr_emit: value of %zu bytes, but the job "
                            "declares value_size %zu",
                            value.len, ctx->job.value_size);
        mr__fold_add(k->fold, key, value.ptr);
        if (k->fold->over)
            return mr__ooc_spill_fold(ctx);
        return MR_OK;
    case MR_EMIT_PART: {
        if (ctx->phase != MR_PH_COMBINE && !ctx->ooc.spilling)
            ctx->pairs_emitted++;
        uint32_t d = 0; /* set when rc is MR_OK; -O3 cannot see it */
        int rc = emit_dest(ctx, key, &d);
        if (rc != MR_OK)
            return rc;
        long task = k->stamp >= 0 ? k->stamp : ctx->task;
        mr__kvbuf_append(&k->runs[d], key, value,
                         task < 0 ? 0 : (uint32_t)task);
        if (k->mapped && !ctx->ooc.spilling) { /* map (or setup) */
            mr_ooc *o = &ctx->ooc;
            o->run_bytes += MR_REC_HDR + key.len + value.len;
            o->run_recs++;
            if (o->run_bytes > o->run_limit ||
                (o->every > 0 && o->run_recs >= (size_t)o->every))
                return mr__ooc_spill_runs(ctx);
        }
        return MR_OK;
    }
    case MR_EMIT_OUT:
        ctx->pairs_out++;
        mr__kvbuf_append(k->run, key, value, 0);
        return MR_OK;
    case MR_EMIT_NONE:
        break;
    }
    return mr_error(ctx, MR_EINVAL, "mr_emit called in the %s phase",
                    mr__phase_names[ctx->phase]);
}

/* The common case, word count's once per token, is a leaf that tail-calls
 * the fold table; everything else is emit_general (docs/performance.md,
 * "mr_emit"). */
int mr_emit(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    if (ctx->sink.mode == MR_EMIT_FOLD &&
        ((key.len | value.len) & ~(MR_MAX_ITEM - 1)) == 0 &&
        value.len == ctx->job.value_size) {
        ctx->pairs_emitted++;
        int rc = mr__fold_add(ctx->sink.fold, key, value.ptr);
        if (__builtin_expect(ctx->sink.fold->over, 0))
            return mr__ooc_spill_fold(ctx);
        return rc;
    }
    return emit_general(ctx, key, value);
}

int mr_error(mr_ctx *ctx, int status, const char *fmt, ...)
{
    if (status >= 0)
        status = MR_ERROR;
    if (ctx->status == MR_OK) {
        va_list ap;
        va_start(ap, fmt);
        ctx->errmsg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        ctx->status = status;
        if (status != MR_ESTOP)
            mr__signal_failed(); /* the others stop too, mid-task */
    }
    return status;
}

const char *mr_strerror(int status)
{
    switch (status) {
    case MR_OK: return "success";
    case MR_ERROR: return "error";
    case MR_EINVAL: return "invalid input";
    case MR_EIO: return "input/output error";
    case MR_EABI: return "ABI version mismatch";
    case MR_EUSAGE: return "usage error";
    case MR_ESTOP: return "stopped by a signal";
    default: return "unknown error";
    }
}

void *mr_ctx_state(const mr_ctx *ctx) { return ctx->state; }
void mr_ctx_set_state(mr_ctx *ctx, void *state) { ctx->state = state; }
int mr_ctx_rank(const mr_ctx *ctx) { return ctx->rank; }
int mr_ctx_nranks(const mr_ctx *ctx) { return ctx->nranks; }
long mr_ctx_task(const mr_ctx *ctx) { return ctx->task; }
double mr_ctx_time(const mr_ctx *ctx) { return mr__now(ctx); }
void mr_ctx_add_bytes(mr_ctx *ctx, uint64_t n) { ctx->bytes_in += n; }
uint64_t mr_ctx_total_bytes(const mr_ctx *ctx) { return ctx->total_bytes; }

int mr_ctx_argc(const mr_ctx *ctx)
{
    return mr__optset_argc(ctx->opts);
}

const char *const *mr_ctx_argv(const mr_ctx *ctx)
{
    return mr__optset_argv(ctx->opts);
}
