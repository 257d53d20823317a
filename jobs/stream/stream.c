/* stream.c -- map-reduce with any programs as mapper and reducer, in the
 * Hadoop Streaming convention.
 *
 *   mpirun -np N mr-run stream --mapper CMD --reducer CMD [--combiner CMD]
 *                              [--out FILE] INPUT...
 *
 * Input is planned and read by the shared input layer (mr/mr_input.h):
 * files, folders, .gz files, `-`; a task is a byte range of whole lines or
 * a group of small files, about 1 MiB or more.
 *
 * Map: one mapper process per task, `/bin/sh -c CMD` (st_proc.c), fed the
 * task's lines on stdin (a last line without '\n' gets one) while its
 * stdout is read; each stdout line `key<TAB>value` (split at the first
 * tab) becomes mr_emit(key, value). One process per task rather than one
 * long-lived mapper per rank because:
 *   - isolation: a mapper keeps no state from one task to the next, so a
 *     task's pairs depend on its input only, not on which other tasks the
 *     scheduler happened to give the same rank; mappers that aggregate in
 *     memory and print at exit (the "in-mapper combiner" idiom) then still
 *     give the same output for any rank count and schedule;
 *   - a failure names exactly one task, and its stderr is that task's;
 *   - the per-task boundary is what the combiner needs;
 *   - tasks are about 1 MiB or more, so starting a process (about a
 *     millisecond for sh + awk, some tens for python3) is amortised over
 *     the reading.
 * With --combiner, a task's pairs are kept, sorted by key (stably, so
 * equal keys keep the mapper's order), piped through one combiner process,
 * and its output lines are emitted instead. A task with no pairs starts no
 * combiner.
 *
 * Reduce: one long-lived reducer process per rank, started at the rank's
 * first key (a rank with no keys starts none). Each reduce(key, values)
 * writes `key<TAB>value` lines, one per value, so the reducer reads its
 * input sorted by key (bytewise, the engine's grouping order) and grouped,
 * values in task order, as in Hadoop. Its output is read concurrently, and
 * reduce_end (every rank, after its last key) closes its stdin, drains it
 * and checks its exit status. Every reducer output line becomes an output
 * pair (key = the line, empty value), so the engine's default bytewise
 * order sorts the final output by line: the result does not depend on how
 * keys were spread over ranks. Rank 0 writes the lines to --out (atomic:
 * mr_out_open/mr_out_commit) or stdout, and a summary line to stderr.
 *
 * Errors: a mapper, combiner or reducer that cannot be started, exits
 * non-zero or dies by a signal, or a mapper or combiner line without a
 * tab, stops the run; the message names the role, the command, the task
 * and its input (map side), the exit status or signal, and the first
 * lines of the program's stderr. Stderr of programs that succeed is not
 * shown. SIGPIPE is ignored while the job runs (restored in teardown), so
 * a program that exits before reading all of its input makes write() fail
 * with EPIPE instead of killing mr-run; its exit status then decides.
 */
/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mr/mr_input.h>
#include <mr/mr_job.h>

#include "st_pairs.h"
#include "st_proc.h"

#define FLUSH_AT ((size_t)256 << 10) /* bytes gathered before a write */
#define STDERR_LINES 5

typedef struct st_buf {
    char *data;
    size_t len, cap;
} st_buf;

typedef struct st_state {
    const char *mapper, *combiner, *reducer, *out_path;
    mr_ctx *ctx; /* the current callback's, for the line callbacks */
    struct sigaction old_pipe;
    mr_input_plan *plan; /* rank 0: owns the stdin copy, if any */
    mr_input_reader *reader;

    /* map: the running task, for messages */
    long task;
    char first_path[256];
    uint64_t first_offset;
    char *last_path; /* a copy: the reader's is borrowed until its next call */
    unsigned nfiles;
    int collect;        /* mapper lines go to pairs (combiner) */
    const st_proc *cur; /* the process whose lines are being read */
    st_pairs pairs;
    char bad[160]; /* a line without a tab, described */

    /* reduce */
    st_proc red;
    int red_started;
    uint64_t keys;
    st_buf wbuf; /* lines gathered for the reducer or the combiner */

    /* output, rank 0 */
    FILE *out;
    uint64_t lines_out;
    double task_timeout; /* seconds, 0: none */
} st_state;

static const mr_option st_options[] = {
    {"mapper", MR_OPT_STRING, NULL,
     "COMMAND: run by /bin/sh for each map task: lines in, key<TAB>value "
     "out"},
    {"reducer", MR_OPT_STRING, NULL,
     "COMMAND: run once per rank: sorted key<TAB>value lines in, lines out"},
    {"combiner", MR_OPT_STRING, NULL,
     "COMMAND: run on each task's sorted mapper output (optional)"},
    {"out", MR_OPT_STRING, NULL,
     "FILE: write the output lines (sorted) there instead of stdout"},
    {"task-timeout", MR_OPT_DOUBLE, "0",
     "SECONDS: a mapper or combiner may take this long for one task, the "
     "reducer for all its input; past it the program and all it started "
     "are killed and the run fails (0: no limit, the default)"},
    {NULL, 0, NULL, NULL},
};

/* ---------------- helpers ---------------- */

static void buf_add(st_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap *= 2;
        b->data = realloc(b->data, cap);
        if (!b->data)
            abort();
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* Appends "key<TAB>value\n". */
static void buf_add_pair(st_buf *b, mr_bytes key, mr_bytes value)
{
    buf_add(b, key.ptr, key.len);
    buf_add(b, "\t", 1);
    buf_add(b, value.ptr, value.len);
    buf_add(b, "\n", 1);
}

/* At most `max` bytes of s, control bytes as '?', "..." if cut. */
static void excerpt(char *dst, size_t size, const char *s, size_t n, size_t max)
{
    size_t o = 0;
    for (size_t i = 0; i < n && i < max && o + 1 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        dst[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (n > max && o + 4 < size) {
        memcpy(dst + o, "...", 3);
        o += 3;
    }
    dst[o] = '\0';
}

/* The message for a failed mapper, combiner or reducer, from what went
 * wrong: rc from the st_proc (p->msg), a line without a tab (st->bad), or
 * the exit status (rc MR_OK). Kills the process. An error that mr_emit()
 * already reported is returned as it is. */
static int proc_fail(st_state *st, st_proc *p, const char *role,
                     const char *cmd, const char *where, int rc)
{
    char what[300], cmdx[220], err[480];
    int status = MR_ERROR;
    if (rc != MR_OK && p->msg[0]) {
        snprintf(what, sizeof what, "%s", p->msg);
    } else if (rc != MR_OK && st->bad[0]) {
        snprintf(what, sizeof what, "%s", st->bad);
        status = MR_EINVAL;
    } else if (rc != MR_OK) {
        st_proc_kill(p);
        return rc; /* mr_emit said why */
    } else {
        st_proc_describe(p, what, sizeof what);
    }
    st_proc_kill(p);
    excerpt(cmdx, sizeof cmdx, cmd, strlen(cmd), 200);
    st_proc_stderr_head(p, STDERR_LINES, err, sizeof err);
    return mr_error(st->ctx, status, "%s \"%s\" (%s): %s%s%s", role, cmdx,
                    where, what, err[0] ? "; its stderr:" : "", err);
}

/* Callback for mapper and combiner lines. */
static int pair_line(void *arg, const char *line, size_t len)
{
    st_state *st = arg;
    const char *tab = memchr(line, '\t', len);
    if (!tab) {
        char x[100];
        excerpt(x, sizeof x, line, len, 60);
        snprintf(st->bad, sizeof st->bad,
                 "output line %" PRIu64 " has no tab: \"%s\"", st->cur->lines,
                 x);
        return MR_EINVAL;
    }
    size_t klen = (size_t)(tab - line);
    if (st->collect) {
        if (len > ST_PAIRS_MAX_LINE)
            return mr_error(st->ctx, MR_EINVAL,
                            "a line of %zu bytes: over the limit of %zu", len,
                            ST_PAIRS_MAX_LINE);
        st_pairs_add(&st->pairs, line, klen, len);
        return MR_OK;
    }
    return mr_emit(st->ctx, mr_mem(line, klen),
                   mr_mem(tab + 1, len - klen - 1));
}

/* Callback for reducer lines: the line is the output key. */
static int output_line(void *arg, const char *line, size_t len)
{
    st_state *st = arg;
    return mr_emit(st->ctx, mr_mem(line, len), mr_mem("", 0));
}

/* ---------------- setup and split ---------------- */

static int stream_setup(mr_ctx *ctx)
{
    const char *mapper = mr_opt_string(ctx, "mapper");
    const char *reducer = mr_opt_string(ctx, "reducer");
    const char *combiner = mr_opt_string(ctx, "combiner");
    if (!mapper || !*mapper)
        return mr_error(ctx, MR_EUSAGE, "--mapper CMD is required");
    if (!reducer || !*reducer)
        return mr_error(ctx, MR_EUSAGE, "--reducer CMD is required");
    if (combiner && !*combiner)
        return mr_error(ctx, MR_EUSAGE, "--combiner: give a command");
    double timeout = mr_opt_double(ctx, "task-timeout");
    if (!(timeout >= 0) || timeout > 1e9)
        return mr_error(ctx, MR_EUSAGE, "--task-timeout %g: give seconds, "
                        "0 or more (0: no limit)", timeout);
    const char *out = mr_opt_string(ctx, "out");
    int rc = mr_input_check_args(ctx, out);
    if (rc != MR_OK)
        return rc;
    st_state *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    st->mapper = mapper;
    st->reducer = reducer;
    st->combiner = combiner;
    st->out_path = out;
    st->task_timeout = timeout;
    st->ctx = ctx;
    /* A program that stops reading must not kill us: EPIPE instead. */
    struct sigaction ign;
    memset(&ign, 0, sizeof ign);
    sigemptyset(&ign.sa_mask);
    ign.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ign, &st->old_pipe);
    mr_ctx_set_state(ctx, st);
    return MR_OK;
}

static int stream_split(mr_ctx *ctx)
{
    st_state *st = mr_ctx_state(ctx);
    return mr_input_split(ctx, mr_ctx_argc(ctx), mr_ctx_argv(ctx), &st->plan);
}

/* ---------------- map ---------------- */

/* "task 3, input corpus/kjv.txt from byte 1048576" */
static void task_where(const st_state *st, char *buf, size_t size)
{
    if (st->nfiles == 0)
        snprintf(buf, size, "task %ld, no input", st->task);
    else if (st->nfiles == 1)
        snprintf(buf, size, "task %ld, input %s from byte %" PRIu64, st->task,
                 st->first_path, st->first_offset);
    else
        snprintf(buf, size, "task %ld, input %s and %u more files", st->task,
                 st->first_path, st->nfiles - 1);
}

static void note_chunk(st_state *st, const mr_input_chunk *c)
{
    if (st->last_path && strcmp(st->last_path, c->path) == 0)
        return;
    if (st->nfiles++ == 0) {
        snprintf(st->first_path, sizeof st->first_path, "%s", c->path);
        st->first_offset = c->offset;
    }
    free(st->last_path);
    if (!(st->last_path = strdup(c->path)))
        abort();
}

/* A mapper being fed a task's chunks. */
typedef struct map_run {
    st_state *st;
    st_proc *p;
    int open_line; /* the last byte written was not '\n' */
    int rc;        /* what the last write said */
} map_run;

static int mapper_chunk(mr_ctx *ctx, const mr_input_chunk *c, void *arg)
{
    map_run *m = arg;
    (void)ctx;
    note_chunk(m->st, c);
    int rc = st_proc_write(m->p, c->data, c->len, pair_line, m->st);
    if (c->len)
        m->open_line = c->data[c->len - 1] != '\n';
    if (rc == MR_OK && m->open_line && !(c->flags & MR_INPUT_CONTINUES)) {
        rc = st_proc_write(m->p, "\n", 1, pair_line, m->st); /* end of file */
        m->open_line = 0;
    }
    return m->rc = rc;
}

/* Runs the mapper over the task; its pairs are emitted, or collected
 * when there is a combiner. */
static int run_mapper(mr_ctx *ctx, st_state *st, mr_bytes task)
{
    st_proc p;
    char where[400];
    int rc = st_proc_start(&p, st->mapper);
    st_proc_set_timeout(&p, st->task_timeout);
    st->cur = &p;
    if (rc == MR_OK) {
        map_run m = {.st = st, .p = &p};
        rc = mr_input_each(ctx, st->reader, task, mapper_chunk, &m);
        if (rc != MR_OK && m.rc == MR_OK) {
            st_proc_kill(&p);
            return rc; /* the input's error, reported by mr_input_each */
        }
    }
    if (rc == MR_OK)
        rc = st_proc_finish(&p, pair_line, st);
    if (rc != MR_OK || st_proc_failed(&p)) {
        task_where(st, where, sizeof where);
        return proc_fail(st, &p, "mapper", st->mapper, where, rc);
    }
    st_proc_kill(&p); /* reaped already: frees the buffers */
    return MR_OK;
}

/* Pipes the task's sorted pairs through the combiner and emits its
 * lines. */
static int run_combiner(st_state *st)
{
    st_proc p;
    char where[400];
    st_pairs_sort(&st->pairs);
    st->wbuf.len = 0;
    int rc = st_proc_start(&p, st->combiner);
    st_proc_set_timeout(&p, st->task_timeout);
    st->cur = &p;
    for (size_t i = 0; rc == MR_OK && i < st->pairs.n; i++) {
        mr_bytes line = st_pairs_line(&st->pairs, i);
        buf_add(&st->wbuf, line.ptr, line.len);
        buf_add(&st->wbuf, "\n", 1);
        if (st->wbuf.len >= FLUSH_AT || i + 1 == st->pairs.n) {
            rc = st_proc_write(&p, st->wbuf.data, st->wbuf.len, pair_line, st);
            st->wbuf.len = 0;
        }
    }
    if (rc == MR_OK)
        rc = st_proc_finish(&p, pair_line, st);
    if (rc != MR_OK || st_proc_failed(&p)) {
        task_where(st, where, sizeof where);
        return proc_fail(st, &p, "combiner", st->combiner, where, rc);
    }
    st_proc_kill(&p);
    return MR_OK;
}

static int stream_map(mr_ctx *ctx, mr_bytes task)
{
    st_state *st = mr_ctx_state(ctx);
    st->ctx = ctx;
    if (!st->reader) {
        unsigned char sep[256];
        mr_input_sep_fill(sep, MR_INPUT_SEP_LINE);
        st->reader = mr_input_reader_new(sep, 0);
    }
    st->task = mr_ctx_task(ctx);
    st->nfiles = 0;
    free(st->last_path);
    st->last_path = NULL;
    st->bad[0] = '\0';
    st_pairs_clear(&st->pairs);
    st->collect = st->combiner != NULL;
    int rc = run_mapper(ctx, st, task);
    st->collect = 0;
    if (rc == MR_OK && st->combiner && st->pairs.n > 0)
        rc = run_combiner(st);
    st_pairs_clear(&st->pairs);
    return rc;
}

/* ---------------- reduce ---------------- */

static int reducer_fail(st_state *st, int rc)
{
    char where[64];
    snprintf(where, sizeof where, "after %" PRIu64 " key%s", st->keys,
             st->keys == 1 ? "" : "s");
    return proc_fail(st, &st->red, "reducer", st->reducer, where, rc);
}

static int stream_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    st_state *st = mr_ctx_state(ctx);
    st->ctx = ctx;
    int rc;
    if (!st->red_started) {
        st->red_started = 1;
        st->wbuf.len = 0;
        if ((rc = st_proc_start(&st->red, st->reducer)) != MR_OK)
            return reducer_fail(st, rc);
        st_proc_set_timeout(&st->red, st->task_timeout);
    }
    mr_bytes v;
    while (mr_values_next(values, &v)) {
        buf_add_pair(&st->wbuf, key, v);
        if (st->wbuf.len >= FLUSH_AT) {
            rc = st_proc_write(&st->red, st->wbuf.data, st->wbuf.len,
                               output_line, st);
            st->wbuf.len = 0;
            if (rc != MR_OK)
                return reducer_fail(st, rc);
        }
    }
    st->keys++;
    return MR_OK;
}

static int stream_reduce_end(mr_ctx *ctx)
{
    st_state *st = mr_ctx_state(ctx);
    st->ctx = ctx;
    if (!st->red_started)
        return MR_OK; /* no keys here: no reducer */
    int rc =
        st_proc_write(&st->red, st->wbuf.data, st->wbuf.len, output_line, st);
    st->wbuf.len = 0;
    if (rc == MR_OK)
        rc = st_proc_finish(&st->red, output_line, st);
    if (rc != MR_OK || st_proc_failed(&st->red))
        return reducer_fail(st, rc);
    st_proc_kill(&st->red);
    return MR_OK;
}

/* ---------------- output (rank 0) ---------------- */

static int stream_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    st_state *st = mr_ctx_state(ctx);
    FILE *f = stdout;
    if (st->out_path) {
        if (!st->out && !(st->out = mr_out_open(ctx, st->out_path)))
            return MR_EIO; /* mr_out_open said why */
        f = st->out;
    }
    st->lines_out++;
    if (fwrite_unlocked(key.ptr, 1, key.len, f) != key.len ||
        putc_unlocked('\n', f) == EOF)
        return mr_error(ctx, MR_EIO, "%s: write failed",
                        st->out_path ? st->out_path : "standard output");
    return MR_OK;
}

static int stream_finish(mr_ctx *ctx)
{
    st_state *st = mr_ctx_state(ctx);
    if (fflush(stdout) != 0)
        return mr_error(ctx, MR_EIO, "standard output: %s", strerror(errno));
    if (st->out_path) {
        if (!st->out && !(st->out = mr_out_open(ctx, st->out_path)))
            return MR_EIO; /* no lines: an empty file */
        st->out = NULL;    /* closed by the commit, even when it fails */
        int rc = mr_out_commit(ctx);
        if (rc != MR_OK)
            return rc;
    }
    double secs = mr_ctx_time(ctx);
    uint64_t bytes = mr_ctx_total_bytes(ctx);
    fprintf(stderr,
            "stream: %" PRIu64 " bytes, %" PRIu64 " lines out, %.3f s, "
            "%.1f MB/s\n",
            bytes, st->lines_out, secs,
            secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
    return MR_OK;
}

static void stream_teardown(mr_ctx *ctx)
{
    st_state *st = mr_ctx_state(ctx);
    if (!st)
        return;
    st_proc_kill(&st->red); /* a run that failed before reduce_end */
    sigaction(SIGPIPE, &st->old_pipe, NULL);
    mr_input_reader_free(st->reader);
    mr_input_plan_free(st->plan);
    st_pairs_free(&st->pairs);
    free(st->wbuf.data);
    free(st->last_path);
    free(st);
    mr_ctx_set_state(ctx, NULL);
}

static const struct mr_job stream = {
    .name = "stream",
    .summary = "mapper and reducer are any programs (Hadoop Streaming: "
               "key<TAB>value lines)",
    .usage = "--mapper CMD --reducer CMD INPUT...",
    .describe = mr_input_describe,
    .options = st_options,
    .setup = stream_setup,
    .split = stream_split,
    .map = stream_map,
    .reduce = stream_reduce,
    .reduce_end = stream_reduce_end,
    .output = stream_output,
    .finish = stream_finish,
    .teardown = stream_teardown,
    /* reduce copies each value into the reducer's write buffer */
    .flags = MR_JOB_VALUES_STREAMED,
};

MR_JOB_PLUGIN(stream)
{
    return mr_job_register(reg, &stream);
}
