/* mr_schedule.c -- which rank runs which map task: four policies.
 *
 *   block    rank r runs tasks [r*n/P, (r+1)*n/P): no communication; the
 *            classic static decomposition, balanced only if tasks are.
 *   cyclic   rank r runs tasks r, r+P, r+2P, ...: static, but spreads
 *            neighbouring (often similar) tasks over the ranks.
 *   dynamic  every rank, rank 0 included, claims chunks of tasks from a
 *            counter on rank 0, kept by rank 0's monitor thread
 *            (mr_monitor.c: point-to-point, no one-sided MPI). Guided
 *            chunks of about remaining/(2P) tasks, at least 1, so claims
 *            are few at first and fine-grained at the end, where balance
 *            is decided. Without MPI_THREAD_MULTIPLE it runs as master.
 *   master   rank 0 hands out one task at a time to workers that ask for
 *            work (point-to-point: a worker's request carries its status,
 *            so a failing worker stops the hand-out). With P > 1 rank 0
 *            only serves; alone, it runs every task itself.
 *
 * The output never depends on the policy: records carry their task id and
 * grouping orders by it (mr_group.c).
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_mpierr.h"
#include "mr_schedule.h"

#include <stdio.h>

enum { TAG_REQ = 4711, TAG_GRANT = 4712 };

struct mr_sched {
    mr_schedule policy;
    MPI_Comm comm;
    int rank, nranks;
    size_t ntasks;
    size_t next;   /* block, cyclic: next task of this rank */
    size_t end;    /* block: end of this rank's range */
    mr_monitor *monitor; /* dynamic */
    int done;
    /* master, rank 0 */
    int workers_left;
    int failed;
    void (*idle)(void *arg);
    void *idle_arg;
};

void mr__sched_set_idle(mr_sched *s, void (*idle)(void *arg), void *arg)
{
    s->idle = idle;
    s->idle_arg = arg;
}

/* In mr_schedule's order. */
static const char *const sched_names[] = {"block", "cyclic", "dynamic",
                                          "master"};

int mr__sched_parse(const char *name, mr_schedule *out)
{
    for (int i = 0; i < (int)G_N_ELEMENTS(sched_names); i++)
        if (name && strcmp(name, sched_names[i]) == 0) {
            *out = (mr_schedule)i;
            return MR_OK;
        }
    return MR_EUSAGE;
}

const char *mr__sched_name(mr_schedule s)
{
    return sched_names[s];
}

mr_sched *mr__sched_new(mr_schedule policy, size_t ntasks, MPI_Comm comm,
                        mr_monitor *monitor)
{
    mr_sched *s = g_new0(mr_sched, 1);
    s->policy = policy;
    s->comm = comm;
    s->ntasks = ntasks;
    MR_MPI(MPI_Comm_rank(comm, &s->rank));
    MR_MPI(MPI_Comm_size(comm, &s->nranks));
    size_t P = (size_t)s->nranks, r = (size_t)s->rank;
    if (s->nranks == 1 && policy == MR_SCHED_MASTER)
        s->policy = MR_SCHED_BLOCK; /* no one to serve */
    if (s->nranks > 1 && policy == MR_SCHED_DYNAMIC &&
        !mr__monitor_threaded(monitor)) {
        s->policy = MR_SCHED_MASTER;
        if (s->rank == 0)
            fprintf(stderr, "mr-run: --schedule dynamic needs "
                            "MPI_THREAD_MULTIPLE, which this MPI does not "
                            "give: running as master\n");
    }
    switch (s->policy) {
    case MR_SCHED_BLOCK:
        s->next = r * ntasks / P;
        s->end = (r + 1) * ntasks / P;
        break;
    case MR_SCHED_CYCLIC:
        s->next = r;
        break;
    case MR_SCHED_DYNAMIC:
        s->monitor = monitor;
        if (s->rank == 0)
            mr__monitor_claims_begin(monitor, ntasks);
        MR_MPI(MPI_Barrier(comm)); /* the counter is set before any claim */
        break;
    case MR_SCHED_MASTER:
        s->workers_left = s->nranks - 1;
        break;
    }
    return s;
}

static int next_dynamic(mr_sched *s, int status, size_t *first,
                        size_t *count)
{
    if (s->done)
        return 0;
    if (!mr__monitor_claim(s->monitor, status, first, count)) {
        s->done = 1;
        return 0;
    }
    return 1;
}

/* Rank 0 under `master`: serve until every worker has been told to stop. */
static void serve(mr_sched *s)
{
    GArray *reqs = g_array_new(FALSE, FALSE, sizeof(MPI_Request));
    GArray *bufs = g_array_new(FALSE, FALSE, sizeof(int64_t *));
    while (s->workers_left > 0) {
        int wstatus;
        MPI_Status st;
        MR_MPI(MPI_Recv(&wstatus, 1, MPI_INT, MPI_ANY_SOURCE, TAG_REQ, s->comm, &st));
        if (wstatus != MR_OK)
            s->failed = 1;
        int64_t *grant = g_new(int64_t, 1);
        if (!s->failed && s->next < s->ntasks) {
            *grant = (int64_t)s->next++;
        } else {
            *grant = -1;
            s->workers_left--;
        }
        MPI_Request rq;
        MR_MPI(MPI_Isend(grant, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_GRANT, s->comm,
                  &rq));
        g_array_append_val(reqs, rq);
        g_array_append_val(bufs, grant);
        if (s->idle)
            s->idle(s->idle_arg);
    }
    MR_MPI(MPI_Waitall((int)reqs->len, (MPI_Request *)reqs->data,
                MPI_STATUSES_IGNORE));
    for (guint i = 0; i < bufs->len; i++)
        g_free(g_array_index(bufs, int64_t *, i));
    g_array_free(reqs, TRUE);
    g_array_free(bufs, TRUE);
}

int mr__sched_next(mr_sched *s, int status, size_t *first, size_t *count)
{
    switch (s->policy) {
    case MR_SCHED_BLOCK:
        if (status != MR_OK || s->next >= s->end)
            return 0;
        *first = s->next;
        *count = s->end - s->next;
        s->next = s->end;
        return 1;
    case MR_SCHED_CYCLIC:
        if (status != MR_OK || s->next >= s->ntasks)
            return 0;
        *first = s->next;
        *count = 1;
        s->next += (size_t)s->nranks;
        return 1;
    case MR_SCHED_DYNAMIC:
        return next_dynamic(s, status, first, count);
    case MR_SCHED_MASTER:
        if (s->done)
            return 0;
        if (s->rank == 0) {
            serve(s);
            s->done = 1;
            return 0;
        }
        int64_t grant;
        MR_MPI(MPI_Send(&status, 1, MPI_INT, 0, TAG_REQ, s->comm));
        MR_MPI(MPI_Recv(&grant, 1, MPI_INT64_T, 0, TAG_GRANT, s->comm,
                 MPI_STATUS_IGNORE));
        if (grant < 0) {
            s->done = 1;
            return 0;
        }
        *first = (size_t)grant;
        *count = 1;
        return 1;
    }
    return 0;
}

void mr__sched_poll(mr_sched *s)
{
    if (s->policy == MR_SCHED_DYNAMIC && s->rank == 0)
        mr__monitor_serve(s->monitor);
}

void mr__sched_free(mr_sched *s)
{
    if (!s)
        return;
    if (s->policy == MR_SCHED_DYNAMIC && s->rank == 0)
        mr__monitor_claims_end(s->monitor);
    g_free(s);
}
