/* mr_outfile.h -- PRIVATE to the framework: atomic output files
 * (mr_outfile.c; the public half, mr_out_*, is in mr/mr_job.h).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_OUTFILE_H
#define MR_OUTFILE_H

#include <stdio.h>
#include <sys/stat.h>

#include "mr_ctx.h"
#include "mr_signal.h"

#define MR_OUT_MAX 16
#define MR_OUT_DONE_MAX 64 /* committed outputs remembered (mr_signal.c) */
/* Closes and removes the outputs still open. */
void mr__out_abandon(void);
/* From a signal handler (async-signal-safe): unlinks the temporary files
 * of the outputs still open; unlinks the outputs committed in this run,
 * calling removed(path, arg) for each one it removed. */
void mr__out_unlink_open(void);
void mr__out_unlink_committed(mr_removed_fn *removed, void *arg);
/* The run fails: abandon, and remove what it committed as well. */
void mr__out_fail(void);
/* Removes the files DIR/PREFIX<pid>.XXXXXX of this user whose process is
 * gone: what a killed run left. PREFIX names this host. */
void mr__sweep_dead(const char *dir, const char *prefix);
/* Forgets the outputs of an earlier run in this process. */
void mr__out_reset(void);
/* The output (as given to mr_out_check) that is the file `st` describes,
 * or NULL. */
const char *mr__out_same_file(const struct stat *st);
/* The temporary name of an output mr_out_open made (NULL if f is none). */
const char *mr__out_tmp_of(FILE *f);
/* Closes and removes an output mr_out_open made, without committing it. */
void mr__out_discard(FILE *f);
/* Refuses a positional argument that is one of the outputs. */
int mr__out_check_inputs(mr_ctx *ctx);

#endif /* MR_OUTFILE_H */
