/* mr_describe.c -- text for the reports: a task as a person reads it, and
 * a string as JSON. Shared by mr_stats.c and mr_trace.c.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_stats.h"

void mr__task_describe(const mr_ctx *ctx, uint32_t task, char *buf,
                       size_t n)
{
    mr_rec r;
    mr__rec_read(ctx->pipe->tasks.recs.data + ctx->pipe->tasks.offs[task], &r);
    if (ctx->job.describe && n) {
        buf[0] = '\0';
        ctx->job.describe(r.key, buf, n);
        buf[n - 1] = '\0';
        return;
    }
    /* Descriptors are the job's bytes: show their printable runs (paths,
     * names), joined by a space, which is what a person wants to see. */
    size_t o = 0;
    int gap = 0;
    const unsigned char *p = r.key.ptr;
    for (size_t i = 0; i < r.key.len && o + 2 < n; i++) {
        if (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"' && p[i] != '\\') {
            if (gap && o > 0)
                buf[o++] = ' ';
            buf[o++] = (char)p[i];
            gap = 0;
        } else {
            gap = 1;
        }
    }
    buf[o] = '\0';
}

/* Gathers every rank's numbers (and, if `detail`, tasks and spans) on
 * rank 0. Collective. */
void mr__json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

