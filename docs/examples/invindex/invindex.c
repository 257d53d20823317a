/* invindex.c -- an inverted index as an mr job: for every word, the sorted
 * list of the documents that contain it. The example of
 * docs/writing-a-job.md, built outside the mr source tree.
 *
 *   mpirun -np N mr-run invindex [--min-length N] [--out FILE] INPUT...
 *
 * A document is a file; its name is its path as found from the INPUT
 * arguments (files, folders walked in sorted order, .gz files, `-`). A word
 * is a run of ASCII letters, digits and bytes >= 0x80 (UTF-8 letters),
 * ASCII lowercased; words shorter than --min-length bytes or longer than
 * MAX_WORD are left out. Output: one line per word, in bytewise order,
 * `word<TAB>doc<TAB>doc...` with each document once, in bytewise order.
 *
 *   split    rank 0: mr_input_split() cuts the input into tasks
 *   map      any rank: reads a task's chunks, emits (word, document)
 *   combine  rank-local: one pair per distinct (word, document)
 *   reduce   the word's owner rank: emits (word, "doc<TAB>doc...")
 *   output   rank 0, words in bytewise order: writes the lines
 */
/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include <mr/mr_input.h>
#include <mr/mr_job.h>

#define MAX_WORD 64

typedef struct ix_state {
    long min_length;
    const char *out_path; /* NULL: standard output */
    FILE *out;            /* rank 0, once the first line is written */
    mr_input_plan *plan;  /* rank 0: made by split, freed by teardown */
    mr_input_reader *reader;
    unsigned char sep[256];
} ix_state;

static const mr_option ix_options[] = {
    {"min-length", MR_OPT_INT, "1", "leave out words shorter than N bytes"},
    {"out", MR_OPT_STRING, NULL, "write the index there (default: stdout)"},
    {NULL, 0, NULL, NULL},
};

static int ix_setup(mr_ctx *ctx)
{
    long min = mr_opt_int(ctx, "min-length");
    if (min < 1 || min > MAX_WORD)
        return mr_error(ctx, MR_EUSAGE, "--min-length %ld: give 1 to %d", min,
                        MAX_WORD);
    if (mr_ctx_argc(ctx) == 0)
        return mr_error(ctx, MR_EUSAGE, "no INPUT: give files or folders");
    const char *out = mr_opt_string(ctx, "out");
    if (out && mr_ctx_rank(ctx) == 0) {
        int rc = mr_out_check(ctx, out); /* fail now, not after the work */
        if (rc != MR_OK)
            return rc;
    }
    ix_state *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    st->min_length = min;
    st->out_path = out;
    mr_input_sep_fill(st->sep, MR_INPUT_SEP_ALNUM);
    mr_ctx_set_state(ctx, st);
    return MR_OK;
}

static int ix_split(mr_ctx *ctx)
{
    ix_state *st = mr_ctx_state(ctx);
    return mr_input_split(ctx, mr_ctx_argc(ctx), mr_ctx_argv(ctx), &st->plan);
}

/* One task's reading: the state and whether the last chunk ended inside
 * a word longer than the reader's buffer. */
typedef struct ix_task {
    const ix_state *st;
    int in_long;
} ix_task;

/* Emits (word, document) for the words of one chunk. A chunk ends at a
 * separator, so no word is cut, except one longer than the reader's
 * buffer (1 MiB): it comes in pieces flagged MR_INPUT_CONTINUES and is
 * left out like any word over MAX_WORD. */
static int ix_chunk(mr_ctx *ctx, const mr_input_chunk *c, void *arg)
{
    ix_task *t = arg;
    const ix_state *st = t->st;
    mr_bytes doc = mr_str(c->path);
    size_t i = 0, n = c->len;
    unsigned char *d = c->data;
    if (t->in_long) /* the tail of a long word */
        while (i < n && !st->sep[d[i]])
            i++;
    t->in_long = (c->flags & MR_INPUT_CONTINUES) != 0;
    if (t->in_long)
        return MR_OK; /* a piece of a long word: no separator in it */
    while (i < n) {
        while (i < n && st->sep[d[i]])
            i++;
        size_t start = i;
        for (; i < n && !st->sep[d[i]]; i++)
            if (d[i] >= 'A' && d[i] <= 'Z')
                d[i] = (unsigned char)(d[i] - 'A' + 'a'); /* ours to modify */
        size_t len = i - start;
        if (len >= (size_t)st->min_length && len <= MAX_WORD) {
            int rc = mr_emit(ctx, mr_mem(d + start, len), doc);
            if (rc != MR_OK)
                return rc;
        }
    }
    return MR_OK;
}

/* mr_input_each() reads the task, counts its bytes, stops on request and
 * reports read errors; the job only looks at the chunks. */
static int ix_map(mr_ctx *ctx, mr_bytes task)
{
    ix_state *st = mr_ctx_state(ctx);
    if (!st->reader) /* the first task on this rank */
        st->reader = mr_input_reader_new(st->sep, 0);
    ix_task t = {st, 0};
    return mr_input_each(ctx, st->reader, task, ix_chunk, &t);
}

static int bytes_cmp(const void *pa, const void *pb)
{
    const mr_bytes *a = pa, *b = pb;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->ptr, b->ptr, n) : 0;
    return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The distinct values of a key, sorted. Caller frees *out (not the bytes:
 * they are borrowed from the engine until the callback returns). */
static size_t distinct(mr_values *values, mr_bytes **out)
{
    size_t n = 0, cap = 16;
    mr_bytes *v = malloc(cap * sizeof *v), one;
    if (!v)
        abort();
    while (mr_values_next(values, &one)) {
        if (n == cap && !(v = realloc(v, (cap *= 2) * sizeof *v)))
            abort();
        v[n++] = one;
    }
    qsort(v, n, sizeof *v, bytes_cmp);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (k == 0 || bytes_cmp(&v[k - 1], &v[i]) != 0)
            v[k++] = v[i];
    *out = v;
    return k;
}

/* Rank-local, before the shuffle: each document once per word. */
static int ix_combine(mr_ctx *ctx, mr_bytes word, mr_values *values)
{
    mr_bytes *docs;
    size_t n = distinct(values, &docs);
    int rc = MR_OK;
    for (size_t i = 0; i < n && rc == MR_OK; i++)
        rc = mr_emit(ctx, word, docs[i]);
    free(docs);
    return rc;
}

/* On the word's owner rank: one output pair, the documents joined by
 * tabs. */
static int ix_reduce(mr_ctx *ctx, mr_bytes word, mr_values *values)
{
    mr_bytes *docs;
    size_t n = distinct(values, &docs), len = 0;
    for (size_t i = 0; i < n; i++)
        len += docs[i].len + 1;
    char *list = malloc(len ? len : 1), *p = list;
    if (!list)
        abort();
    for (size_t i = 0; i < n; i++) {
        if (i)
            *p++ = '\t';
        memcpy(p, docs[i].ptr, docs[i].len);
        p += docs[i].len;
    }
    int rc = mr_emit(ctx, word, mr_mem(list, (size_t)(p - list)));
    free(list);
    free(docs);
    return rc;
}

/* Rank 0, once per word, words in bytewise order (the default order). */
static int ix_output(mr_ctx *ctx, mr_bytes word, mr_bytes docs)
{
    ix_state *st = mr_ctx_state(ctx);
    FILE *f = stdout;
    if (st->out_path) {
        if (!st->out && !(st->out = mr_out_open(ctx, st->out_path)))
            return MR_EIO; /* mr_out_open said why */
        f = st->out;
    }
    if (fprintf(f, "%.*s\t%.*s\n", (int)word.len, (const char *)word.ptr,
                (int)docs.len, (const char *)docs.ptr) < 0)
        return mr_error(ctx, MR_EIO, "%s: write failed",
                        st->out_path ? st->out_path : "standard output");
    return MR_OK;
}

/* Rank 0, after the last word: the file appears under its name now. */
static int ix_finish(mr_ctx *ctx)
{
    ix_state *st = mr_ctx_state(ctx);
    if (!st->out_path)
        return fflush(stdout) == 0
                   ? MR_OK
                   : mr_error(ctx, MR_EIO, "writing to standard output failed");
    if (!st->out && !(st->out = mr_out_open(ctx, st->out_path)))
        return MR_EIO; /* no words at all: an empty index */
    st->out = NULL;    /* mr_out_commit closes it */
    return mr_out_commit(ctx);
}

static void ix_teardown(mr_ctx *ctx)
{
    ix_state *st = mr_ctx_state(ctx);
    if (!st)
        return; /* setup failed before making the state */
    mr_input_reader_free(st->reader);
    mr_input_plan_free(st->plan);
    free(st);
    mr_ctx_set_state(ctx, NULL);
}

static const struct mr_job invindex = {
    .name = "invindex",
    .summary = "inverted index: each word and the documents containing it",
    .usage = "INPUT...",
    .options = ix_options,
    .setup = ix_setup,
    .split = ix_split,
    .map = ix_map,
    .combine = ix_combine,
    .reduce = ix_reduce,
    .output = ix_output,
    .finish = ix_finish,
    .teardown = ix_teardown,
};

MR_JOB_PLUGIN(invindex)
{
    return mr_job_register(reg, &invindex);
}
