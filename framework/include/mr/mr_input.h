/* mr_input.h -- file input for jobs: plan map tasks, stream whole records.
 *
 * Jobs that read documents (wordcount, stream) share this layer. It knows
 * files, folders, gzip and standard input, and records that end at a
 * separator byte; it knows nothing about words or lines beyond the
 * separator table the caller passes. A job uses three calls:
 *
 *   setup   mr_input_check_args(): no INPUT is a usage error (exit 2);
 *   split   mr_input_split(): plans the INPUTs into tasks (rank 0);
 *   map     mr_input_each(): hands the job's function each chunk of the
 *           task, counting bytes and honouring stop requests.
 *
 * Planning (in a job's split, rank 0): mr_input_split() walks the INPUT
 * arguments, checks that everything can be opened before any work starts
 * (naming every argument that cannot be), and cuts the input into tasks
 * with mr_task_add():
 *   - a big plain file becomes byte ranges of about
 *     max(1 MiB, total / (nranks * 32)) bytes;
 *   - small files are grouped, in path order, into tasks of about that size;
 *   - a `.gz` file is read whole by one task (a gzip stream cannot be
 *     entered in the middle); it is weighted by its size times 4, the usual
 *     ratio of text;
 *   - `-` is standard input. Under mpirun only rank 0 has it, and the
 *     scheduler may give any task to any rank, so split copies it to a
 *     temporary file (in $TMPDIR, or /tmp) that then is an ordinary plain
 *     input, cut into ranges like any other. On several nodes $TMPDIR must
 *     be a folder every node sees. The plan owns that file: keep the plan
 *     until teardown and free it there (mr_input_plan_free removes it).
 * Folders are walked recursively in sorted path order (bytewise, as
 * `find -L DIR -type f | LC_ALL=C sort` lists them), following symbolic
 * links; a folder that is its own ancestor (a symlink loop) is skipped.
 * Inside folders, entries that are neither regular files nor folders
 * (FIFOs, sockets, devices) are skipped; named on the command line they
 * are an error. Empty plain files produce no task. A task is an opaque
 * byte string: only this layer reads it.
 *
 * Reading (in map, on whichever rank runs the task): an mr_input_reader
 * streams a task's bytes through one buffer (1 MiB by default; memory does
 * not grow with the input) and hands out chunks of whole records: a chunk
 * ends just after a separator, or at the end of a file. A byte range
 * [off, off + len) of a file starts just after the first separator at or
 * after off (at 0 when off is 0) and ends just after the first separator at
 * or after off + len (or at the end of the file), so consecutive ranges
 * share no record and miss none; an empty range (len 0) holds no record. A
 * record longer than the buffer comes in pieces: every piece but the last has
 * MR_INPUT_CONTINUES set (and holds no separator), and the record goes on in
 * the next chunk, which may be empty. Records made of several lines (FASTA)
 * are a job's business: docs/writing-a-job.md shows the pattern.
 *
 * Errors: functions return MR_OK or a negative MR_E* code. The calls that
 * take a context (mr_input_split, mr_input_each, mr_input_check_args)
 * report through mr_error(); the objects used on their own keep the
 * message of their last failure (mr_input_plan_error(),
 * mr_input_reader_error()). Messages name the file, and the byte offset
 * for read and gzip errors. Running out of memory aborts.
 *
 * Compatibility: mr_input_chunk only ever grows at its end. The host fills
 * it: mr_input_each() hands the job a const pointer to its own chunk, and
 * mr_input_reader_next() passes the size the caller was compiled with, so
 * a job built against an older header is never written past its struct.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_INPUT_H
#define MR_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "mr_job.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Chunk flag: the chunk's last record goes on in the next chunk. */
#define MR_INPUT_CONTINUES 0x1u

/* mr_input_plan_file() flag: the file is read as gzip (or zlib) data. */
#define MR_INPUT_FILE_GZIP 0x1u
/* The 1.x name of MR_INPUT_FILE_GZIP, for source compatibility. */
#define MR_INPUT_GZIP MR_INPUT_FILE_GZIP

/* Ready-made separator tables for mr_input_sep_fill(). */
typedef enum mr_input_sep_kind {
    MR_INPUT_SEP_SPACE, /* space \t \n \v \f \r */
    MR_INPUT_SEP_ALNUM, /* every byte but [A-Za-z0-9] and bytes >= 0x80 */
    MR_INPUT_SEP_LINE,  /* '\n' */
} mr_input_sep_kind;

typedef struct mr_input_plan mr_input_plan;
typedef struct mr_input_reader mr_input_reader;

/* One piece of a task's input, as the reader hands it out. Read-only for
 * the job except the bytes at data. New fields go at the end, and only
 * there (see "Compatibility" above). */
typedef struct mr_input_chunk {
    unsigned char *data; /* borrowed until the next chunk; the job may
                            modify the bytes in place (lowercase them) */
    size_t len;
    unsigned flags;   /* MR_INPUT_CONTINUES */
    const char *path; /* file the bytes come from; borrowed likewise */
    uint64_t offset;  /* offset of data[0] in the (uncompressed) file */
} mr_input_chunk;

/* What mr_input_each() calls for each chunk, with the `arg` it was given.
 * Returns MR_OK to go on, or a status (from mr_error()) to stop. */
typedef int mr_input_chunk_fn(mr_ctx *ctx, const mr_input_chunk *chunk,
                              void *arg);

/* Fills sep[256] with 1 for separator bytes and 0 for the others. */
MR_PUBLIC void mr_input_sep_fill(unsigned char sep[256],
                                 mr_input_sep_kind kind);

/* ---------------- planning ---------------- */

/* A new, empty plan. Caller owns it; free with mr_input_plan_free(). */
MR_PUBLIC mr_input_plan *mr_input_plan_new(void);
/* Removes the plan's stdin copy, if any, and frees it. Accepts NULL. */
MR_PUBLIC void mr_input_plan_free(mr_input_plan *plan);

/* Adds one INPUT argument: a file, a folder (walked), or "-" (standard
 * input, copied to a temporary file). Returns MR_OK, MR_EINVAL (missing,
 * unreadable or not a file) or MR_EIO (copying stdin failed). */
MR_PUBLIC int mr_input_plan_add(mr_input_plan *plan, const char *arg);

/* Cuts the files added so far into tasks for `nranks` ranks; ranges are at
 * least `min_task` bytes (0: 1 MiB). Replaces earlier tasks. */
MR_PUBLIC int mr_input_plan_cut(mr_input_plan *plan, int nranks,
                                uint64_t min_task);

/* The files, in planning order (path borrowed from the plan). */
MR_PUBLIC size_t mr_input_plan_nfiles(const mr_input_plan *plan);
MR_PUBLIC const char *mr_input_plan_file(const mr_input_plan *plan, size_t i,
                                         uint64_t *size, unsigned *flags);

/* The tasks made by mr_input_plan_cut(): descriptor (borrowed from the
 * plan) and weight. */
MR_PUBLIC size_t mr_input_plan_ntasks(const mr_input_plan *plan);
MR_PUBLIC mr_bytes mr_input_plan_task(const mr_input_plan *plan, size_t i,
                                      double *weight);

/* The message of the last failure (borrowed), or "" */
MR_PUBLIC const char *mr_input_plan_error(const mr_input_plan *plan);

/* A task descriptor as one line of text, for struct mr_job's describe
 * (ABI 1.2): "PATH bytes A-B" for one file or range, "FIRST .. LAST
 * (N files)" for a group. Truncated to size - 1 bytes. */
MR_PUBLIC void mr_input_describe(mr_bytes task, char *buf, size_t size);

/* For a job's split: plans argv[0..argc) for mr_ctx_nranks() ranks and
 * adds every task with mr_task_add(). No arguments means no tasks. On
 * success *plan is the plan (caller owns it: keep it until teardown, as it
 * may hold the stdin copy); on failure *plan is NULL and the status comes
 * from mr_error(). */
MR_PUBLIC int mr_input_split(mr_ctx *ctx, int argc, const char *const *argv,
                             mr_input_plan **plan);

/* For a job's setup, where usage errors belong (exit 2, before any work):
 * no INPUT argument is a usage error, and on rank 0 the output file `out`
 * (NULL: none) must be writable (mr_out_check). Returns MR_OK or the
 * status from mr_error(). */
MR_PUBLIC int mr_input_check_args(mr_ctx *ctx, const char *out);

/* ---------------- reading ---------------- */

/* For a job's map: reads `task` with the reader `r` (the job's, made
 * once with mr_input_reader_new) and calls fn(ctx, chunk, arg) for each
 * chunk, in order. It adds every chunk's length to the input byte counter
 * (mr_ctx_add_bytes), stops at the first chunk after a stop request (a
 * signal, a failed rank) with MR_ESTOP, and turns a reader error into
 * mr_error() with the reader's message (the file, and the byte offset for
 * read and gzip errors). Returns MR_OK at the end of the task, fn's status
 * if fn stops, or that error. The reader is closed on return. ABI 1.3. */
MR_PUBLIC int mr_input_each(mr_ctx *ctx, mr_input_reader *r, mr_bytes task,
                            mr_input_chunk_fn *fn, void *arg);

/* A reader for records ending at the bytes where sep[b] != 0 (copied).
 * bufsize 0 means 1 MiB; smaller than 16 is raised to 16. Caller owns it;
 * free with mr_input_reader_free(). */
MR_PUBLIC mr_input_reader *mr_input_reader_new(const unsigned char sep[256],
                                               size_t bufsize);
/* Closes the current task, if any, and frees. Accepts NULL. */
MR_PUBLIC void mr_input_reader_free(mr_input_reader *r);

/* Starts reading a task descriptor made by the planner. Borrowed: `task`
 * must stay valid until the reader is opened again, closed or freed.
 * Returns MR_OK or MR_EINVAL (malformed descriptor). */
MR_PUBLIC int mr_input_reader_open(mr_input_reader *r, mr_bytes task);

/* Next chunk of the task: returns 1 and fills *chunk, 0 at the end of the
 * task, or MR_EINVAL (a file vanished, bad gzip data) / MR_EIO (read
 * error) / MR_ESTOP (a stop request) with mr_input_reader_error().
 * `size` is sizeof *chunk as the caller was compiled: fields past it are
 * not written. Call it through the macro mr_input_reader_next(), which
 * passes the size. ABI 1.3. */
MR_PUBLIC int mr_input_reader_next_v(mr_input_reader *r,
                                     mr_input_chunk *chunk, size_t size);
/* The 1.x entry point, kept for jobs built before mr_input_reader_next_v:
 * fills the 1.x fields of mr_input_chunk only. */
MR_PUBLIC int mr_input_reader_next(mr_input_reader *r, mr_input_chunk *chunk);
#define mr_input_reader_next(r, chunk)                                       \
    mr_input_reader_next_v((r), (chunk), sizeof *(chunk))

/* Closes the current file; the reader can be opened again. */
MR_PUBLIC void mr_input_reader_close(mr_input_reader *r);

/* The message of the last failure (borrowed), or "". */
MR_PUBLIC const char *mr_input_reader_error(const mr_input_reader *r);

#ifdef __cplusplus
}
#endif
#endif /* MR_INPUT_H */
