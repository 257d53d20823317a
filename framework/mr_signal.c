/* mr_signal.c -- stop cleanly on SIGTERM, SIGINT, SIGUSR1 and SIGUSR2.
 *
 * Batch schedulers warn before they kill: SGE's `qsub -notify` sends
 * SIGUSR2 before SIGKILL (and SIGUSR1 before SIGSTOP), Slurm sends SIGTERM
 * at the walltime, and mpirun forwards these to every rank. The handler
 * removes the unfinished output file at once (unlink is async-signal-safe;
 * the kill may follow within seconds) and raises a flag that the engine
 * checks between map tasks and at every phase boundary, so the run ends
 * with MR_ESTOP and a message instead of a truncated file. A second signal
 * of the same kind ends the process at once.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

#include <limits.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

extern char mr__out_tmp[PATH_MAX];
static volatile sig_atomic_t pending;

static void on_signal(int sig)
{
    if (mr__out_tmp[0])
        unlink(mr__out_tmp);
    if (pending)
        _exit(128 + sig);
    pending = sig;
}

void mr_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
        sigaction(sigs[i], &sa, NULL);
}

int mr__signal_pending(void)
{
    return pending;
}
