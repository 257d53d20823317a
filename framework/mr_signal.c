/* mr_signal.c -- signals: stop cleanly when asked, say where when crashing.
 *
 * Stop requests. Batch schedulers warn before they kill: SGE's `qsub
 * -notify` sends SIGUSR2 before SIGKILL (and SIGUSR1 before SIGSTOP),
 * Slurm sends SIGTERM at the walltime, and mpirun forwards these to every
 * rank. The handler removes the unfinished output file at once (unlink is
 * async-signal-safe; the kill may follow within seconds) and raises a flag
 * that the engine checks between map tasks and at every phase boundary, so
 * the run ends with MR_ESTOP and a message instead of a truncated file. A
 * second signal ends the process at once.
 *
 * A rank whose launcher dies (mpirun killed; Open MPI starts ranks in
 * process groups of their own, so a signal to mpirun's group does not
 * reach them) would otherwise compute on and even write its output after
 * the run was killed. Ranks started by a launcher (OMPI_COMM_WORLD_SIZE,
 * PMIX_RANK or PMI_RANK set) therefore remember their parent and stop, as
 * for a signal, when it changes; and mr_out_commit() refuses to rename a
 * file into place then.
 *
 * Crashes. On SIGSEGV, SIGBUS, SIGFPE, SIGILL and SIGABRT (a job's bug,
 * an abort() in a plugin) the handler writes one line naming the rank, the
 * host, the phase and the map task, removes the unfinished output, and
 * re-raises the signal with its default action, so mpirun sees the crash
 * and ends the other ranks. A job that calls exit() in the middle of a run
 * is reported the same way from an atexit handler, which ends the process
 * with status 70 even after exit(0). The "where" is kept in
 * static buffers that the engine updates at each phase and task, so the
 * handler only reads memory and calls write().
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_signal.h"

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int final; /* the run is over: later stops are ignored */
static void say(const char *s);

/* Set by mr_outfile.c (mr__signal_set_outputs): the handler reaches the
 * outputs through these, so that this file depends on no other. */
static void (*_Atomic out_unlink_open)(void);
static void (*_Atomic out_unlink_committed)(mr_removed_fn *removed, void *arg);

void mr__signal_set_outputs(void (*unlink_open)(void),
                            void (*unlink_committed)(mr_removed_fn *removed,
                                                     void *arg))
{
    atomic_store(&out_unlink_open, unlink_open);
    atomic_store(&out_unlink_committed, unlink_committed);
}

static void unlink_outputs(void)
{
    void (*f)(void) = atomic_load(&out_unlink_open);
    if (f)
        f();
}

static void unlink_committed_all(mr_removed_fn *removed, void *arg)
{
    void (*f)(mr_removed_fn *, void *) = atomic_load(&out_unlink_committed);
    if (f)
        f(removed, arg);
}

static void say_removed(const char *path, void *arg)
{
    (void)arg;
    say("mr-run: stopped as the run ended: removed ");
    say(path);
    say(" (the run fails, so it leaves no output)\n");
}

/* A stop before the exit status is decided makes the run fail, so what it
 * committed must go too: exit 0 if and only if every output is there. */
static void unlink_committed(void)
{
    if (atomic_load(&final))
        return;
    unlink_committed_all(say_removed, NULL);
}
/* Atomics, not volatile: the handler may run on any thread (Open MPI's
 * own among them) while main reads them; lock-free atomics are
 * async-signal-safe. */
static atomic_int pending;
static pid_t launcher; /* 0: not started by a launcher */

/* Where the run is: "mr-run: rank 3 on node7, map, task 12: " */
static char where[256];
static volatile sig_atomic_t where_len, running;

void mr__signal_where(const mr_ctx *ctx)
{
    int n;
    if (ctx->phase == MR_PH_MAP && ctx->task >= 0)
        n = snprintf(where, sizeof where, "mr-run: rank %d on %s, %s, task "
                     "%ld: ", ctx->rank, ctx->host,
                     mr__phase_names[ctx->phase], ctx->task);
    else
        n = snprintf(where, sizeof where, "mr-run: rank %d on %s, %s: ",
                     ctx->rank, ctx->host, mr__phase_names[ctx->phase]);
    where_len = n < (int)sizeof where ? n : (int)sizeof where - 1;
}

void mr__signal_loading(const char *path)
{
    if (!path) {
        where_len = 0;
        running = 0;
        return;
    }
    int init = 0, rank = 0;
    MPI_Initialized(&init);
    if (init)
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int n = snprintf(where, sizeof where, "mr-run: rank %d on %s, loading "
                     "%s: ", rank, g_get_host_name(), path);
    where_len = n < (int)sizeof where ? n : (int)sizeof where - 1;
    running = 1;
}

char *mr__signal_where_text(void)
{
    return where_len ? g_strndup(where, (gsize)where_len) : NULL;
}

void mr__signal_running(int on)
{
    running = on;
}

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

static void on_stop(int sig)
{
    if (atomic_load(&final))
        return; /* after the run: its outputs and status stand */
    unlink_outputs();
    /* pending before the look at `final` (in unlink_committed), as
     * mr_signals_final sets final before it reads pending: one of the two
     * sees the other, so a removed output is never an exit 0. */
    int first = atomic_exchange(&pending, sig) == 0;
    unlink_committed();
    if (!first)
        _exit(128 + sig);
}

static void on_crash(int sig)
{
    unlink_outputs();
    unlink_committed();
    if (running) {
        ssize_t r = write(STDERR_FILENO, where, (size_t)where_len);
        (void)r;
        say("crashed with signal ");
        char num[8];
        int n = 0, s = sig;
        do
            num[n++] = (char)('0' + s % 10);
        while ((s /= 10) && n < 7);
        while (n)
            r = write(STDERR_FILENO, &num[--n], 1);
        say(" (");
        say(sig == SIGSEGV   ? "segmentation fault"
            : sig == SIGBUS  ? "bus error"
            : sig == SIGFPE  ? "arithmetic error"
            : sig == SIGILL  ? "illegal instruction"
            : sig == SIGABRT ? "aborted"
                             : "fatal");
        say(")\n");
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

static void on_exit_call(void)
{
    if (running) {
        ssize_t r = write(STDERR_FILENO, where, (size_t)where_len);
        (void)r;
        say("the job called exit() in the middle of the run\n");
        unlink_outputs();
        unlink_committed();
        /* Even exit(0): the run did not finish, so the status must say so
         * (70 is EX_SOFTWARE) and mpirun must end the other ranks. */
        _exit(70);
    }
}

void mr_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    int stops[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof stops / sizeof *stops; i++)
        sigaction(stops[i], &sa, NULL);
    sa.sa_handler = on_crash;
    sa.sa_flags = SA_RESETHAND;
    int crashes[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
    for (size_t i = 0; i < sizeof crashes / sizeof *crashes; i++)
        sigaction(crashes[i], &sa, NULL);
    static int atexit_done;
    if (!atexit_done++)
        atexit(on_exit_call);
    if (getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") ||
        getenv("PMI_RANK"))
        launcher = getppid();
}

static void print_removed(const char *path, void *why)
{
    fprintf(stderr, "mr-run: %s as the run ended: removed %s (the run "
            "fails, so it leaves no output)\n", (const char *)why, path);
}

int mr_signals_final(int rc, MPI_Comm comm)
{
    atomic_store(&final, 1);
    int mine[2] = {rc, atomic_load(&pending)}, all[2] = {rc, mine[1]};
    int init = 0, fin = 0, rank = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    if (init && !fin) {
        MPI_Comm_rank(comm, &rank);
        MPI_Allreduce(mine, all, 2, MPI_INT, MPI_MAX, comm);
    }
    if (all[0] == 0 && all[1] == 0)
        return 0;
    /* Some rank failed or was stopped: every rank says so, and no output
     * of the run is left (rank 0's, already committed, included). */
    unlink_committed_all(print_removed,
                             all[1] ? "stopped by a signal" : "a rank failed");
    if (all[0])
        return rc ? rc : 1;
    if (rank == 0 && !mine[1])
        fprintf(stderr, "mr-run: stopped by signal %d (%s) on another rank "
                "as the run ended\n", all[1], strsignal(all[1]));
    return 128 + all[1];
}

/* Set by the monitor thread when another rank failed or was stopped. */
static atomic_int remote_rank = -1;
static char remote_msg[320];
static atomic_int failed;

void mr__stop_remote(int rank, const char *host)
{
    int none = -1;
    if (!atomic_compare_exchange_strong(&remote_rank, &none, -2))
        return; /* the first one is kept */
    snprintf(remote_msg, sizeof remote_msg, MR_STOP_REMOTE "%d on %s failed",
             rank, host);
    atomic_store(&remote_rank, rank);
}

void mr__stop_reset(void)
{
    atomic_store(&failed, 0);
    atomic_store(&remote_rank, -1);
}

void mr__signal_failed(void)
{
    atomic_store(&failed, 1);
}

int mr__signal_local_stop(void)
{
    return atomic_load(&failed) || atomic_load(&pending) ||
           (launcher && getppid() != launcher);
}

const char *mr__stop_reason(void)
{
    static char msg[96];
    int sig = atomic_load(&pending);
    if (sig) {
        snprintf(msg, sizeof msg, "stopped by signal %d (%s)%s", sig,
                 strsignal(sig),
                 sig == SIGUSR1 || sig == SIGUSR2
                     ? ": the batch scheduler's warning"
                     : "");
        return msg;
    }
    if (launcher && getppid() != launcher)
        return "stopped: the launcher (mpirun) that started this rank is "
               "gone";
    if (atomic_load(&remote_rank) >= 0)
        return remote_msg;
    return NULL;
}
