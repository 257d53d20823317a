/* mr_monitor.c -- a thread beside the engine on every rank: heartbeats,
 * live progress counts and the dynamic schedule's claims.
 *
 * Everything here is point-to-point on a communicator of its own (a
 * duplicate of the run's), so mr needs no one-sided MPI: Debian's stock
 * Open MPI leaves no window component that spans hosts over TCP, and over
 * TCP a window's atomics wait on the target calling MPI anyway.
 *
 *   heartbeats  every rank sends rank 0 its (tasks done, bytes read) once a
 *               second, and rank 0 sends every rank a beat. A rank that
 *               hears nothing from a peer for --stall-timeout seconds
 *               names it and ends the run (MPI_Abort): a stopped process,
 *               a pulled cable or a frozen host is noticed in seconds, not
 *               after TCP's keepalive (minutes). A monitor that finds it
 *               was itself frozen (a suspended job) forgives its peers.
 *   stops       a rank that fails (mr_error) or is told to stop (a
 *               signal) tells rank 0, which tells everyone: every rank's
 *               next check (between tasks, at every input chunk) stops it,
 *               so one failure ends the run in a second or two, not at the
 *               end of the others' long tasks.
 *   progress    rank 0's thread prints the map's progress line from the
 *               counts that came with the beats (mr_progress.c formats it),
 *               also while rank 0 itself waits or runs a long task.
 *   claims      under `dynamic`, a worker sends rank 0 a claim and waits
 *               for its grant; rank 0's monitor (and rank 0's main thread
 *               after each of its tasks) answers from a counter that rank
 *               0's tasks claim from directly. A claim so never waits for
 *               rank 0's current task to end.
 *
 * The thread polls (Iprobe, then a short sleep: 1 ms while claims may come,
 * 50 ms otherwise) instead of blocking in MPI, because a blocked Open MPI
 * receive spins a core. The sleep is a wait on a condition that
 * claims_begin and stop signal: the map's first claims are not left
 * waiting for the end of a 50 ms nap (a worker started its first task up
 * to 50 ms after rank 0 when rank 0's tasks were long: matmul, issue 23),
 * and the run does not end with one either. It needs
 * MPI_THREAD_MULTIPLE; without it there is no thread, no stall detection,
 * and `dynamic` runs as `master`.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_monitor.h"
#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_signal.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { TAG_BEAT = 1, TAG_CLAIM = 2, TAG_GRANT = 3, TAG_STOP = 4 };
#define HOST_LEN 64
#define BEAT_EVERY 1.0 /* seconds between heartbeats */

struct mr_monitor {
    MPI_Comm comm;
    int rank, nranks, threaded;
    double stall;
    char (*hosts)[HOST_LEN];
    GThread *thread;
    atomic_int quit;
    /* this rank's counts, stored by the main thread */
    _Atomic uint64_t done, bytes;
    /* rank 0: everyone's counts, from their beats */
    _Atomic uint64_t *counts; /* 2 per rank */
    /* claims (rank 0): the next unclaimed task, and how many there are */
    _Atomic int64_t next;
    _Atomic int64_t ntasks;
    atomic_int claims_on;
    /* beats and stops sent to and received from each peer, for the
     * closing drain */
    uint64_t *sent, *recvd;
    MPI_Request *beat_req; /* one beat in flight per peer */
    uint64_t beat_buf[2];
    MPI_Request *stop_req; /* stops: once per peer and run */
    uint64_t stop_buf[2];
    int stop_sent;
    /* the progress line: called by rank 0's thread every `every` s */
    GMutex report_lock;
    void (*report)(void *arg);
    void *report_arg;
    double report_every;
    /* the thread's nap, cut short by poke() */
    GMutex nap_lock;
    GCond nap_cond;
    int poked; /* under nap_lock */
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void nap(mr_monitor *m, double s)
{
    gint64 end = g_get_monotonic_time() + (gint64)(s * 1e6);
    g_mutex_lock(&m->nap_lock);
    while (!m->poked && g_cond_wait_until(&m->nap_cond, &m->nap_lock, end))
        ;
    m->poked = 0;
    g_mutex_unlock(&m->nap_lock);
}

/* Wakes the thread from its nap (or makes its next one return at once). */
static void poke(mr_monitor *m)
{
    g_mutex_lock(&m->nap_lock);
    m->poked = 1;
    g_cond_signal(&m->nap_cond);
    g_mutex_unlock(&m->nap_lock);
}

/* Rank 0's answer to a claim (or its own claim): a guided chunk of about
 * remaining/(2P) tasks. A failing claimer pushes the counter past the end,
 * so that every rank stops taking work. */
static int grant(mr_monitor *m, int status, int64_t *first, int64_t *count)
{
    int64_t n = atomic_load(&m->ntasks), want;
    if (status != MR_OK) {
        atomic_fetch_add(&m->next, n + 1);
        return 0;
    }
    want = (n - atomic_load(&m->next)) / (2 * (int64_t)m->nranks);
    if (want < 1)
        want = 1;
    int64_t old = atomic_fetch_add(&m->next, want);
    if (old >= n)
        return 0;
    *first = old;
    *count = (old + want > n ? n : old + want) - old;
    return 1;
}

static void send_beat(mr_monitor *m, int to)
{
    int done;
    MR_MPI(MPI_Test(&m->beat_req[to], &done, MPI_STATUS_IGNORE));
    if (!done)
        return; /* the last one is still on its way: no pile-up */
    m->beat_buf[0] = atomic_load_explicit(&m->done, memory_order_relaxed);
    m->beat_buf[1] = atomic_load_explicit(&m->bytes, memory_order_relaxed);
    MR_MPI(MPI_Isend(m->beat_buf, 2, MPI_UINT64_T, to, TAG_BEAT, m->comm,
                     &m->beat_req[to]));
    m->sent[to]++;
}

/* Tells rank 0, or (rank 0) everyone but `origin`'s relay, that rank
 * `origin` failed. Once per run. */
static void send_stop(mr_monitor *m, int origin)
{
    if (m->stop_sent)
        return;
    m->stop_sent = 1;
    m->stop_buf[0] = (uint64_t)origin;
    for (int r = 0; r < m->nranks; r++) {
        if (r == m->rank || (m->rank != 0 && r != 0) ||
            (m->rank == 0 && r == origin))
            continue;
        MR_MPI(MPI_Isend(m->stop_buf, 2, MPI_UINT64_T, r, TAG_STOP, m->comm,
                         &m->stop_req[r]));
        m->sent[r]++;
    }
}

/* Receives every beat and stop that has arrived. */
static void take_messages(mr_monitor *m, double *heard, double t)
{
    for (;;) {
        int flag;
        MPI_Status st;
        MR_MPI(MPI_Iprobe(m->rank == 0 ? MPI_ANY_SOURCE : 0, MPI_ANY_TAG,
                          m->comm, &flag, &st));
        if (!flag || (st.MPI_TAG != TAG_BEAT && st.MPI_TAG != TAG_STOP))
            return; /* claims are for serve_claims, grants for the worker */
        uint64_t v[2];
        int src = st.MPI_SOURCE;
        MR_MPI(MPI_Recv(v, 2, MPI_UINT64_T, src, st.MPI_TAG, m->comm,
                        MPI_STATUS_IGNORE));
        m->recvd[src]++;
        heard[src] = t;
        if (st.MPI_TAG == TAG_STOP) {
            int origin = v[0] < (uint64_t)m->nranks ? (int)v[0] : src;
            mr__stop_remote(origin, m->hosts[origin]);
            if (m->rank == 0)
                send_stop(m, origin);
        } else if (m->rank == 0) {
            atomic_store(&m->counts[2 * src], v[0]);
            atomic_store(&m->counts[2 * src + 1], v[1]);
        }
    }
}

/* Answers the claims that have arrived. Both of rank 0's threads call it
 * (the main one between its tasks), so a claim is taken with a matched
 * probe: a message seen by one thread cannot be received by the other. */
static void serve_claims(mr_monitor *m)
{
    for (;;) {
        int flag, status;
        MPI_Status st;
        MPI_Message msg;
        MR_MPI(MPI_Improbe(MPI_ANY_SOURCE, TAG_CLAIM, m->comm, &flag, &msg,
                           &st));
        if (!flag)
            return;
        MR_MPI(MPI_Mrecv(&status, 1, MPI_INT, &msg, MPI_STATUS_IGNORE));
        int64_t g[2] = {-1, 0};
        if (!grant(m, status, &g[0], &g[1]))
            g[0] = -1;
        MR_MPI(MPI_Send(g, 2, MPI_INT64_T, st.MPI_SOURCE, TAG_GRANT,
                        m->comm));
    }
}

static void say(const char *msg, int n, size_t size)
{
    if (n > 0) {
        ssize_t w = write(STDERR_FILENO, msg,
                          (size_t)n < size ? (size_t)n : size - 1);
        (void)w;
    }
}

/* Half the limit: a warning, once per silence. */
static void quiet_warning(mr_monitor *m, int peer, double quiet)
{
    char msg[320];
    say(msg, snprintf(msg, sizeof msg,
                      "mr-run: rank %d on %s: no heartbeat from rank %d on %s "
                      "for %.0f s (the run ends at %.0f s: --stall-timeout)\n",
                      m->rank, m->hosts[m->rank], peer, m->hosts[peer], quiet,
                      m->stall),
        sizeof msg);
}

static void stalled(mr_monitor *m, int peer, double quiet)
{
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "mr-run: rank %d on %s: no heartbeat from rank %d on %s "
                     "for %.0f s: it is stopped, hung or cut off from the "
                     "network; ending the run (--stall-timeout %.0f)\n",
                     m->rank, m->hosts[m->rank], peer, m->hosts[peer], quiet,
                     m->stall);
    say(msg, n, sizeof msg);
    mr__out_fail();
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}

static gpointer run(gpointer p)
{
    mr_monitor *m = p;
    int P = m->nranks;
    double *heard = g_new(double, P);
    int *warned = g_new0(int, P);
    double t = now_s(), last_beat = 0, last_loop = t, last_report = t;
    for (int r = 0; r < P; r++)
        heard[r] = t;
    while (!atomic_load(&m->quit)) {
        t = now_s();
        /* A gap in our own loop means this process was stopped or
         * starved (a suspended job): silence then says nothing of them. */
        if (t - last_loop > 3 * BEAT_EVERY)
            for (int r = 0; r < P; r++)
                heard[r] = t;
        last_loop = t;
        take_messages(m, heard, t);
        if (mr__signal_local_stop())
            send_stop(m, m->rank);
        if (m->rank == 0)
            serve_claims(m);
        if (t - last_beat >= BEAT_EVERY) {
            last_beat = t;
            if (m->rank == 0)
                for (int r = 1; r < P; r++)
                    send_beat(m, r);
            else
                send_beat(m, 0);
        }
        if (m->stall > 0) {
            /* Rank 0 watches everyone, the others watch rank 0; if rank 0
             * stops, rank 1 says so first and the rest wait a little
             * longer, so that one message names it. */
            for (int r = 0; r < P; r++) {
                if (r == m->rank || (m->rank != 0 && r != 0))
                    continue;
                double limit = m->stall + (m->rank > 1 ? 5.0 : 0.0);
                if (t - heard[r] > limit)
                    stalled(m, r, t - heard[r]);
                if (t - heard[r] > limit / 2 && !warned[r] && m->rank <= 1)
                    quiet_warning(m, r, t - heard[r]);
                warned[r] = t - heard[r] > limit / 2;
            }
        }
        g_mutex_lock(&m->report_lock);
        if (m->report && t - last_report >= m->report_every) {
            m->report(m->report_arg);
            last_report = t;
        }
        g_mutex_unlock(&m->report_lock);
        nap(m, m->rank == 0 && atomic_load(&m->claims_on) ? 0.001 : 0.05);
    }
    for (int r = 0; r < P; r++)
        if (r != m->rank) {
            MR_MPI(MPI_Wait(&m->beat_req[r], MPI_STATUS_IGNORE));
            MR_MPI(MPI_Wait(&m->stop_req[r], MPI_STATUS_IGNORE));
        }
    g_free(heard);
    g_free(warned);
    return NULL;
}

mr_monitor *mr__monitor_start(MPI_Comm comm, double stall_timeout)
{
    mr_monitor *m = g_new0(mr_monitor, 1);
    int level;
    MR_MPI(MPI_Comm_rank(comm, &m->rank));
    MR_MPI(MPI_Comm_size(comm, &m->nranks));
    MR_MPI(MPI_Query_thread(&level));
    m->threaded = level == MPI_THREAD_MULTIPLE && m->nranks > 1;
    m->stall = stall_timeout;
    int P = m->nranks;
    m->hosts = g_malloc0((size_t)P * HOST_LEN);
    char me[HOST_LEN] = "?";
    if (gethostname(me, sizeof me - 1) != 0)
        g_strlcpy(me, "?", sizeof me);
    MR_MPI(MPI_Allgather(me, HOST_LEN, MPI_CHAR, m->hosts, HOST_LEN,
                         MPI_CHAR, comm));
    m->counts = g_new0(_Atomic uint64_t, 2 * (size_t)P);
    m->sent = g_new0(uint64_t, P);
    m->recvd = g_new0(uint64_t, P);
    m->beat_req = g_new(MPI_Request, P);
    m->stop_req = g_new(MPI_Request, P);
    for (int r = 0; r < P; r++)
        m->beat_req[r] = m->stop_req[r] = MPI_REQUEST_NULL;
    g_mutex_init(&m->report_lock);
    g_mutex_init(&m->nap_lock);
    g_cond_init(&m->nap_cond);
    mr__stop_reset();
    if (!m->threaded)
        return m;
    MR_MPI(MPI_Comm_dup(comm, &m->comm));
    /* Signals go to the main thread, whose handlers know what to do. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    m->thread = g_thread_new("mr-monitor", run, m);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return m;
}

/* Collective. */
void mr__monitor_stop(mr_monitor *m)
{
    if (!m)
        return;
    if (m->threaded) {
        /* No rank still waits for a grant from rank 0's thread. */
        MR_MPI(MPI_Barrier(m->comm));
        atomic_store(&m->quit, 1);
        poke(m);
        g_thread_join(m->thread);
        /* Receive the beats and stops still on their way, so that nothing
         * is left unmatched at MPI_Finalize: each side learns how many the
         * other sent it. */
        int P = m->nranks;
        uint64_t *to0 = m->rank == 0 ? g_new(uint64_t, P) : NULL, from0 = 0;
        MR_MPI(MPI_Gather(&m->sent[0], 1, MPI_UINT64_T, to0, 1, MPI_UINT64_T,
                          0, m->comm));
        MR_MPI(MPI_Scatter(m->sent, 1, MPI_UINT64_T, &from0, 1, MPI_UINT64_T,
                           0, m->comm));
        uint64_t v[2];
        for (int r = 0; r < P; r++) {
            uint64_t want = m->rank == 0 ? (r ? to0[r] : 0)
                                         : (r == 0 ? from0 : 0);
            for (; m->recvd[r] < want; m->recvd[r]++)
                MR_MPI(MPI_Recv(v, 2, MPI_UINT64_T, r, MPI_ANY_TAG, m->comm,
                                MPI_STATUS_IGNORE));
        }
        g_free(to0);
        MR_MPI(MPI_Comm_free(&m->comm));
    }
    g_free(m->hosts);
    g_free(m->counts);
    g_free(m->sent);
    g_free(m->recvd);
    g_free(m->beat_req);
    g_free(m->stop_req);
    g_mutex_clear(&m->report_lock);
    g_mutex_clear(&m->nap_lock);
    g_cond_clear(&m->nap_cond);
    g_free(m);
}

void mr__monitor_set_report(mr_monitor *m, void (*fn)(void *arg), void *arg,
                            double every)
{
    g_mutex_lock(&m->report_lock);
    m->report = fn;
    m->report_arg = arg;
    m->report_every = every;
    g_mutex_unlock(&m->report_lock);
}

int mr__monitor_threaded(const mr_monitor *m)
{
    return m && m->threaded;
}

void mr__monitor_set_counts(mr_monitor *m, uint64_t done, uint64_t bytes)
{
    atomic_store_explicit(&m->done, done, memory_order_relaxed);
    atomic_store_explicit(&m->bytes, bytes, memory_order_relaxed);
}

void mr__monitor_counts(mr_monitor *m, uint64_t *done, uint64_t *bytes)
{
    *done = atomic_load_explicit(&m->done, memory_order_relaxed);
    *bytes = atomic_load_explicit(&m->bytes, memory_order_relaxed);
    if (m->rank != 0)
        return;
    for (int r = 1; r < m->nranks; r++) {
        *done += atomic_load(&m->counts[2 * r]);
        *bytes += atomic_load(&m->counts[2 * r + 1]);
    }
}

void mr__monitor_claims_begin(mr_monitor *m, size_t ntasks)
{
    atomic_store(&m->next, 0);
    atomic_store(&m->ntasks, (int64_t)ntasks);
    atomic_store(&m->claims_on, 1);
    if (m->threaded)
        poke(m);
}

void mr__monitor_claims_end(mr_monitor *m)
{
    atomic_store(&m->claims_on, 0);
}

void mr__monitor_serve(mr_monitor *m)
{
    if (m->threaded && m->rank == 0)
        serve_claims(m);
}

int mr__monitor_claim(mr_monitor *m, int status, size_t *first,
                      size_t *count)
{
    int64_t g[2];
    if (m->rank == 0) {
        if (!grant(m, status, &g[0], &g[1]))
            return 0;
    } else {
        MR_MPI(MPI_Send(&status, 1, MPI_INT, 0, TAG_CLAIM, m->comm));
        MR_MPI(MPI_Recv(g, 2, MPI_INT64_T, 0, TAG_GRANT, m->comm,
                        MPI_STATUS_IGNORE));
        if (g[0] < 0)
            return 0;
    }
    *first = (size_t)g[0];
    *count = (size_t)g[1];
    return 1;
}
