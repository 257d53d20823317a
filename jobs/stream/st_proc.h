/* st_proc.h -- a child process fed on stdin and drained of stdout and
 * stderr at the same time, for the stream job.
 *
 * st_proc_start() runs `/bin/sh -c CMD` with posix_spawn(), its three
 * standard streams on non-blocking pipes. st_proc_write() hands it bytes
 * and, while the pipe to it is full, reads what it writes: every complete
 * stdout line goes to a callback as soon as it is read, and stderr is kept
 * (its first ST_ERR_KEEP bytes; the rest is read and dropped). Because both
 * directions move inside one poll() loop, a child that writes gigabytes
 * before it reads its input, or reads everything before it writes, never
 * deadlocks with us. st_proc_finish() closes its stdin, drains both pipes
 * to end of file and reaps it.
 *
 * A child that exits (or closes its stdin) before reading all its input
 * makes our write() fail with EPIPE: the job ignores SIGPIPE, so that is a
 * return code, not a death. The rest of the input is then dropped and the
 * exit status decides, as in a shell pipeline (`head -1` is a fine
 * mapper). It cannot be an error by itself anyway: whether the write fails
 * depends on timing (the bytes may all have fitted in the pipe before the
 * child left).
 *
 * The child gets default dispositions for every signal and an empty signal
 * mask (mr-run ignores SIGPIPE and handles SIGTERM, and ignored signals
 * would otherwise be inherited), mr-run's environment, and no descriptor
 * but its three pipes (ours are close-on-exec, and with glibc >= 2.34 all
 * others above 2 are closed in the child too). It runs under
 * mr-stream-keeper in a process group of its own: its end, st_proc_kill()
 * and a timeout end the whole group, and the keeper ends it if the rank
 * dies.
 *
 * Errors: MR_OK, a callback's own non-zero status (passed through, the
 * callback has said why), or MR_ERROR / MR_EIO with the reason in
 * p->msg. Running out of memory aborts.
 */
/* SPDX-License-Identifier: MIT */
#ifndef ST_PROC_H
#define ST_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ST_ERR_KEEP 4096 /* bytes of a child's stderr kept for messages */
#define ST_TERM_GRACE 2.0 /* s from SIGTERM to SIGKILL on a timeout */

/* Called once per stdout line, without its '\n' (a last line without one
 * counts too). Borrowed: valid for the call. Non-zero stops the exchange
 * and is returned as is. */
typedef int st_line_fn(void *arg, const char *line, size_t len);

typedef struct st_proc {
    /* read-only */
    pid_t pid;         /* 0: not running (never started, or reaped) */
    int status;        /* wait status, once reaped */
    uint64_t lines;    /* stdout lines handed to the callback so far */
    int input_dropped; /* it stopped reading: the rest of its input went */
    char errbuf[ST_ERR_KEEP]; /* first bytes of its stderr */
    size_t errlen;
    char msg[256]; /* why the last MR_ERROR / MR_EIO happened */
    int timed_out; /* ended by st_proc_set_timeout's limit */
    double timeout;  /* seconds, 0: none */
    double deadline; /* CLOCK_MONOTONIC seconds, 0: none */
    /* private */
    int in, out, err; /* our pipe ends, -1 once closed */
    char *rbuf;       /* read buffer */
    char *line;       /* the unfinished last stdout line */
    size_t line_len, line_cap;
} st_proc;

/* Starts `/bin/sh -c cmd`. p is caller-allocated; it needs no init before
 * and must be released with st_proc_kill() (also after st_proc_finish()).
 * Returns MR_OK or MR_ERROR (p->msg says why). */
int st_proc_start(st_proc *p, const char *cmd);

/* Writes len bytes to its stdin (or drops them if it stopped reading),
 * handing stdout lines to fn meanwhile. Returns when all are written. */
int st_proc_write(st_proc *p, const void *data, size_t len, st_line_fn *fn,
                  void *arg);

/* Closes its stdin, hands out the rest of its stdout, reads stderr to the
 * end, and waits for it; what it left running in its group is killed.
 * Returns MR_OK when the pipes reached end of file and it was reaped,
 * whatever its exit status: check st_proc_failed(). */
int st_proc_finish(st_proc *p, st_line_fn *fn, void *arg);

/* From now on, the child may take `seconds` more (0: no limit); past it,
 * its process group gets SIGTERM, SIGKILL ST_TERM_GRACE s later if it has
 * not ended, and calls return MR_ERROR with p->msg
 * "did not finish within N s (--task-timeout); killed". */
void st_proc_set_timeout(st_proc *p, double seconds);

/* 1 if the reaped child exited non-zero or died by a signal. */
int st_proc_failed(const st_proc *p);

/* "exit status 3", "killed by signal 11 (Segmentation fault)". */
void st_proc_describe(const st_proc *p, char *buf, size_t size);

/* The first `max_lines` lines of its stderr, at most `size` - 1 bytes in
 * all, each as "\n    LINE" (control bytes shown as '?'); "" if none. */
void st_proc_stderr_head(const st_proc *p, int max_lines, char *buf,
                         size_t size);

/* Kills the child's process group if it still runs (SIGKILL), reaps it,
 * closes the pipes and frees the buffers. Safe to call twice, and on a
 * zeroed st_proc. */
void st_proc_kill(st_proc *p);

#endif /* ST_PROC_H */
