/* mr_trace.c -- the run's timeline as a Chrome trace event file.
 *
 * One track per rank ("rank 3 (node7)"), with the phases as spans and,
 * nested in them, every map task (its input in the args), every shuffle
 * round (bytes sent) and the wait at each phase's end for the other ranks.
 * Timestamps are microseconds since the run's start on the clock that
 * mr_engine.c aligns across ranks with a barrier. The file opens in
 * Perfetto (ui.perfetto.dev) and chrome://tracing.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_schedule.h"
#include "mr_stats.h"

static void event(FILE *f, int *first, const char *name, const char *cat,
                  int tid, double start, double end)
{
    fprintf(f, "%s\n{\"name\": ", *first ? "" : ",");
    mr__json_string(f, name);
    fprintf(f, ", \"cat\": \"%s\", \"ph\": \"X\", \"pid\": 0, \"tid\": %d, "
               "\"ts\": %.3f, \"dur\": %.3f",
            cat, tid, start * 1e6, (end - start) * 1e6);
    *first = 0;
}

int mr__trace_write(mr_ctx *ctx, const mr_run_stats *st, const char *path)
{
    FILE *f = mr_out_open(ctx, path);
    if (!f)
        return ctx->status;
    int first = 1;
    fprintf(f, "{\"displayTimeUnit\": \"ms\", \"traceEvents\": [");
    fprintf(f, "\n{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": 0, "
               "\"args\": {\"name\": ");
    char *title = g_strdup_printf("mr-run %s, %d ranks, %s", ctx->job.name,
                                  st->nranks,
                                  mr__sched_name(ctx->cfg->schedule));
    mr__json_string(f, title);
    g_free(title);
    fprintf(f, "}}");
    first = 0;
    for (int r = 0; r < st->nranks; r++) {
        char *name = g_strdup_printf("rank %d (%s)", r, st->ranks[r].host);
        fprintf(f, ",\n{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": 0, "
                   "\"tid\": %d, \"args\": {\"name\": ",
                r);
        mr__json_string(f, name);
        fprintf(f, "}},\n{\"name\": \"thread_sort_index\", \"ph\": \"M\", "
                   "\"pid\": 0, \"tid\": %d, \"args\": {\"sort_index\": %d}}",
                r, r);
        g_free(name);
    }
    size_t s = 0;
    for (int r = 0; r < st->nranks; r++)
        for (uint64_t i = 0; i < st->ranks[r].nspans; i++, s++) {
            const mr_span *sp = &st->spans[s];
            if (sp->kind == MR_SPAN_PHASE) {
                event(f, &first, mr__phase_names[sp->phase], "phase", r,
                      sp->start, sp->end);
                fprintf(f, "}");
            } else if (sp->kind == MR_SPAN_ROUND) {
                event(f, &first, "shuffle round", "shuffle", r, sp->start,
                      sp->end);
                fprintf(f, ", \"args\": {\"bytes_sent\": %llu}}",
                        (unsigned long long)sp->arg);
            } else {
                char *n = g_strdup_printf("wait (%s)",
                                          mr__phase_names[sp->phase]);
                event(f, &first, n, "wait", r, sp->start, sp->end);
                fprintf(f, "}");
                g_free(n);
            }
        }
    for (size_t i = 0; i < st->ntasks; i++) {
        const mr_task_rec *t = &st->tasks[i];
        char name[32], d[256];
        g_snprintf(name, sizeof name, "task %u", t->task);
        mr__task_describe(ctx, t->task, d, sizeof d);
        event(f, &first, name, "task", t->rank, t->start, t->end);
        fprintf(f, ", \"args\": {\"input\": ");
        mr__json_string(f, d);
        fprintf(f, ", \"weight\": %.17g}}", t->weight);
    }
    fprintf(f, "\n]}\n");
    return mr_out_commit(ctx);
}
