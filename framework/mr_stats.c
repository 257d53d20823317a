/* mr_stats.c -- phase and task timers, gathered: --stats, --stats-json.
 *
 * Every rank times each phase, each map task, each shuffle round and each
 * wait at a phase's end, on a clock aligned at the start of the run
 * (mr_engine.c takes t0 right after a barrier). After the output phase,
 * and only if asked, rank 0 gathers them (a fixed record per rank, then
 * the task and span arrays with MPI_Gatherv) and prints the --stats table,
 * writes the --stats-json file and the --trace timeline (mr_trace.c).
 * Nothing is gathered when none of them was asked for, so a plain run pays
 * only for the clock reads.
 *
 * Busy time is the sum of a rank's task times; idle is the rest of its map
 * phase (waiting for work, or for the others to finish). The imbalance
 * ratio is max over ranks of busy / mean busy: 1.0 is perfect.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_schedule.h"
#include "mr_stats.h"

#include <stdio.h>

void mr__span_add(mr_ctx *ctx, mr_span_kind kind, double start, double end,
                  uint64_t arg)
{
    mr_span s = {.kind = kind, .phase = ctx->phase, .start = start,
                 .end = end, .arg = arg};
    g_array_append_val(ctx->spans, s);
}

static mr_run_stats *gather(mr_ctx *ctx)
{
    mr_rank_stats mine;
    memset(&mine, 0, sizeof mine);
    g_strlcpy(mine.host, ctx->host, sizeof mine.host);
    memcpy(mine.phase, ctx->phase_time, sizeof mine.phase);
    memcpy(mine.peak, ctx->phase_peak, sizeof mine.peak);
    for (guint i = 0; i < ctx->task_recs->len; i++) {
        mr_task_rec *t = &g_array_index(ctx->task_recs, mr_task_rec, i);
        mine.busy += t->end - t->start;
    }
    mine.ntasks = ctx->task_recs->len;
    mine.nspans = ctx->spans->len;
    mine.bytes_in = ctx->bytes_in;
    mine.pairs = ctx->pairs_emitted;
    mine.pairs_out = ctx->pairs_out;
    mine.shuffle_sent = ctx->shuffle_sent;
    mine.shuffle_recv = ctx->shuffle_recv;
    mine.rounds = (uint64_t)ctx->shuffle_rounds;
    mine.budget = ctx->ooc.budget;
    mine.spill_raw = ctx->ooc.raw;
    mine.spill_stored = ctx->ooc.stored;
    mine.spill_files = ctx->ooc.files;

    int P = ctx->nranks, root = ctx->rank == 0;
    mr_run_stats *st = root ? g_new0(mr_run_stats, 1) : NULL;
    if (root) {
        st->nranks = P;
        st->ranks = g_new0(mr_rank_stats, P);
        st->seconds = mr__now(ctx);
    }
    MR_MPI(MPI_Gather(&mine, sizeof mine, MPI_BYTE, root ? st->ranks : NULL,
               sizeof mine, MPI_BYTE, 0, ctx->comm));

    /* Tasks, then spans: byte counts per rank, then one Gatherv each. */
    int *cnt = root ? g_new(int, P) : NULL, *dsp = root ? g_new(int, P) : NULL;
    for (int pass = 0; pass < 2; pass++) {
        size_t esz = pass == 0 ? sizeof(mr_task_rec) : sizeof(mr_span);
        GArray *a = pass == 0 ? ctx->task_recs : ctx->spans;
        size_t total = 0;
        if (root)
            for (int r = 0; r < P; r++) {
                uint64_t n = pass == 0 ? st->ranks[r].ntasks
                                       : st->ranks[r].nspans;
                g_assert(n * esz < INT_MAX && total < INT_MAX);
                cnt[r] = (int)(n * esz);
                dsp[r] = (int)total;
                total += n * esz;
            }
        void *buf = root ? g_malloc(total ? total : 1) : NULL;
        MR_MPI(MPI_Gatherv(a->data, (int)(a->len * esz), MPI_BYTE, buf, cnt, dsp,
                    MPI_BYTE, 0, ctx->comm));
        if (root && pass == 0) {
            st->tasks = buf;
            st->ntasks = total / esz;
        } else if (root) {
            st->spans = buf;
            st->nspans = total / esz;
        }
    }
    g_free(cnt);
    g_free(dsp);
    return st;
}

static void stats_free(mr_run_stats *st)
{
    if (!st)
        return;
    g_free(st->ranks);
    g_free(st->tasks);
    g_free(st->spans);
    g_free(st);
}

static double imbalance(const mr_run_stats *st)
{
    double mx = 0, sum = 0;
    for (int r = 0; r < st->nranks; r++) {
        mx = st->ranks[r].busy > mx ? st->ranks[r].busy : mx;
        sum += st->ranks[r].busy;
    }
    return sum > 0 ? mx / (sum / st->nranks) : 1.0;
}

/* Min, mean and max over ranks of phase p's time (p == MR_PH_COUNT: the
 * busy time). */
static void phase_range(const mr_run_stats *st, int p, double *mn,
                        double *mean, double *mx)
{
    double lo = 1e300, hi = 0, sum = 0;
    for (int r = 0; r < st->nranks; r++) {
        double v = p < MR_PH_COUNT ? st->ranks[r].phase[p] : st->ranks[r].busy;
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
        sum += v;
    }
    *mn = lo;
    *mean = sum / st->nranks;
    *mx = hi;
}

/* The largest resident peak of phase p over the ranks. */
static uint64_t peak_max(const mr_run_stats *st, int p)
{
    uint64_t mx = 0;
    for (int r = 0; r < st->nranks; r++)
        mx = st->ranks[r].peak[p] > mx ? st->ranks[r].peak[p] : mx;
    return mx;
}

static int by_duration_desc(const void *a, const void *b)
{
    const mr_task_rec *x = a, *y = b;
    double dx = x->end - x->start, dy = y->end - y->start;
    if (dx != dy)
        return dx < dy ? 1 : -1;
    return (x->task > y->task) - (x->task < y->task);
}

/* Rank 0: the tasks sorted slowest first (a copy). */
static mr_task_rec *slowest(const mr_run_stats *st)
{
    mr_task_rec *s = g_new(mr_task_rec, st->ntasks + 1);
    if (st->ntasks)
        memcpy(s, st->tasks, st->ntasks * sizeof *s);
    qsort(s, st->ntasks, sizeof *s, by_duration_desc);
    return s;
}

static void sum_ranks(const mr_run_stats *st, mr_rank_stats *tot)
{
    memset(tot, 0, sizeof *tot);
    for (int r = 0; r < st->nranks; r++) {
        const mr_rank_stats *x = &st->ranks[r];
        tot->bytes_in += x->bytes_in;
        tot->pairs += x->pairs;
        tot->pairs_out += x->pairs_out;
        tot->shuffle_sent += x->shuffle_sent;
        tot->ntasks += x->ntasks;
        tot->spill_raw += x->spill_raw;
        tot->spill_stored += x->spill_stored;
        tot->spill_files += x->spill_files;
        tot->budget = x->budget > tot->budget ? x->budget : tot->budget;
        tot->rounds = x->rounds > tot->rounds ? x->rounds : tot->rounds;
    }
}

static void print_table(mr_ctx *ctx, const mr_run_stats *st)
{
    int P = st->nranks;
    mr_rank_stats tot;
    sum_ranks(st, &tot);
    fprintf(stderr, "mr: %s on %d rank%s, schedule %s, %.3f s\n",
            ctx->job.name, P, P == 1 ? "" : "s",
            mr__sched_name(ctx->cfg->schedule), st->seconds);
    fprintf(stderr, "mr: %-8s %10s %10s %10s %10s\n", "phase", "min s",
            "mean s", "max s", "peak MiB");
    for (int p = 0; p <= MR_PH_COUNT; p++) {
        double mn, mean, mx;
        phase_range(st, p, &mn, &mean, &mx);
        if (p < MR_PH_COUNT)
            fprintf(stderr, "mr: %-8s %10.4f %10.4f %10.4f %10.1f\n",
                    mr__phase_names[p], mn, mean, mx,
                    (double)peak_max(st, p) / 1048576.0);
        else
            fprintf(stderr, "mr: %-8s %10.4f %10.4f %10.4f\n", "busy", mn,
                    mean, mx);
    }
    fprintf(stderr,
            "mr: %llu tasks, %llu input bytes, %llu pairs emitted, %llu "
            "shuffle bytes in %llu rounds, %llu output pairs, map imbalance "
            "(max/mean busy) %.3f\n",
            (unsigned long long)tot.ntasks, (unsigned long long)tot.bytes_in,
            (unsigned long long)tot.pairs,
            (unsigned long long)tot.shuffle_sent,
            (unsigned long long)tot.rounds, (unsigned long long)tot.pairs_out,
            imbalance(st));
    fprintf(stderr,
            "mr: memory budget %.1f MiB per rank (%s); spilled %llu bytes "
            "(%llu on disk, %s) in %llu run files\n",
            (double)tot.budget / 1048576.0, ctx->ooc.why,
            (unsigned long long)tot.spill_raw,
            (unsigned long long)tot.spill_stored,
            mr__codec_name(ctx->ooc.spill.codec),
            (unsigned long long)tot.spill_files);
    if (st->tasks && st->ntasks) {
        mr_task_rec *s = slowest(st);
        size_t n = st->ntasks < 5 ? st->ntasks : 5;
        for (size_t i = 0; i < n; i++) {
            char d[256];
            mr__task_describe(ctx, s[i].task, d, sizeof d);
            fprintf(stderr, "mr: slow task %u on rank %d: %.4f s  %s\n",
                    s[i].task, s[i].rank, s[i].end - s[i].start, d);
        }
        g_free(s);
    }
}

static int write_json(mr_ctx *ctx, const mr_run_stats *st, const char *path)
{
    FILE *f = mr_out_open(ctx, path);
    if (!f)
        return ctx->status;
    mr_rank_stats tot;
    sum_ranks(st, &tot);
    fprintf(f, "{\n  \"job\": ");
    mr__json_string(f, ctx->job.name);
    fprintf(f, ",\n  \"ranks\": %d,\n  \"schedule\": \"%s\",\n", st->nranks,
            mr__sched_name(ctx->cfg->schedule));
    fprintf(f, "  \"seconds\": %.6f,\n  \"tasks\": %llu,\n", st->seconds,
            (unsigned long long)tot.ntasks);
    fprintf(f, "  \"bytes_in\": %llu,\n  \"pairs_emitted\": %llu,\n"
               "  \"pairs_out\": %llu,\n",
            (unsigned long long)tot.bytes_in, (unsigned long long)tot.pairs,
            (unsigned long long)tot.pairs_out);
    fprintf(f, "  \"shuffle_bytes\": %llu,\n  \"shuffle_rounds\": %llu,\n",
            (unsigned long long)tot.shuffle_sent,
            (unsigned long long)tot.rounds);
    fprintf(f, "  \"memory\": %llu,\n  \"spill\": {\"bytes_raw\": %llu, "
               "\"bytes_written\": %llu, \"runs\": %llu, \"codec\": \"%s\"},\n",
            (unsigned long long)tot.budget,
            (unsigned long long)tot.spill_raw,
            (unsigned long long)tot.spill_stored,
            (unsigned long long)tot.spill_files,
            mr__codec_name(ctx->ooc.spill.codec));
    fprintf(f, "  \"imbalance\": %.6f,\n  \"phases\": [", imbalance(st));
    for (int p = 0; p < MR_PH_COUNT; p++) {
        double mn, mean, mx;
        phase_range(st, p, &mn, &mean, &mx);
        fprintf(f, "%s\n    {\"name\": \"%s\", \"min\": %.6f, \"mean\": "
                   "%.6f, \"max\": %.6f, \"peak_rss_max\": %llu}",
                p ? "," : "", mr__phase_names[p], mn, mean, mx,
                (unsigned long long)peak_max(st, p));
    }
    fprintf(f, "\n  ],\n  \"rank_stats\": [");
    for (int r = 0; r < st->nranks; r++) {
        const mr_rank_stats *x = &st->ranks[r];
        fprintf(f, "%s\n    {\"rank\": %d, \"host\": ", r ? "," : "", r);
        mr__json_string(f, x->host);
        fprintf(f, ", \"busy\": %.6f, \"idle\": %.6f, \"tasks\": %llu, "
                   "\"bytes_in\": %llu, \"pairs_emitted\": %llu, "
                   "\"shuffle_sent\": %llu, \"shuffle_recv\": %llu, "
                   "\"phases\": {",
                x->busy, x->phase[MR_PH_MAP] - x->busy,
                (unsigned long long)x->ntasks,
                (unsigned long long)x->bytes_in,
                (unsigned long long)x->pairs,
                (unsigned long long)x->shuffle_sent,
                (unsigned long long)x->shuffle_recv);
        for (int p = 0; p < MR_PH_COUNT; p++)
            fprintf(f, "%s\"%s\": %.6f", p ? ", " : "", mr__phase_names[p],
                    x->phase[p]);
        fprintf(f, "}, \"peak_rss\": {");
        for (int p = 0; p < MR_PH_COUNT; p++)
            fprintf(f, "%s\"%s\": %llu", p ? ", " : "", mr__phase_names[p],
                    (unsigned long long)x->peak[p]);
        fprintf(f, "}}");
    }
    fprintf(f, "\n  ],\n  \"task_stats\": [");
    for (size_t i = 0; i < st->ntasks; i++) {
        const mr_task_rec *t = &st->tasks[i];
        char d[256];
        mr__task_describe(ctx, t->task, d, sizeof d);
        fprintf(f, "%s\n    {\"id\": %u, \"rank\": %d, \"start\": %.6f, "
                   "\"seconds\": %.6f, \"weight\": %.17g, \"input\": ",
                i ? "," : "", t->task, t->rank, t->start, t->end - t->start,
                t->weight);
        mr__json_string(f, d);
        fputc('}', f);
    }
    fprintf(f, "\n  ]\n}\n");
    return mr_out_commit(ctx);
}

int mr__stats_report(mr_ctx *ctx)
{
    const mr_config *cfg = ctx->cfg;
    if (!cfg->stats && !cfg->stats_json && !cfg->trace)
        return MR_OK;
    mr_run_stats *st = gather(ctx);
    int rc = MR_OK;
    if (ctx->rank == 0) {
        if (cfg->stats)
            print_table(ctx, st);
        if (cfg->stats_json)
            rc = write_json(ctx, st, cfg->stats_json);
        if (rc == MR_OK && cfg->trace)
            rc = mr__trace_write(ctx, st, cfg->trace);
    }
    stats_free(st);
    MR_MPI(MPI_Bcast(&rc, 1, MPI_INT, 0, ctx->comm));
    return rc;
}
