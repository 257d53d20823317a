/* mr_schedule.c -- which rank runs which map task: four policies.
 *
 *   block    rank r runs tasks [r*n/P, (r+1)*n/P): no communication; the
 *            classic static decomposition, balanced only if tasks are.
 *   cyclic   rank r runs tasks r, r+P, r+2P, ...: static, but spreads
 *            neighbouring (often similar) tasks over the ranks.
 *   dynamic  every rank, rank 0 included, claims chunks of tasks from a
 *            counter in an MPI window on rank 0 with MPI_Fetch_and_op.
 *            Guided chunks: a rank reads the counter, then claims about
 *            remaining/(2P) tasks, at least 1, so claims are few at first
 *            and fine-grained at the end, where balance is decided. Across nodes without hardware
 *            atomics the counter's progress may depend on rank 0 calling
 *            MPI, so rank 0 pokes the progress engine between its tasks.
 *   master   rank 0 hands out one task at a time to workers that ask for
 *            work (point-to-point: a worker's request carries its status,
 *            so a failing worker stops the hand-out). With P > 1 rank 0
 *            only serves; alone, it runs every task itself.
 *
 * The output never depends on the policy: records carry their task id and
 * grouping orders by it (mr_group.c).
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

enum { TAG_REQ = 4711, TAG_GRANT = 4712 };

struct mr_sched {
    mr_schedule policy;
    MPI_Comm comm;
    int rank, nranks;
    size_t ntasks;
    size_t next;   /* block, cyclic: next task of this rank */
    size_t end;    /* block: end of this rank's range */
    MPI_Win win;   /* dynamic */
    int64_t *counter;
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

int mr__sched_parse(const char *name, mr_schedule *out)
{
    static const char *const names[] = {"block", "cyclic", "dynamic",
                                        "master"};
    for (int i = 0; i < 4; i++)
        if (name && strcmp(name, names[i]) == 0) {
            *out = (mr_schedule)i;
            return MR_OK;
        }
    return MR_EUSAGE;
}

const char *mr__sched_name(mr_schedule s)
{
    static const char *const names[] = {"block", "cyclic", "dynamic",
                                        "master"};
    return names[s];
}

mr_sched *mr__sched_new(mr_schedule policy, size_t ntasks, MPI_Comm comm)
{
    mr_sched *s = g_new0(mr_sched, 1);
    s->policy = policy;
    s->comm = comm;
    s->ntasks = ntasks;
    MPI_Comm_rank(comm, &s->rank);
    MPI_Comm_size(comm, &s->nranks);
    size_t P = (size_t)s->nranks, r = (size_t)s->rank;
    if (s->nranks == 1 && policy == MR_SCHED_MASTER)
        s->policy = MR_SCHED_BLOCK; /* no one to serve */
    switch (s->policy) {
    case MR_SCHED_BLOCK:
        s->next = r * ntasks / P;
        s->end = (r + 1) * ntasks / P;
        break;
    case MR_SCHED_CYCLIC:
        s->next = r;
        break;
    case MR_SCHED_DYNAMIC:
        MPI_Win_allocate(s->rank == 0 ? (MPI_Aint)sizeof(int64_t) : 0,
                         sizeof(int64_t), MPI_INFO_NULL, comm, &s->counter,
                         &s->win);
        if (s->rank == 0)
            *s->counter = 0;
        MPI_Barrier(comm); /* the counter is zero before anyone claims */
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
    int64_t n = (int64_t)s->ntasks, old, now, zero = 0, want;
    if (s->rank == 0) {
        int flag; /* progress for passive-target requests of others */
        MPI_Iprobe(MPI_ANY_SOURCE, MPI_ANY_TAG, s->comm, &flag,
                   MPI_STATUS_IGNORE);
    }
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, s->win);
    if (status != MR_OK) {
        want = n + 1; /* push the counter past the end: everyone stops */
    } else {
        /* Guided: size the chunk from what is really left now (an atomic
         * read), not from this rank's last claim, which may be long out of
         * date; others may claim in between, so it is only a size. */
        MPI_Fetch_and_op(&zero, &now, MPI_INT64_T, 0, 0, MPI_NO_OP, s->win);
        MPI_Win_flush(0, s->win);
        want = (n - now) / (2 * (int64_t)s->nranks);
        if (want < 1)
            want = 1;
    }
    MPI_Fetch_and_op(&want, &old, MPI_INT64_T, 0, 0, MPI_SUM, s->win);
    MPI_Win_unlock(0, s->win);
    if (status != MR_OK || old >= n) {
        s->done = 1;
        return 0;
    }
    *first = (size_t)old;
    *count = (size_t)((old + want > n ? n : old + want) - old);
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
        MPI_Recv(&wstatus, 1, MPI_INT, MPI_ANY_SOURCE, TAG_REQ, s->comm, &st);
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
        MPI_Isend(grant, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_GRANT, s->comm,
                  &rq);
        g_array_append_val(reqs, rq);
        g_array_append_val(bufs, grant);
        if (s->idle)
            s->idle(s->idle_arg);
    }
    MPI_Waitall((int)reqs->len, (MPI_Request *)reqs->data,
                MPI_STATUSES_IGNORE);
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
        MPI_Send(&status, 1, MPI_INT, 0, TAG_REQ, s->comm);
        MPI_Recv(&grant, 1, MPI_INT64_T, 0, TAG_GRANT, s->comm,
                 MPI_STATUS_IGNORE);
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

void mr__sched_free(mr_sched *s)
{
    if (!s)
        return;
    if (s->policy == MR_SCHED_DYNAMIC)
        MPI_Win_free(&s->win);
    g_free(s);
}
