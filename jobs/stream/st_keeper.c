/* st_keeper.c -- mr-stream-keeper PARENT_PID CMD: runs `/bin/sh -c CMD`
 * for the stream job so that nothing it starts outlives the rank.
 *
 * The stream job spawns this as the leader of a process group of its own;
 * every program CMD starts is in that group. The rank ends the group with
 * kill(-pgid) (a stop, a --task-timeout: SIGTERM, SIGKILL after a grace).
 * If the rank itself is killed (SIGKILL: it can do nothing), the kernel
 * sends us SIGTERM (PR_SET_PDEATHSIG), and we kill the group: PDEATHSIG
 * reaches only a direct child, so without us a grandchild (`sleep` under
 * `sh -c`) would run on under PID 1. A SIGTERM while the rank lives is
 * the rank's own to the group: the command gets it too, and we stay to
 * report how it ended. Our exit mirrors the command's: its exit status,
 * or death by the same signal.
 */
/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t parent;

static void on_parent_death(int sig)
{
    (void)sig;
    if (getppid() == parent)
        return; /* the rank's SIGTERM to the group, not its death */
    kill(-getpgrp(), SIGKILL); /* the whole group, us included */
    _exit(137);
}

int main(int argc, char **argv)
{
    if (argc != 3)
        return 2;
    parent = (pid_t)atol(argv[1]);
    struct sigaction sa = {.sa_handler = on_parent_death};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL); /* before the child: no gap */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    on_parent_death(SIGTERM); /* the rank may have died before prctl */
    pid_t c = fork();
    if (c < 0)
        return 126;
    if (c == 0) { /* exec resets the handler: the command starts clean */
        execl("/bin/sh", "sh", "-c", argv[2], (char *)NULL);
        _exit(127);
    }
    int st;
    while (waitpid(c, &st, 0) < 0)
        if (errno != EINTR)
            return 126;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    int sig = WTERMSIG(st);
    struct rlimit none = {0, 0};
    setrlimit(RLIMIT_CORE, &none); /* the command's core, if any, is made */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
}
