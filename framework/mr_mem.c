/* mr_mem.c -- the per-rank memory limit (--mem-limit).
 *
 * Batch systems kill a job that passes its memory request (SGE's h_vmem,
 * Slurm's --mem), and the kernel's OOM killer says nothing useful. With
 * --mem-limit BYTES, the engine checks the rank's resident size after each
 * map task and before each big allocation of its own (the shuffle's
 * receive buffer, the grouping index, the output sort), and stops the run
 * with a message saying which phase needed how much, on which rank, and
 * what the engine itself held (fold table, pair runs, received pairs).
 * It measures the resident set (/proc/self/statm), so a job's own memory
 * counts too. Without the option nothing is measured.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_mem.h"

#include <stdio.h>
#include <unistd.h>

static uint64_t resident_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long size = 0, res = 0;
    if (f) {
        if (fscanf(f, "%lu %lu", &size, &res) != 2)
            res = 0;
        fclose(f);
    }
    return (uint64_t)res * (uint64_t)sysconf(_SC_PAGESIZE);
}

static double mib(uint64_t b)
{
    return (double)b / (1024.0 * 1024.0);
}

int mr__mem_check(mr_ctx *ctx, uint64_t extra, const char *what)
{
    uint64_t limit = (uint64_t)ctx->cfg->mem_limit;
    if (limit == 0 || ctx->status != MR_OK)
        return ctx->status;
    uint64_t rss = resident_bytes();
    if (rss + extra <= limit)
        return MR_OK;
    const mr_pipe *p = ctx->pipe;
    uint64_t parts = 0, fold = 0, recv = 0, out = 0;
    if (p) {
        for (int d = 0; p->mapped.runs && d < ctx->nranks; d++)
            parts += p->mapped.runs[d].cap;
        fold = p->mapped.fold ? mr__fold_bytes(p->mapped.fold) : 0;
        recv = p->received.own.cap + p->received.in.cap;
        out = p->reduced.cap;
    }
    return mr_error(ctx, MR_ERROR,
                    "needs %.0f MiB%s%s%s, over --mem-limit %.0f MiB (the "
                    "engine holds: fold table %.0f MiB, pair runs %.0f MiB, "
                    "received %.0f MiB, output %.0f MiB); give the ranks "
                    "more memory or use more ranks",
                    mib(rss + extra), extra ? " (" : "", extra ? what : "",
                    extra ? ")" : "", mib(limit), mib(fold), mib(parts),
                    mib(recv), mib(out));
}

uint64_t mr__mem_peak(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    unsigned long long kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmHWM: %llu kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return (uint64_t)kb * 1024;
}
