/* wordcount.c -- count the occurrences of each word in a collection of
 * documents.
 *
 *   mpirun -np N mr-run wordcount [--top K] [--out FILE]
 *                                 [--tokens words|whitespace]
 *                                 [--case-sensitive] INPUT...
 *
 * split (rank 0) plans the INPUTs with mr_input_split(): big files become
 * byte ranges, small files groups, each .gz one task, `-` a temporary copy
 * of stdin (see mr/mr_input.h). map streams a task with mr_input_each()
 * (one 1 MiB buffer) through the tokenizer (wc_token.c), and emits
 * (word, u64 1) per token. The job uses fold-at-emit (value_size 8, fold
 * adds), so each rank keeps one counter per distinct word and the shuffle
 * moves one pair per word and rank, not one per token; reduce is NULL and
 * passes the folded totals through. `order` sorts by count descending
 * then word ascending (bytewise). Output is parallel (output_part): the
 * engine gives every rank a contiguous range of that order, and each rank
 * writes its lines of the table into one file (mr_pfile) and its lines of
 * the top K, if any, to stdout through rank 0; no rank holds the whole
 * table.
 *
 * Output:
 *   stdout   the top K words, as `word<TAB>count` lines: exactly the first
 *            K lines of the --out table, printed once the table is in
 *            place.
 *   --out    the full table, `word<TAB>count` lines, written to a temporary
 *            name and renamed when complete (mr_pfile_commit).
 *   stderr   one summary line: "wordcount: B bytes, W words, D distinct,
 *            S s, R MB/s" where B counts the uncompressed input bytes read,
 *            S is the run's time up to the end of output, and MB is 10^6
 *            bytes.
 * A word longer than 64 KiB is counted under a shortened key (see
 * wc_token.h).
 */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mr/mr_input.h>
#include <mr/mr_job.h>

#include "wc_token.h"

typedef struct wc_state {
    wc_tok tok;
    mr_input_reader *reader; /* made by the first map call */
    mr_input_plan *plan;     /* rank 0: owns the stdin copy, if any */
    long top;
    const char *out_path; /* NULL: no table */
    mr_pfile *table;      /* this rank's lines of the table */
    /* This rank's lines of the top K: committed after the table, so that
     * nothing on stdout looks like success when the table failed. */
    mr_pfile *head;
    uint64_t words, distinct; /* this rank's, then (output_end) the run's */
} wc_state;

static const mr_option wc_options[] = {
    {"top", MR_OPT_INT, "10",
     "print the N most frequent words on stdout (N > 0)"},
    {"out", MR_OPT_STRING, NULL,
     "FILE: write the full table (word<TAB>count, most frequent first) "
     "there"},
    {"tokens", MR_OPT_STRING, "words",
     "MODE: words (runs of letters, digits, UTF-8) or whitespace (runs of "
     "non-blanks)"},
    {"case-sensitive", MR_OPT_FLAG, NULL,
     "keep ASCII case in words mode (whitespace mode always does)"},
    {NULL, 0, NULL, NULL},
};

static int wc_setup(mr_ctx *ctx)
{
    long top = mr_opt_int(ctx, "top");
    if (top <= 0)
        return mr_error(ctx, MR_EUSAGE,
                        "--top %ld: give a positive number of words", top);
    const char *tokens = mr_opt_string(ctx, "tokens");
    wc_mode mode;
    if (strcmp(tokens, "words") == 0)
        mode = WC_WORDS;
    else if (strcmp(tokens, "whitespace") == 0)
        mode = WC_WHITESPACE;
    else
        return mr_error(ctx, MR_EUSAGE,
                        "--tokens %s: use 'words' or 'whitespace'", tokens);
    const char *out = mr_opt_string(ctx, "out");
    int rc = mr_input_check_args(ctx, out);
    if (rc != MR_OK)
        return rc;
    wc_state *st = calloc(1, sizeof *st);
    if (!st)
        abort();
    wc_tok_init(&st->tok, mode, mr_opt_flag(ctx, "case-sensitive"));
    st->top = top;
    st->out_path = out;
    mr_ctx_set_state(ctx, st);
    return MR_OK;
}

static int wc_split(mr_ctx *ctx)
{
    wc_state *st = mr_ctx_state(ctx);
    return mr_input_split(ctx, mr_ctx_argc(ctx), mr_ctx_argv(ctx), &st->plan);
}

static int emit_word(void *arg, const unsigned char *word, size_t len)
{
    static const uint64_t one = 1;
    return mr_emit(arg, mr_mem(word, len), mr_mem(&one, sizeof one));
}

static int wc_chunk(mr_ctx *ctx, const mr_input_chunk *c, void *arg)
{
    wc_state *st = arg;
    return wc_tok_feed(&st->tok, c->data, c->len,
                       (c->flags & MR_INPUT_CONTINUES) != 0, emit_word, ctx);
}

static int wc_map(mr_ctx *ctx, mr_bytes task)
{
    wc_state *st = mr_ctx_state(ctx);
    if (!st->reader)
        st->reader = mr_input_reader_new(st->tok.sep, 0);
    wc_tok_reset(&st->tok);
    return mr_input_each(ctx, st->reader, task, wc_chunk, st);
}

static uint64_t count_of(mr_bytes v)
{
    uint64_t c;
    memcpy(&c, v.ptr, sizeof c);
    return c;
}

/* Count descending, then word ascending (bytewise; a prefix first). */
static int wc_order(mr_bytes ak, mr_bytes av, mr_bytes bk, mr_bytes bv)
{
    uint64_t a = count_of(av), b = count_of(bv);
    if (a != b)
        return a > b ? -1 : 1;
    size_t n = ak.len < bk.len ? ak.len : bk.len;
    int c = n ? memcmp(ak.ptr, bk.ptr, n) : 0;
    if (c)
        return c;
    return (ak.len > bk.len) - (ak.len < bk.len);
}

/* wc_order in 64 bits, for the engine's radix sort (see wc_count_key). */
static uint64_t wc_order_key(mr_bytes key, mr_bytes value)
{
    return wc_count_key(count_of(value), key.ptr, key.len);
}

static uint64_t wc_order_key_at(const mr_ctx *ctx, mr_bytes key,
                                mr_bytes value, unsigned level)
{
    (void)ctx;
    return wc_count_key_at(count_of(value), key.ptr, key.len, level);
}

/* "word\tcount\n" into buf (at least key.len + 22 bytes); returns its
 * length. No printf for millions of lines. */
static size_t format_line(char *buf, mr_bytes key, uint64_t count)
{
    char num[24];
    char *p = num + sizeof num;
    *--p = '\n';
    do
        *--p = (char)('0' + count % 10);
    while (count /= 10);
    *--p = '\t';
    size_t n = (size_t)(num + sizeof num - p);
    memcpy(buf, key.ptr, key.len);
    memcpy(buf + key.len, p, n);
    return key.len + n;
}

/* The pfiles exist from the output phase on: output_end commits them on
 * every rank, also on one that got no pairs. */
static void open_parts(mr_ctx *ctx, wc_state *st)
{
    if (!st->head)
        st->head = mr_pfile_open(ctx, "-");
    if (st->out_path && !st->table)
        st->table = mr_pfile_open(ctx, st->out_path);
}

static int wc_output_part(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    wc_state *st = mr_ctx_state(ctx);
    uint64_t count = count_of(value);
    st->words += count;
    st->distinct++;
    open_parts(ctx, st);
    char small[256], *buf = key.len + 24 <= sizeof small ? small
                                                         : malloc(key.len + 24);
    if (!buf)
        abort();
    size_t n = format_line(buf, key, count);
    int rc = MR_OK;
    if (mr_output_index(ctx) < (uint64_t)st->top)
        rc = mr_pfile_write(st->head, buf, n);
    if (rc == MR_OK && st->table)
        rc = mr_pfile_write(st->table, buf, n);
    if (buf != small)
        free(buf);
    return rc;
}

/* Every rank: the table into place, then the top lines, then the totals
 * for finish. Each call is collective and agrees on failures itself. */
static int wc_output_end(mr_ctx *ctx)
{
    wc_state *st = mr_ctx_state(ctx);
    open_parts(ctx, st);
    int rc = MR_OK;
    if (st->table)
        rc = mr_pfile_commit(st->table);
    st->table = NULL;
    int hrc = mr_pfile_commit(st->head);
    st->head = NULL;
    uint64_t totals[2] = {st->words, st->distinct};
    int src = mr_sum_u64(ctx, totals, 2);
    st->words = totals[0];
    st->distinct = totals[1];
    return rc != MR_OK ? rc : hrc != MR_OK ? hrc : src;
}

static int wc_finish(mr_ctx *ctx)
{
    wc_state *st = mr_ctx_state(ctx);
    if (fflush(stdout) != 0 || ferror(stdout))
        return mr_error(ctx, MR_EIO, "standard output: %s", strerror(errno));
    double secs = mr_ctx_time(ctx);
    uint64_t bytes = mr_ctx_total_bytes(ctx);
    fprintf(stderr,
            "wordcount: %" PRIu64 " bytes, %" PRIu64 " words, %" PRIu64
            " distinct, %.3f s, %.1f MB/s\n",
            bytes, st->words, st->distinct, secs,
            secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
    return MR_OK;
}

static void wc_teardown(mr_ctx *ctx)
{
    wc_state *st = mr_ctx_state(ctx);
    if (!st)
        return;
    mr_input_reader_free(st->reader);
    mr_input_plan_free(st->plan);
    wc_tok_fini(&st->tok);
    free(st);
    mr_ctx_set_state(ctx, NULL);
}

static const struct mr_job wordcount = {
    .name = "wordcount",
    .summary = "count the words of files, folders, .gz files or stdin",
    .usage = "INPUT...",
    .describe = mr_input_describe,
    .options = wc_options,
    .setup = wc_setup,
    .split = wc_split,
    .map = wc_map,
    .value_size = sizeof(uint64_t),
    .fold = mr_fold_sum_u64,
    .order = wc_order,
    .order_key = wc_order_key,
    .order_key_at = wc_order_key_at,
    .output_part = wc_output_part,
    .output_end = wc_output_end,
    .finish = wc_finish,
    .teardown = wc_teardown,
};

MR_JOB_PLUGIN(wordcount)
{
    return mr_job_register(reg, &wordcount);
}
