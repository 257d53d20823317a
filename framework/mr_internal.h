/* mr_internal.h -- PRIVATE to the framework: never include it from a job.
 *
 * Cross-file pieces of the engine, named mr__<object>_<verb>. Each block
 * below belongs to one file (named in its banner) and the contracts are
 * written there, next to the code.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_INTERNAL_H
#define MR_INTERNAL_H

#include <glib.h>
#include <mpi.h>
#include <sys/stat.h>
#include <stdint.h>
#include <string.h>

#include "mr/mr.h"
#include "mr/mr_job.h"
#include "mr_small.h"

/* Keys and values are each limited to this size, so that one record always
 * fits in a shuffle message (MPI counts are int). */
#define MR_MAX_ITEM ((size_t)256 << 20)
_Static_assert((MR_MAX_ITEM & (MR_MAX_ITEM - 1)) == 0,
               "mr_emit tests both limits at once");

/* ---------------- mr_kvbuf.c: serialised key/value records ----------------
 * A record is [u32 klen][u32 vlen][u32 task][key][value], unaligned,
 * host byte order (all ranks of a run share one architecture). */
#define MR_REC_HDR 12

typedef struct mr_kvbuf {
    unsigned char *data;
    size_t len, cap;
    size_t nrec;
} mr_kvbuf;

typedef struct mr_rec {
    mr_bytes key, value;
    uint32_t task;
} mr_rec;

void mr__kvbuf_init(mr_kvbuf *b);
void mr__kvbuf_fini(mr_kvbuf *b);
void mr__kvbuf_clear(mr_kvbuf *b);
void mr__kvbuf_reserve(mr_kvbuf *b, size_t extra);
/* Empties b and gives it exactly n bytes of room (no doubling). */
void mr__kvbuf_alloc(mr_kvbuf *b, size_t n);
void mr__kvbuf_append(mr_kvbuf *b, mr_bytes key, mr_bytes value,
                      uint32_t task);
/* Appends n bytes of already serialised records (nrec of them). */
void mr__kvbuf_append_raw(mr_kvbuf *b, const void *p, size_t n, size_t nrec);
/* Moves src's storage into dst (dst is finalised first; src left empty). */
void mr__kvbuf_move(mr_kvbuf *dst, mr_kvbuf *src);

/* Decodes the record at p; returns its total size. */
static inline size_t mr__rec_read(const unsigned char *p, mr_rec *r)
{
    uint32_t kl = mr__load32(p), vl = mr__load32(p + 4);
    r->task = mr__load32(p + 8);
    r->key = (mr_bytes){p + MR_REC_HDR, kl};
    r->value = (mr_bytes){p + MR_REC_HDR + kl, vl};
    return MR_REC_HDR + (size_t)kl + vl;
}

static inline size_t mr__rec_size(const unsigned char *p)
{
    return MR_REC_HDR + (size_t)mr__load32(p) + mr__load32(p + 4);
}

/* Bytewise order of byte strings, a prefix first (memcmp's order). */
static inline int mr__bytes_cmp(mr_bytes a, mr_bytes b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c)
        return c;
    return (a.len > b.len) - (a.len < b.len);
}

/* ---------------- mr_partition.c ---------------- */
/* The default partitioner: the high half of mr__hash, range-reduced. The
 * fold tables index by the low bits, so the two do not correlate. */
uint32_t mr__partition_default(mr_bytes key, uint32_t nparts);

/* ---------------- mr_combine.c: fold-at-emit table ---------------- */
#define MR_FOLD_RING 16      /* adds in flight (prefetch distance) */
#define MR_FOLD_RING_KEY 48  /* longer keys bypass the ring */
#define MR_FOLD_RING_VAL 16  /* so do larger values */

typedef struct mr_fold_pend {
    uint64_t hash;
    uint32_t klen;
    unsigned char key[MR_FOLD_RING_KEY];
    unsigned char val[MR_FOLD_RING_VAL];
} mr_fold_pend;

typedef struct mr_fold {
    size_t vsize, vstride; /* value size, and rounded up to 8 */
    mr_fold_fn *fold;
    int sum_u64;     /* fold is mr_fold_sum_u64: added in line */
    uint64_t *slots; /* (hash high 32 bits) << 32 | (entry offset / 8 + 1) */
    size_t mask, count;
    unsigned char *arena; /* entries: [acc vstride][u32 klen][key][pad 8] */
    size_t alen, acap;
    mr_fold_pend ring[MR_FOLD_RING]; /* adds waiting for their prefetch */
    unsigned rhead, rcount;
} mr_fold;

void mr__fold_init(mr_fold *f, size_t vsize, mr_fold_fn *fold);
void mr__fold_fini(mr_fold *f);
/* Folds value into key's accumulator. The add may be deferred (see
 * mr_combine.c): call mr__fold_flush before reading the table. */
int mr__fold_add(mr_fold *f, mr_bytes key, const void *value); /* MR_OK */
void mr__fold_flush(mr_fold *f);
/* Iterates entries in insertion order: start with *pos = 0; returns 0 at
 * the end. Borrowed: valid until the next add or fini. Flush first. */
int mr__fold_next(const mr_fold *f, size_t *pos, mr_bytes *key, void **acc);
/* Drops the entry whose key mr__fold_next just returned: iteration skips
 * it from then on, and it never matches an add again (an add of the same
 * key makes a new entry). Its memory stays until fini. */
void mr__fold_drop(mr_fold *f, mr_bytes key);
size_t mr__fold_bytes(const mr_fold *f);

/* ---------------- mr_group.c: group records by key ----------------
 * Sorts the records of one or more runs by (key, task, position) so that
 * the values of a key arrive in task order whatever rank ran which task.
 * The index holds record addresses, so the runs need not be one buffer
 * (the shuffle leaves two: the rank's own pairs and what arrived). */
typedef struct mr_group {
    const unsigned char **recs;
    size_t n;
} mr_group;

void mr__group_build(mr_group *g, const mr_kvbuf *runs, int nruns);
void mr__group_fini(mr_group *g);

struct mr_values {
    const unsigned char *const *recs; /* NULL: a single value in `one` */
    size_t i, end;
    mr_bytes one;
    int one_left;
};

/* Calls fn once per key with its values (fn NULL: re-emits every record).
 * Stops at the first error. */
int mr__group_each(mr_ctx *ctx, const mr_group *g, mr_reduce_fn *fn);

/* ---------------- mr_ctx.c: the per-rank context ---------------- */
typedef enum mr_phase {
    MR_PH_SETUP,
    MR_PH_SPLIT,
    MR_PH_MAP,
    MR_PH_COMBINE,
    MR_PH_SHUFFLE,
    MR_PH_REDUCE,
    MR_PH_OUTPUT,
    MR_PH_COUNT
} mr_phase;

extern const char *const mr__phase_names[MR_PH_COUNT];

typedef enum mr_emit_mode {
    MR_EMIT_NONE,
    MR_EMIT_FOLD, /* into ctx->fold */
    MR_EMIT_PART, /* into ctx->parts[partition(key)] */
    MR_EMIT_OUT,  /* into ctx->out */
} mr_emit_mode;

typedef struct mr_task_rec {
    uint32_t task;
    int rank;
    double start, end, weight;
} mr_task_rec;

/* A span of time on a rank's timeline (--trace, --stats-json). */
typedef enum mr_span_kind {
    MR_SPAN_PHASE, /* arg: the phase */
    MR_SPAN_ROUND, /* a shuffle round; arg: bytes sent */
    MR_SPAN_WAIT,  /* waiting for the other ranks at a phase's end */
} mr_span_kind;

typedef struct mr_span {
    int kind;
    int phase;
    double start, end;
    uint64_t arg;
} mr_span;

typedef struct mr_progress mr_progress;
typedef struct mr_monitor mr_monitor;

struct mr_ctx {
    MPI_Comm comm;
    mr_monitor *monitor; /* heartbeats, progress counts, claims */
    int rank, nranks;
    char host[256];
    struct mr_job job; /* host-sized copy */
    const mr_config *cfg;
    const mr_optset *opts;
    void *state;

    mr_phase phase;
    long task; /* current map task, -1 outside map */
    mr_emit_mode emit_mode;
    int status;
    char *errmsg;

    /* split: the task list (identical on every rank after the broadcast) */
    mr_kvbuf tasks;  /* records: key = descriptor, value = double weight */
    size_t *task_offs;
    size_t ntasks;

    /* map and shuffle */
    mr_fold fold;
    mr_kvbuf *parts; /* one per destination rank */
    /* After the shuffle: [0] the rank's own run (moved from parts, never
     * copied), [1] the pairs the other ranks sent, by source rank; the
     * first recv_lower bytes of [1] came from ranks below this one. */
    mr_kvbuf recv[2];
    size_t recv_lower, recv_lower_nrec;
    mr_kvbuf out;

    /* clocks and counters */
    double t0;
    double phase_time[MR_PH_COUNT];
    uint64_t bytes_in, total_bytes;
    uint64_t pairs_emitted, pairs_out, shuffle_sent, shuffle_recv;
    int shuffle_rounds;
    GArray *task_recs; /* mr_task_rec */
    GArray *spans;     /* mr_span */
};

mr_ctx *mr__ctx_new(const struct mr_job *job, const mr_config *cfg,
                    const mr_optset *opts, MPI_Comm comm);
void mr__ctx_free(mr_ctx *ctx);
double mr__now(const mr_ctx *ctx);
/* The destination rank of key (the job's partitioner or the default);
 * MR_EINVAL and an mr_error if the job's answer is out of range. */
int mr__partition(mr_ctx *ctx, mr_bytes key, uint32_t *dest);

/* ---------------- mr_opt.c ---------------- */
int mr__optset_argc(const mr_optset *opts);
const char *const *mr__optset_argv(const mr_optset *opts);
/* 1 and the name if a job option has the name of an engine option. */
int mr__opt_engine_clash(const mr_option *table, const char **name);

/* ---------------- mr_mpierr.c: failed MPI calls ---------------- */
/* The call being made, for the error handler's message. */
extern _Thread_local const char *mr__mpi_call;
#define MR_MPI(call) (mr__mpi_call = #call, (call))
/* Makes a failed MPI call on comm print mr's message and end the run;
 * returns the handler comm had, for mr__mpi_errors_restore. */
MPI_Errhandler mr__mpi_errors_install(MPI_Comm comm);
void mr__mpi_errors_restore(MPI_Comm comm, MPI_Errhandler old);

/* ---------------- mr_monitor.c: the thread beside the engine ----------------
 * Heartbeats (--stall-timeout), progress counts and dynamic claims over
 * point-to-point messages; see the file's head comment. */
/* Collective; stall_timeout 0: no stall detection. */
mr_monitor *mr__monitor_start(MPI_Comm comm, double stall_timeout);
/* Collective. */
void mr__monitor_stop(mr_monitor *m);
/* 0 without MPI_THREAD_MULTIPLE (or at one rank): no thread, no claims. */
int mr__monitor_threaded(const mr_monitor *m);
/* Rank 0, threaded: the thread calls fn(arg) every `every` seconds until
 * fn is NULL again (set and cleared by the main thread). */
void mr__monitor_set_report(mr_monitor *m, void (*fn)(void *arg), void *arg,
                            double every);
void mr__monitor_set_counts(mr_monitor *m, uint64_t done, uint64_t bytes);
/* Rank 0: the sum over every rank of the last counts heard; others: own. */
void mr__monitor_counts(mr_monitor *m, uint64_t *done, uint64_t *bytes);
/* Rank 0, before the map's barrier: claims start from task 0 of ntasks. */
void mr__monitor_claims_begin(mr_monitor *m, size_t ntasks);
void mr__monitor_claims_end(mr_monitor *m);
/* Rank 0: answers the claims that have arrived (between its own tasks, so
 * that short tasks do not wait for the thread's next poll). */
void mr__monitor_serve(mr_monitor *m);
/* A guided chunk of tasks, as mr__sched_next returns them. */
int mr__monitor_claim(mr_monitor *m, int status, size_t *first,
                      size_t *count);

/* ---------------- mr_schedule.c: who runs which map task ---------------- */
typedef struct mr_sched mr_sched;
/* Collective over comm. `dynamic` claims through the monitor; without its
 * thread it runs as `master` (rank 0 says so on stderr). */
mr_sched *mr__sched_new(mr_schedule policy, size_t ntasks, MPI_Comm comm,
                        mr_monitor *monitor);
/* Called by rank 0 while it serves under `master` (progress reports). */
void mr__sched_set_idle(mr_sched *s, void (*idle)(void *arg), void *arg);
/* The next range of tasks for this rank: returns 1 and [*first, *first +
 * *count), or 0 when there is no more work for it. `status` is this rank's
 * status so far: a failing rank tells the others to stop handing out work. */
int mr__sched_next(mr_sched *s, int status, size_t *first, size_t *count);
/* After each task: rank 0 answers waiting claims under `dynamic`. */
void mr__sched_poll(mr_sched *s);
/* Collective; frees the scheduler. */
void mr__sched_free(mr_sched *s);
int mr__sched_parse(const char *name, mr_schedule *out);
const char *mr__sched_name(mr_schedule s);

/* ---------------- mr_shuffle.c ---------------- */
/* Sends ctx->parts[d] to rank d, in rounds of at most cfg->shuffle_round
 * bytes sent per rank: the rank's own run becomes ctx->recv[0], what the
 * others send goes to ctx->recv[1]. Collective. */
int mr__shuffle_run(mr_ctx *ctx);
/* How many whole records from p[0..len) fit in `limit` bytes (at least one
 * if len > 0, so an oversized record still moves). Returns bytes. */
size_t mr__shuffle_cut(const unsigned char *p, size_t len, size_t limit,
                       size_t *nrec);

/* ---------------- mr_merge.c: ordered output ---------------- */
/* Sorts ctx->out by the job's order, then streams every rank's run to rank
 * 0, which merges them and calls the job's output. Collective. */
int mr__merge_output(mr_ctx *ctx);
/* The total order the output follows (order, then key, then value). */
int mr__out_compare(const struct mr_job *job, const mr_rec *a,
                    const mr_rec *b);

/* ---------------- mr_io.c: atomic output files ---------------- */
#define MR_OUT_MAX 16
#define MR_OUT_DONE_MAX 64 /* committed outputs remembered (mr_signal.c) */
void mr__out_abandon(void);
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
/* Refuses a positional argument that is one of the outputs. */
int mr__out_check_inputs(mr_ctx *ctx);

/* ---------------- mr_stats.c ---------------- */
void mr__span_add(mr_ctx *ctx, mr_span_kind kind, double start, double end,
                  uint64_t arg);
/* Collective: --stats table, --stats-json and --trace files (rank 0). */
int mr__stats_report(mr_ctx *ctx);

/* ---------------- mr_progress.c ---------------- */
/* Collective. */
mr_progress *mr__progress_new(mr_ctx *ctx);
void mr__progress_tick(mr_progress *p, mr_ctx *ctx, uint64_t done);
/* Collective. */
void mr__progress_free(mr_progress *p, mr_ctx *ctx, uint64_t done);

/* ---------------- mr_signal.c ---------------- */
/* NULL, or why the run must stop now: a signal (which), or the launcher
 * (mpirun) gone. */
const char *mr__stop_reason(void);
/* Another rank failed (the monitor heard it): every rank stops at its
 * next check, with a message that begins with MR_STOP_REMOTE. */
#define MR_STOP_REMOTE "stopped: rank "
void mr__stop_remote(int rank, const char *host);
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

/* ---------------- mr_mem.c ---------------- */
/* With --mem-limit: MR_OK if the rank's resident size plus `extra` bytes
 * about to be allocated for `what` stays under the limit; else an
 * mr_error saying how much was needed. */
int mr__mem_check(mr_ctx *ctx, uint64_t extra, const char *what);

/* ---------------- mr_fault.c ---------------- */
/* Testing aid: MR_FAULT=RANK:PHASE:KIND makes the engine fail there. */
int mr__fault_check(mr_ctx *ctx);

#endif /* MR_INTERNAL_H */
