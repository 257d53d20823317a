/* mr_job.h -- the contract between mr-run and a job plugin.
 *
 * A job is a shared module that exports exactly one symbol,
 * mr_job_<name>_init(), which MR_JOB_PLUGIN(name) declares. `mr-run NAME`
 * opens NAME.so on every rank, calls that function once, and the function
 * hands a filled-in struct mr_job to mr_job_register(). Everything else in
 * the module should be hidden (build with -fvisibility=hidden).
 *
 * The life of a run, on every rank unless said otherwise:
 *
 *   setup     read options (mr_opt_*), make state (mr_ctx_set_state).
 *             May mr_emit() (hello does: one pair per rank).
 *   split     rank 0 only: describe the map tasks with mr_task_add(). The
 *             list is broadcast, so every rank sees the same tasks, and the
 *             scheduler (--schedule) decides which rank runs which.
 *   map       once per task: read its input, mr_emit() pairs.
 *   combine   optional, rank-local pre-reduction before the shuffle.
 *   reduce    once per key on the key's owner rank (see partition); emits
 *             the output pairs with mr_emit(). NULL passes pairs through.
 *   reduce_end  every rank, after its last reduce call (ABI 1.1): may
 *             still mr_emit() output pairs (a job that streams its keys to
 *             a long-lived process drains it here).
 *   output    rank 0 only: called once per output pair, in the global order
 *             given by `order` (default: keys bytewise), whatever the number
 *             of ranks. NULL prints "key<TAB>value" lines on stdout.
 *   finish    rank 0 only, after the last output pair: summaries, renames.
 *   teardown  free what setup made (also after an error).
 *
 * Fold-at-emit. A job whose values merge into a fixed-size accumulator
 * (counts, sums) sets value_size and fold: mr_emit() then folds the value
 * into a per-rank table at once instead of storing a pair, which is what
 * makes word count cheap to shuffle. fold must be exactly associative and
 * commutative (integer sums are; floating-point sums are not), or the
 * output would depend on the number of ranks.
 *
 * Determinism. The values that reduce sees for a key come in task order
 * (and in emission order within a task), not in rank order, so a job gets
 * byte-identical output for any number of ranks and any schedule.
 *
 * Compatibility. MR_ABI_VERSION is (major << 16 | minor). The host accepts
 * a job built for the same major and an equal or older minor. Fields are
 * only ever appended to struct mr_job; mr_job_register() passes the size the
 * job was compiled with, and fields the job does not know about read as
 * NULL or 0.
 *
 * Errors. Every callback returns MR_OK or a negative MR_E* code; use
 * mr_error() to attach a message. An error on any rank stops the run on
 * every rank at the end of the current phase. Running out of memory aborts.
 * Byte strings handed to a callback are borrowed and valid only until it
 * returns; mr_emit() and mr_task_add() copy what they are given.
 *
 * This header uses libc only: no MPI, no GLib.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_JOB_H
#define MR_JOB_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MR_ABI_MAJOR 1
#define MR_ABI_MINOR 5
#define MR_ABI_VERSION ((uint32_t)MR_ABI_MAJOR << 16 | MR_ABI_MINOR)

#if defined(__GNUC__)
#define MR_PUBLIC __attribute__((visibility("default")))
#define MR_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define MR_PUBLIC
#define MR_PRINTF(fmt, args)
#endif

/* Keys, values and task descriptors are each shorter than this. */
#define MR_ITEM_MAX ((size_t)256 << 20)

/* Status codes: MR_OK or negative. mr_strerror() names them. */
enum {
    MR_OK = 0,
    MR_ERROR = -1,  /* generic failure; the message says why */
    MR_EINVAL = -2, /* malformed input */
    MR_EIO = -3,    /* read or write failed */
    MR_EABI = -4,   /* job and host disagree on MR_ABI_VERSION */
    MR_EUSAGE = -5, /* bad option value: mr-run prints usage, exits 2 */
    MR_ESTOP = -6,  /* stopped by a signal (scheduler, Ctrl-C) */
};

typedef struct mr_ctx mr_ctx;           /* one per rank and run */
typedef struct mr_values mr_values;     /* the values grouped under a key */
typedef struct mr_registry mr_registry; /* only valid inside the init call */

typedef struct mr_bytes {
    const void *ptr;
    size_t len;
} mr_bytes;

typedef enum mr_opt_type {
    MR_OPT_FLAG,   /* --name, no value; mr_opt_flag() */
    MR_OPT_INT,    /* --name N (decimal, optional k/M/G suffix); mr_opt_int() */
    MR_OPT_DOUBLE, /* --name X; mr_opt_double() */
    MR_OPT_STRING, /* --name TEXT; mr_opt_string() */
} mr_opt_type;

/* One command-line option; a table of them ends with a NULL name. */
typedef struct mr_option {
    const char *name;     /* "--name" on the command line, without dashes */
    mr_opt_type type;
    const char *fallback; /* default as text; NULL: unset (flag: off) */
    const char *help;     /* one line for --help; "FILE: write it here"
                             shows as `--name FILE  write it here` (one
                             upper-case word, then ": ", names the value;
                             else N, X or TEXT by type) */
} mr_option;

/* Callback types are function types, so pointer fields read as pointers. */
typedef int mr_setup_fn(mr_ctx *ctx);
typedef int mr_split_fn(mr_ctx *ctx);
typedef int mr_map_fn(mr_ctx *ctx, mr_bytes task);
typedef int mr_reduce_fn(mr_ctx *ctx, mr_bytes key, mr_values *values);
typedef void mr_fold_fn(void *acc, const void *value);
typedef uint32_t mr_partition_fn(mr_bytes key, uint32_t nparts);
typedef int mr_order_fn(mr_bytes akey, mr_bytes aval, mr_bytes bkey,
                        mr_bytes bval);
typedef int mr_output_fn(mr_ctx *ctx, mr_bytes key, mr_bytes value);
typedef int mr_finish_fn(mr_ctx *ctx);
typedef void mr_teardown_fn(mr_ctx *ctx);
typedef uint64_t mr_order_key_fn(mr_bytes key, mr_bytes value);
typedef void mr_describe_fn(mr_bytes task, char *buf, size_t size);
typedef int mr_order_ctx_fn(const mr_ctx *ctx, mr_bytes akey, mr_bytes aval,
                            mr_bytes bkey, mr_bytes bval);
typedef uint64_t mr_order_key_ctx_fn(const mr_ctx *ctx, mr_bytes key,
                                     mr_bytes value);
typedef uint64_t mr_order_key_at_fn(const mr_ctx *ctx, mr_bytes key,
                                    mr_bytes value, unsigned level);

/* mr_job.flags (ABI 1.4). MR_JOB_VALUES_STREAMED: the job's combine and
 * reduce are done with a value when they ask for the next one, so a value
 * need stay valid only until then; a run out of core (--memory) then never
 * holds all of a key's values at once, however many there are. Without it,
 * each value stays valid until the callback returns, and one key's values
 * must fit in memory. */
#define MR_JOB_VALUES_STREAMED 1u

struct mr_job {
    const char *name;         /* required; equals the module's file name */
    const char *summary;      /* one line for `mr-run --list` */
    const char *usage;        /* positional arguments, e.g. "INPUT..." */
    const mr_option *options; /* NULL or a NULL-name-terminated table */

    mr_setup_fn *setup;         /* optional */
    mr_split_fn *split;         /* optional: no split, no map tasks */
    mr_map_fn *map;             /* required when split adds tasks */
    mr_reduce_fn *combine;      /* optional: rank-local pre-reduction */
    mr_reduce_fn *reduce;       /* optional: NULL passes pairs through */
    size_t value_size;          /* with fold: every value has this size */
    mr_fold_fn *fold;           /* optional: fold-at-emit (see above) */
    mr_partition_fn *partition; /* optional: NULL hashes the key */
    /* optional: NULL orders keys bytewise. Like memcmp: negative when a
     * comes first, positive when b does, 0 when the order does not tell
     * (then key bytes, then value bytes decide). */
    mr_order_fn *order;
    mr_output_fn *output;       /* optional, rank 0 */
    mr_finish_fn *finish;       /* optional, rank 0 */
    mr_teardown_fn *teardown;   /* optional */
    /* ABI 1.1 */
    mr_finish_fn *reduce_end;   /* optional, every rank */
    /* ABI 1.2 */
    /* optional: a 64-bit summary of `order`, for a faster output sort.
     * Whenever order_key(a) < order_key(b) (unsigned), order must put a
     * first; records with equal keys are compared with order. A key that
     * says less (coarser) is slower, never wrong. Only read with order. */
    mr_order_key_fn *order_key;
    /* optional: a task descriptor as text, for --stats and --trace
     * (NUL-terminated, at most size bytes). NULL: its printable bytes. */
    mr_describe_fn *describe;
    /* ABI 1.3 */
    /* optional: order and order_key with the rank's context, for an order
     * that depends on the job's options or state (mr_opt_*, mr_ctx_state).
     * When order_ctx is set, these two are used and order / order_key are
     * not; the same rules hold. */
    mr_order_ctx_fn *order_ctx;
    mr_order_key_ctx_fn *order_key_ctx;
    /* optional: parallel output (see "Parallel output" below). When set,
     * output is not called: every rank gets its share of the output, a
     * contiguous range of the global order (rank 0's first), and calls
     * output_part once per pair of it, in order; then output_end on every
     * rank (always, also after an error: commit mr_pfile files there). */
    mr_output_fn *output_part;
    mr_finish_fn *output_end;
    /* ABI 1.4 */
    /* MR_JOB_* bits. */
    unsigned flags;
    /* ABI 1.5 */
    /* optional, with order_key (or order_key_ctx): the next 64 bits of the
     * order after order_key, for pairs whose keys at every level below
     * are equal (level 0 is order_key itself, level >= 1 asked here).
     * Among such pairs, a smaller key at `level` must come first. The
     * engine asks a few levels at most, then compares with order; a key
     * that says nothing (a constant) is slower, never wrong. Read only
     * for parallel output (output_part). */
    mr_order_key_at_fn *order_key_at;
    /* New fields go here, and only here. */
};

typedef int mr_job_init_fn(mr_registry *reg);

/* Registers `job` (copied; its strings and tables must outlive the run,
 * which static storage does). Call it exactly once from the init function.
 * Returns MR_OK, or MR_EABI / MR_EINVAL with the reason kept by the host. */
MR_PUBLIC int mr_job_register_v(mr_registry *reg, const struct mr_job *job,
                                uint32_t abi, size_t size);
#define mr_job_register(reg, job)                                            \
    mr_job_register_v((reg), (job), MR_ABI_VERSION, sizeof *(job))

#define MR_JOB_PLUGIN(name)                                                  \
    MR_PUBLIC mr_job_init_fn mr_job_##name##_init;                           \
    int mr_job_##name##_init(mr_registry *reg)

/* ---------------- services for callbacks ---------------- */

/* Adds a map task (split only, on rank 0). `desc` is copied and handed back
 * to map as `task`; `weight` (bytes, pixels, flops: any unit) is shown by
 * --stats and --trace. The schedules do not read it: `dynamic` and
 * `master` balance by handing out tasks as ranks finish them. */
MR_PUBLIC int mr_task_add(mr_ctx *ctx, mr_bytes desc, double weight);

/* Emits one pair. From setup and map: into the shuffle (folded at once when
 * the job has fold). From combine: back into the rank's pairs. From reduce:
 * into the output. Copies key and value. Keys and values must each be
 * shorter than MR_ITEM_MAX bytes (256 MiB: a record fits in one MPI
 * message), or mr_emit fails with MR_EINVAL. */
MR_PUBLIC int mr_emit(mr_ctx *ctx, mr_bytes key, mr_bytes value);

/* A fold for 8-byte unsigned counts (value_size 8): *acc += *value, in
 * host byte order. The engine recognises it and adds in line, without a
 * call per pair (ABI 1.2): counting jobs should use it. */
MR_PUBLIC void mr_fold_sum_u64(void *acc, const void *value);

/* Next value of the current key; returns 1 and sets *value, or 0 at the
 * end. Borrowed: valid until reduce/combine returns; with
 * MR_JOB_VALUES_STREAMED, only until the next mr_values_next. */
MR_PUBLIC int mr_values_next(mr_values *values, mr_bytes *value);

MR_PUBLIC void *mr_ctx_state(const mr_ctx *ctx);
MR_PUBLIC void mr_ctx_set_state(mr_ctx *ctx, void *state);
MR_PUBLIC int mr_ctx_rank(const mr_ctx *ctx);
MR_PUBLIC int mr_ctx_nranks(const mr_ctx *ctx);
/* The id of the map task being run (0-based, in split order); -1 outside
 * map. */
MR_PUBLIC long mr_ctx_task(const mr_ctx *ctx);
/* Positional arguments after the options (borrowed, NULL-terminated). */
MR_PUBLIC int mr_ctx_argc(const mr_ctx *ctx);
MR_PUBLIC const char *const *mr_ctx_argv(const mr_ctx *ctx);
/* Seconds since the run started, on a clock aligned across ranks. */
MR_PUBLIC double mr_ctx_time(const mr_ctx *ctx);
/* Adds to the run's input byte counter (progress and MB/s figures). */
MR_PUBLIC void mr_ctx_add_bytes(mr_ctx *ctx, uint64_t bytes);
/* Sum over ranks of the counter above; valid in output and finish. */
MR_PUBLIC uint64_t mr_ctx_total_bytes(const mr_ctx *ctx);

/* Option values, by name without dashes. Asking for an option the job did
 * not declare, or of another type, is a programmer error (assert). */
MR_PUBLIC int mr_opt_flag(const mr_ctx *ctx, const char *name);
MR_PUBLIC long mr_opt_int(const mr_ctx *ctx, const char *name);
MR_PUBLIC double mr_opt_double(const mr_ctx *ctx, const char *name);
MR_PUBLIC const char *mr_opt_string(const mr_ctx *ctx, const char *name);
/* 1 if the option was given on the command line. */
MR_PUBLIC int mr_opt_given(const mr_ctx *ctx, const char *name);

/* Records the message (copied) and returns status, so the idiom is
 * `return mr_error(ctx, MR_EINVAL, "...")`. The first error on a rank wins. */
MR_PUBLIC int mr_error(mr_ctx *ctx, int status, const char *fmt, ...)
    MR_PRINTF(3, 4);
MR_PUBLIC const char *mr_strerror(int status);

/* Atomic output files: mr_out_open() creates a temporary file next to
 * `path` and returns it (NULL and an mr_error() if it cannot); the job
 * writes to it; mr_out_commit() flushes, fsyncs and renames it to `path`.
 * A file still open when the run ends (error, signal) is removed, so a
 * run never leaves a partial file under the final name. Any rank may use
 * them; up to 16 files may be open at once: mr_out_commit() commits the
 * one opened last, mr_out_commit_file() (ABI 1.1) a given one. */
MR_PUBLIC FILE *mr_out_open(mr_ctx *ctx, const char *path);
MR_PUBLIC int mr_out_commit(mr_ctx *ctx);
MR_PUBLIC int mr_out_commit_file(mr_ctx *ctx, FILE *file);
/* Checks, before any work, that `path` could be created (its folder is
 * writable). Returns MR_OK or an mr_error(). */
MR_PUBLIC int mr_out_check(mr_ctx *ctx, const char *path);

/* ---------------- parallel output (ABI 1.3) ----------------
 *
 * With output_part, the ranks write one output in parallel: each appends
 * the bytes of its share to an mr_pfile, and mr_pfile_commit, called by
 * every rank in output_end, puts every rank's bytes at its offset in the
 * file (after the bytes of the ranks below it), syncs, and renames the
 * file into place: the same bytes as one rank writing the whole output in
 * order. Where the ranks share no file system (found at commit: the others
 * cannot see the file rank 0 made) or --output-mode rank0 says so, the
 * parts travel to rank 0, which writes them. Path "-" is standard output,
 * always through rank 0. A part is held in memory until the commit. */
typedef struct mr_pfile mr_pfile;
/* Not collective: any rank, any time before output_end; the path is
 * checked like mr_out_check (do that in setup too). */
MR_PUBLIC mr_pfile *mr_pfile_open(mr_ctx *ctx, const char *path);
/* Appends to this rank's part. MR_OK, or an mr_error. */
MR_PUBLIC int mr_pfile_write(mr_pfile *f, const void *data, size_t len);
/* Collective (every rank, in output_end): writes, syncs and renames into
 * place, or, if any rank failed, removes it; frees f. MR_OK or an error
 * (the failing rank's own message; the others stop with it). */
MR_PUBLIC int mr_pfile_commit(mr_pfile *f);
/* In output_part: the index of the current pair in the global order (0 is
 * the first pair of the whole output). */
MR_PUBLIC uint64_t mr_output_index(const mr_ctx *ctx);
/* Collective (every rank, in a callback that every rank runs: setup,
 * reduce_end, output_end): v[i] becomes the sum over ranks of v[i]. */
MR_PUBLIC int mr_sum_u64(mr_ctx *ctx, uint64_t *v, size_t n);

static inline mr_bytes mr_str(const char *s)
{
    return (mr_bytes){s, strlen(s)};
}

static inline mr_bytes mr_mem(const void *p, size_t n)
{
    return (mr_bytes){p, n};
}

/* Keys that sort numerically under the default bytewise order. */
static inline void mr_put_be32(unsigned char out[4], uint32_t v)
{
    out[0] = (unsigned char)(v >> 24);
    out[1] = (unsigned char)(v >> 16);
    out[2] = (unsigned char)(v >> 8);
    out[3] = (unsigned char)v;
}

static inline uint32_t mr_get_be32(const void *p)
{
    const unsigned char *b = (const unsigned char *)p;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 |
           (uint32_t)b[3];
}

/* The first 8 bytes of p[0..len) as a big-endian number, zero-padded: a
 * building block for order_key, since it orders byte strings as a
 * bytewise comparison does (strings equal in their first 8 bytes, or
 * differing only by trailing zero bytes, get equal numbers and are then
 * compared in full by order). */
static inline uint64_t mr_prefix64(const void *p, size_t len)
{
    unsigned char b[8] = {0};
    if (len)
        memcpy(b, p, len < 8 ? len : 8);
    uint64_t k = 0;
    for (int i = 0; i < 8; i++)
        k = k << 8 | b[i];
    return k;
}

#ifdef __cplusplus
}
#endif
#endif /* MR_JOB_H */
