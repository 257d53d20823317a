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
 * then word ascending (bytewise); the engine sorts each rank's partition
 * in parallel and merges them on rank 0, which calls output once per word
 * in that order.
 *
 * Output (rank 0):
 *   stdout   the top K words, as `word<TAB>count` lines: exactly the first
 *            K lines of the --out table.
 *   --out    the full table, `word<TAB>count` lines, written to a temporary
 *            name and renamed when complete (mr_out_open/mr_out_commit).
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
    FILE *out;
    /* With --out, the top lines wait here until the table is committed:
     * nothing on stdout may look like success when the table failed. */
    FILE *top_mem;
    char *top_buf;
    size_t top_len;
    uint64_t words, distinct;
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

/* "word\tcount\n"; OPTIMIZATION: no printf for millions of lines. */
static int put_line(FILE *f, mr_bytes key, uint64_t count)
{
    char num[24];
    char *p = num + sizeof num;
    *--p = '\n';
    do
        *--p = (char)('0' + count % 10);
    while (count /= 10);
    *--p = '\t';
    size_t n = (size_t)(num + sizeof num - p);
    return fwrite_unlocked(key.ptr, 1, key.len, f) == key.len &&
           fwrite_unlocked(p, 1, n, f) == n;
}

static int open_out(mr_ctx *ctx, wc_state *st)
{
    st->out = mr_out_open(ctx, st->out_path);
    if (!st->out)
        return MR_EIO; /* mr_out_open said why */
    setvbuf(st->out, NULL, _IOFBF, (size_t)1 << 20);
    return MR_OK;
}

static int wc_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    wc_state *st = mr_ctx_state(ctx);
    uint64_t count = count_of(value);
    st->words += count;
    st->distinct++;
    if (st->distinct <= (uint64_t)st->top) {
        if (st->out_path && !st->top_mem &&
            !(st->top_mem = open_memstream(&st->top_buf, &st->top_len)))
            return mr_error(ctx, MR_EIO, "out of memory");
        if (!put_line(st->out_path ? st->top_mem : stdout, key, count))
            return mr_error(ctx, MR_EIO, "standard output: %s",
                            strerror(errno));
    }
    if (!st->out_path)
        return MR_OK;
    if (!st->out) {
        int rc = open_out(ctx, st);
        if (rc != MR_OK)
            return rc;
    }
    if (!put_line(st->out, key, count))
        return mr_error(ctx, MR_EIO, "%s: write failed: %s", st->out_path,
                        strerror(errno));
    return MR_OK;
}

static int wc_finish(mr_ctx *ctx)
{
    wc_state *st = mr_ctx_state(ctx);
    if (st->out_path) {
        int rc = st->out ? MR_OK : open_out(ctx, st); /* empty table */
        if (rc == MR_OK)
            rc = mr_out_commit(ctx);
        st->out = NULL; /* closed by commit */
        if (rc != MR_OK)
            return rc;
        if (st->top_mem) {
            fclose(st->top_mem);
            st->top_mem = NULL;
            fwrite(st->top_buf, 1, st->top_len, stdout);
        }
    }
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
    if (st->top_mem)
        fclose(st->top_mem);
    free(st->top_buf);
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
    .output = wc_output,
    .finish = wc_finish,
    .teardown = wc_teardown,
};

MR_JOB_PLUGIN(wordcount)
{
    return mr_job_register(reg, &wordcount);
}
