/* mr_signal.h -- PRIVATE to the framework: signals, stops and where the run
 * is (mr_signal.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_SIGNAL_H
#define MR_SIGNAL_H

#include "mr_ctx.h"

/* NULL, or why the run must stop now: a signal (which), or the launcher
 * (mpirun) gone. */
const char *mr__stop_reason(void);
/* Another rank failed (the monitor heard it): every rank stops at its
 * next check, with a message that begins with MR_STOP_REMOTE. */
#define MR_STOP_REMOTE "stopped: rank "
void mr__stop_remote(int rank, const char *host);
/* How the stop handler and the final agreement remove the run's outputs
 * (mr_outfile.c sets them; async-signal-safe): unlink_open the temporary
 * files of outputs still open, unlink_committed the committed ones,
 * calling removed(path, arg) for each. */
typedef void mr_removed_fn(const char *path, void *arg);
void mr__signal_set_outputs(void (*unlink_open)(void),
                            void (*unlink_committed)(mr_removed_fn *removed,
                                                     void *arg));
/* A new run: no failure heard of yet. */
void mr__stop_reset(void);
/* This rank failed (mr_error) ... */
void mr__signal_failed(void);
/* ... or is asked to stop (a signal, the launcher gone): the monitor then
 * tells the others. */
int mr__signal_local_stop(void);
/* Records where the run is, for the crash message (phase and task). */
void mr__signal_where(const mr_ctx *ctx);
/* A copy of "mr-run: rank 3 on node7, map, task 12: " (g_free), or NULL
 * before the engine runs. */
char *mr__signal_where_text(void);
/* 1 while the engine runs: exit() then is reported as a job's error. */
void mr__signal_running(int on);
/* While a module's init runs: a crash or exit() names the file (NULL:
 * done). */
void mr__signal_loading(const char *path);

#endif /* MR_SIGNAL_H */
