/* st_proc.c -- child processes on pipes, fed and drained in one poll loop.
 *
 * The contract is in st_proc.h. The one loop, pump(), moves bytes both
 * ways until its goal is reached: "all these input bytes written" for
 * st_proc_write, "stdout and stderr at end of file" for st_proc_finish.
 * Each turn polls the pipes that still have work, writes what the stdin
 * pipe takes, and reads what stdout and stderr hold. Stdout lines are
 * handed to the callback straight from the read buffer when they are whole
 * there; only a line cut by the buffer's end is copied (to p->line), so a
 * line may be any length.
 *
 * Pipes are made bigger than Linux's 64 KiB default when the system lets
 * us (F_SETPIPE_SZ; refused above /proc/sys/fs/pipe-max-size or the user's
 * pipe quota, which is fine): fewer poll turns and context switches per
 * megabyte.
 *
 * The child is mr-stream-keeper (st_keeper.c), leader of a process group
 * of its own, which runs `/bin/sh -c CMD`: every process of the command is
 * in that group, which kill(-pid) ends at once, and which the keeper ends
 * when the rank dies.
 */
/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, F_SETPIPE_SZ */
#endif
#include "st_proc.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mr/mr_job.h>

extern char **environ;

#define RBUF_SIZE ((size_t)256 << 10)
#define PIPE_SIZE (1 << 20)

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p)
        abort(); /* out of memory is fatal, as everywhere in mr */
    return p;
}

static int fail(st_proc *p, int status, const char *what, int err)
{
    snprintf(p->msg, sizeof p->msg, "%s: %s", what, strerror(err));
    return status;
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* mr-stream-keeper: beside the job folder of the stream.so we are in. */
static const char *keeper_path(void)
{
    static char path[PATH_MAX];
    if (path[0])
        return path;
#ifdef MR_STREAM_KEEPER_PATH
    snprintf(path, sizeof path, "%s", MR_STREAM_KEEPER_PATH);
#else
    Dl_info di;
    if (!dladdr((void *)keeper_path, &di) || !di.dli_fname)
        return NULL;
    const char *slash = strrchr(di.dli_fname, '/');
    int dirlen = slash ? (int)(slash - di.dli_fname) : 1;
    snprintf(path, sizeof path, "%.*s/%s", dirlen,
             slash ? di.dli_fname : ".", MR_STREAM_KEEPER_REL);
#endif
    return path;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* A close-on-exec pipe whose ends are above 2, so that the child's dup2
 * onto 0, 1, 2 never meets an fd that is already in place (dup2 of an fd
 * onto itself would keep close-on-exec set). */
static int make_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    for (int i = 0; i < 2; i++) {
        if (fds[i] > 2)
            continue;
        int hi = fcntl(fds[i], F_DUPFD_CLOEXEC, 3);
        if (hi < 0) {
            int e = errno;
            close(fds[0]);
            close(fds[1]);
            errno = e;
            return -1;
        }
        close(fds[i]);
        fds[i] = hi;
    }
    return 0;
}

int st_proc_start(st_proc *p, const char *cmd)
{
    memset(p, 0, sizeof *p);
    p->in = p->out = p->err = -1;
    p->rbuf = xrealloc(NULL, RBUF_SIZE);

    int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
    int rc = MR_OK, attr_ok = 0, fa_ok = 0;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    if (make_pipe(pin) != 0 || make_pipe(pout) != 0 || make_pipe(perr) != 0) {
        rc = fail(p, MR_ERROR, "cannot make a pipe", errno);
        goto out;
    }
    /* OPTIMIZATION: bigger pipes, fewer turns of the poll loop. */
    (void)fcntl(pin[1], F_SETPIPE_SZ, PIPE_SIZE);
    (void)fcntl(pout[1], F_SETPIPE_SZ, PIPE_SIZE);

    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    if ((errno = posix_spawnattr_init(&attr)) != 0) {
        rc = fail(p, MR_ERROR, "posix_spawnattr_init", errno);
        goto out;
    }
    attr_ok = 1;
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setpgroup(&attr, 0); /* a group of its own */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
                                        POSIX_SPAWN_SETSIGDEF |
                                        POSIX_SPAWN_SETPGROUP);
    if ((errno = posix_spawn_file_actions_init(&fa)) != 0) {
        rc = fail(p, MR_ERROR, "posix_spawn_file_actions_init", errno);
        goto out;
    }
    fa_ok = 1;
    posix_spawn_file_actions_adddup2(&fa, pin[0], 0);
    posix_spawn_file_actions_adddup2(&fa, pout[1], 1);
    posix_spawn_file_actions_adddup2(&fa, perr[1], 2);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    /* Not even descriptors opened without close-on-exec by others (MPI's
     * sockets and shared memory, a job's files) reach the child. */
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
#endif

    const char *keeper = keeper_path();
    char ppid[24];
    snprintf(ppid, sizeof ppid, "%ld", (long)getpid());
    char *argv[] = {"mr-stream-keeper", ppid, (char *)cmd, NULL};
    pid_t pid;
    int e = keeper ? posix_spawn(&pid, keeper, &fa, &attr, argv, environ)
                   : ENOENT;
    if (e != 0) {
        char what[160]; /* p->msg is 256: the path's end is what says most */
        const char *k = keeper ? keeper : "mr-stream-keeper";
        size_t kl = strlen(k);
        snprintf(what, sizeof what, "cannot start %s%.120s",
                 kl > 120 ? "..." : "", kl > 120 ? k + kl - 120 : k);
        rc = fail(p, MR_ERROR, what, e);
        goto out;
    }
    p->pid = pid;
    p->deadline = 0;
    p->in = pin[1];
    p->out = pout[0];
    p->err = perr[0];
    pin[1] = pout[0] = perr[0] = -1; /* now ours in p */
    fcntl(p->in, F_SETFL, O_NONBLOCK);
    fcntl(p->out, F_SETFL, O_NONBLOCK);
    fcntl(p->err, F_SETFL, O_NONBLOCK);
out:
    for (int i = 0; i < 2; i++) {
        close_fd(&pin[i]);
        close_fd(&pout[i]);
        close_fd(&perr[i]);
    }
    if (fa_ok)
        posix_spawn_file_actions_destroy(&fa);
    if (attr_ok)
        posix_spawnattr_destroy(&attr);
    return rc;
}

/* Hands out the complete lines of data[0..n), keeping an unfinished last
 * line in p->line. */
static int take_stdout(st_proc *p, const char *data, size_t n, st_line_fn *fn,
                       void *arg)
{
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n;
        if (!nl || p->line_len) { /* the line began in an earlier read */
            if (p->line_len + take > p->line_cap) {
                p->line_cap = (p->line_len + take) * 2;
                p->line = xrealloc(p->line, p->line_cap);
            }
            memcpy(p->line + p->line_len, data, take);
            p->line_len += take;
        }
        if (!nl)
            return MR_OK;
        int rc;
        p->lines++;
        if (p->line_len) {
            rc = fn(arg, p->line, p->line_len);
            p->line_len = 0;
        } else {
            rc = fn(arg, data, take);
        }
        if (rc != MR_OK)
            return rc;
        data += take + 1;
        n -= take + 1;
    }
    return MR_OK;
}

static int read_stdout(st_proc *p, st_line_fn *fn, void *arg)
{
    ssize_t n = read(p->out, p->rbuf, RBUF_SIZE);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR
                   ? MR_OK
                   : fail(p, MR_EIO, "reading its output", errno);
    if (n > 0)
        return take_stdout(p, p->rbuf, (size_t)n, fn, arg);
    close_fd(&p->out); /* end of file: a last line without '\n' counts */
    if (p->line_len) {
        size_t len = p->line_len;
        p->line_len = 0;
        p->lines++;
        return fn(arg, p->line, len);
    }
    return MR_OK;
}

static int read_stderr(st_proc *p)
{
    char drop[4096];
    char *dst = drop;
    size_t room = sizeof drop;
    if (p->errlen < sizeof p->errbuf) {
        dst = p->errbuf + p->errlen;
        room = sizeof p->errbuf - p->errlen;
    }
    ssize_t n = read(p->err, dst, room);
    if (n < 0)
        return errno == EAGAIN || errno == EINTR
                   ? MR_OK
                   : fail(p, MR_EIO, "reading its stderr", errno);
    if (n == 0)
        close_fd(&p->err);
    else if (dst != drop)
        p->errlen += (size_t)n;
    return MR_OK;
}

/* Writes what the pipe takes of *data; EPIPE means the child stopped
 * reading: the rest is dropped (see st_proc.h). */
static int write_stdin(st_proc *p, const char **data, size_t *len)
{
    ssize_t n = write(p->in, *data, *len);
    if (n >= 0) {
        *data += n;
        *len -= (size_t)n;
        return MR_OK;
    }
    if (errno == EAGAIN || errno == EINTR)
        return MR_OK;
    if (errno != EPIPE)
        return fail(p, MR_EIO, "writing its input", errno);
    p->input_dropped = 1;
    close_fd(&p->in);
    *len = 0;
    return MR_OK;
}

static void nap_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&t, NULL);
}

/* 1 once the keeper has exited, 0 if not yet, -1 on error (errno). It
 * stays unreaped (a zombie), so that its pid, the group's id, cannot be
 * reused while we may still signal the group. */
static int keeper_exited(const st_proc *p, int block)
{
    siginfo_t si;
    si.si_pid = 0;
    int opts = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
    while (waitid(P_PID, (id_t)p->pid, &si, opts) != 0)
        if (errno != EINTR)
            return -1;
    return si.si_pid == p->pid;
}

/* Ends the command's whole process group (what it left running too) and
 * reaps the keeper: `sig` first, then, `grace` seconds later at the most,
 * SIGKILL, which a program that ignores SIGTERM cannot escape. */
static void end_group(st_proc *p, int sig, double grace)
{
    if (p->pid <= 0)
        return;
    if (sig != SIGKILL) {
        kill(-p->pid, sig);
        for (double until = now() + grace; now() < until;) {
            if (keeper_exited(p, 0) != 0)
                break;
            nap_ms(10);
        }
    }
    kill(-p->pid, SIGKILL);
    while (waitpid(p->pid, &p->status, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
}

/* Past the deadline: SIGTERM, SIGKILL after the grace, and the message
 * says so instead of "killed by signal 15". */
static int timed_out(st_proc *p)
{
    end_group(p, SIGTERM, ST_TERM_GRACE);
    p->timed_out = 1;
    snprintf(p->msg, sizeof p->msg,
             "did not finish within %g s (--task-timeout); killed",
             p->timeout);
    return MR_ERROR;
}

void st_proc_set_timeout(st_proc *p, double seconds)
{
    p->timeout = seconds;
    p->deadline = seconds > 0 ? now() + seconds : 0;
}

/* The loop: until `len` bytes are written (or dropped), and, if `to_eof`,
 * until stdout and stderr are at end of file. */
static int pump(st_proc *p, const char *data, size_t len, int to_eof,
                st_line_fn *fn, void *arg)
{
    if (p->in < 0) /* closed after EPIPE: drop */
        len = 0;
    while (len > 0 || (to_eof && (p->out >= 0 || p->err >= 0))) {
        struct pollfd fds[3];
        int nfds = 0, iin = -1, iout = -1, ierr = -1;
        if (len > 0) {
            iin = nfds;
            fds[nfds++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
        }
        if (p->out >= 0) {
            iout = nfds;
            fds[nfds++] = (struct pollfd){.fd = p->out, .events = POLLIN};
        }
        if (p->err >= 0) {
            ierr = nfds;
            fds[nfds++] = (struct pollfd){.fd = p->err, .events = POLLIN};
        }
        int wait_ms = -1;
        if (p->deadline > 0) {
            double left = p->deadline - now();
            if (left <= 0)
                return timed_out(p);
            wait_ms = (int)(left * 1000) + 1;
        }
        if (poll(fds, (nfds_t)nfds, wait_ms) < 0) {
            if (errno == EINTR)
                continue;
            return fail(p, MR_EIO, "poll", errno);
        }
        int rc = MR_OK;
        if (iin >= 0 && fds[iin].revents)
            rc = write_stdin(p, &data, &len);
        if (rc == MR_OK && iout >= 0 && fds[iout].revents)
            rc = read_stdout(p, fn, arg);
        if (rc == MR_OK && ierr >= 0 && fds[ierr].revents)
            rc = read_stderr(p);
        if (rc != MR_OK)
            return rc;
    }
    return MR_OK;
}

int st_proc_write(st_proc *p, const void *data, size_t len, st_line_fn *fn,
                  void *arg)
{
    return pump(p, data, len, 0, fn, arg);
}

int st_proc_finish(st_proc *p, st_line_fn *fn, void *arg)
{
    close_fd(&p->in);
    int rc = pump(p, NULL, 0, 1, fn, arg);
    if (rc != MR_OK)
        return rc;
    int done; /* it may close its pipes and still not exit */
    while ((done = keeper_exited(p, p->deadline <= 0)) == 0) {
        if (now() >= p->deadline)
            return timed_out(p);
        nap_ms(5);
    }
    if (done < 0)
        return fail(p, MR_ERROR, "waitid", errno);
    end_group(p, SIGKILL, 0); /* what it left in the background goes */
    return MR_OK;
}

int st_proc_failed(const st_proc *p)
{
    return !WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0;
}

void st_proc_describe(const st_proc *p, char *buf, size_t size)
{
    int s = p->status;
    if (WIFEXITED(s))
        snprintf(buf, size, "exit status %d", WEXITSTATUS(s));
    else if (WIFSIGNALED(s))
        snprintf(buf, size, "killed by signal %d (%s)%s", WTERMSIG(s),
                 strsignal(WTERMSIG(s)), WCOREDUMP(s) ? ", core dumped" : "");
    else
        snprintf(buf, size, "wait status 0x%x", (unsigned)s);
}

void st_proc_stderr_head(const st_proc *p, int max_lines, char *buf,
                         size_t size)
{
    size_t o = 0, i = 0;
    if (size == 0)
        return;
    buf[0] = '\0';
    for (int l = 0; l < max_lines && i < p->errlen; l++) {
        const char *prefix = "\n    ";
        size_t want = strlen(prefix) + 1;
        if (o + want >= size)
            break;
        memcpy(buf + o, prefix, strlen(prefix));
        o += strlen(prefix);
        for (; i < p->errlen && p->errbuf[i] != '\n'; i++) {
            if (o + 1 >= size)
                continue; /* no room: skip to the end of the line */
            unsigned char c = (unsigned char)p->errbuf[i];
            buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
        }
        i++; /* past '\n' */
    }
    buf[o] = '\0';
}

void st_proc_kill(st_proc *p)
{
    if (!p->rbuf)
        return; /* never started, or already released */
    close_fd(&p->in);
    close_fd(&p->out);
    close_fd(&p->err);
    end_group(p, SIGKILL, 0);
    free(p->rbuf);
    free(p->line);
    p->rbuf = p->line = NULL;
    p->line_len = p->line_cap = 0;
}
