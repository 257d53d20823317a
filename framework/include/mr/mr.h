/* mr.h -- the framework API that mr-run and tools use (jobs use mr_job.h).
 *
 * One error convention, stated once (as hwloc does): functions that can
 * fail return int, MR_OK (0) or a negative MR_E* code from mr_job.h;
 * functions that return a pointer return NULL on failure. Where a failure
 * has a message, it comes back through a `char **error` out-parameter
 * (SQLite's pzErrMsg style): the caller owns it and frees it with free().
 *
 * Running out of memory is fatal: the framework allocates with GLib's
 * g_malloc family, which aborts, so no function reports MR_ENOMEM and
 * allocation results are never checked.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_H
#define MR_H

#include <mpi.h>

#include "mr_job.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum mr_schedule {
    MR_SCHED_BLOCK,   /* contiguous chunks of tasks, one per rank */
    MR_SCHED_CYCLIC,  /* task i on rank i mod P */
    MR_SCHED_DYNAMIC, /* guided chunks claimed from rank 0's counter */
    MR_SCHED_MASTER,  /* rank 0 hands out tasks to workers */
} mr_schedule;

/* The engine's own options, parsed from the same command line as the
 * job's (see mr_config_parse). */
typedef struct mr_config {
    mr_schedule schedule;
    long shuffle_round; /* bytes a rank sends per shuffle round */
    long mem_limit;     /* bytes of resident memory per rank; 0: none */
    int quiet;          /* no progress line */
    int stats;          /* print the phase table at the end */
    const char *stats_json; /* borrowed from argv; NULL: none */
    const char *trace;      /* borrowed from argv; NULL: none */
    int help;
    double stall_timeout; /* seconds without a heartbeat; 0: no limit */
    int output_mode; /* MR_OUTPUT_AUTO, _PARALLEL or _RANK0 (mr_pfile) */
    long memory;     /* --memory: bytes per rank; 0: derived (mr_budget.c) */
    const char *spill_dir; /* borrowed from argv; NULL: $TMPDIR or /tmp */
    int spill_codec;       /* mr_codec (mr_spill.h) */
    long spill_every;      /* spill every N records (tests); 0: by size */
} mr_config;

enum { MR_OUTPUT_AUTO, MR_OUTPUT_PARALLEL, MR_OUTPUT_RANK0 };

typedef struct mr_optset mr_optset; /* a job's parsed option values */

/* ---------------- job registry ---------------- */

/* Caller owns the result; free with mr_registry_free(). */
MR_PUBLIC mr_registry *mr_registry_new(void);
MR_PUBLIC void mr_registry_free(mr_registry *reg);
/* Where warnings go (e.g. a job of the same name later in the job path,
 * which is ignored); NULL, the default: nowhere. */
MR_PUBLIC void mr_registry_set_warn(mr_registry *reg,
                                    void (*warn)(const char *msg));

/* The folders searched for NAME.so, in order: $MR_JOB_PATH (colon
 * separated), then the job folder of this installation (found from the
 * executable: <bin>/../lib/mr/jobs). Caller owns the NULL-terminated
 * result; free with mr_strv_free(). */
MR_PUBLIC char **mr_job_dirs(void);
MR_PUBLIC void mr_strv_free(char **strv);

/* Opens the module at `path`, checks it and registers its job. Refusals
 * (not a module, no entry symbol, another ABI major, a newer minor, no or
 * two registrations, a name that is already registered) return MR_EABI or
 * MR_EINVAL and a message that names the file and the reason. */
MR_PUBLIC int mr_registry_load_file(mr_registry *reg, const char *path,
                                    char **error);

/* Finds NAME.so in mr_job_dirs() and loads it (a job already registered,
 * e.g. by --plugin, is returned as is). Returns the job or NULL and a
 * message. Borrowed: valid until mr_registry_free(). */
MR_PUBLIC const struct mr_job *mr_registry_find(mr_registry *reg,
                                                const char *name,
                                                char **error);

/* Loads every *.so in mr_job_dirs() (first found wins for a name); files
 * that fail to load are reported through `warn` (may be NULL: the one of
 * mr_registry_set_warn). Each is tried in a child process first, so that
 * one that crashes or hangs while registering is reported and skipped. */
MR_PUBLIC void mr_registry_load_all(mr_registry *reg,
                                    void (*warn)(const char *msg));
MR_PUBLIC size_t mr_registry_count(const mr_registry *reg);
/* Jobs sorted by name. Borrowed. */
MR_PUBLIC const struct mr_job *mr_registry_at(const mr_registry *reg,
                                              size_t i);

/* ---------------- options ---------------- */

/* Parses argv[0..argc) (after the job name) into the engine's config and
 * the job's option values; the remaining positional arguments are stored
 * in the optset. MR_EUSAGE and a message on a bad command line. Caller
 * owns *opts; free with mr_optset_free(). */
MR_PUBLIC int mr_config_parse(const struct mr_job *job, int argc,
                              char **argv, mr_config *cfg, mr_optset **opts,
                              char **error);
MR_PUBLIC void mr_optset_free(mr_optset *opts);
/* The --help text of a job: its usage line, its options, the engine's.
 * Caller frees with free(). */
MR_PUBLIC char *mr_usage(const struct mr_job *job);

/* ---------------- running ---------------- */

/* Runs the job on every rank of `comm` (collective). Returns MR_OK or the
 * worst status over ranks; on error, rank 0 gets a message naming each
 * failing rank, its host and the cause (other ranks get NULL). */
MR_PUBLIC int mr_engine_run(const struct mr_job *job, const mr_config *cfg,
                            const mr_optset *opts, MPI_Comm comm,
                            char **error);

/* Installs handlers so that SIGTERM, SIGINT, SIGUSR1 and SIGUSR2 (SGE's
 * -notify warnings) stop a run cleanly between tasks with MR_ESTOP and
 * remove unfinished output files. */
MR_PUBLIC void mr_signals_install(void);
/* Every rank, after the run and before MPI_Finalize, with the status it
 * would exit with: from here on a stop signal is ignored (the run is
 * over), and the ranks agree on one status; if any rank failed or was
 * stopped, the outputs the run committed are removed and every rank
 * returns non-zero (its own rc, or 128 + the signal). */
MR_PUBLIC int mr_signals_final(int rc, MPI_Comm comm);

#ifdef __cplusplus
}
#endif
#endif /* MR_H */
