/* test_mr_input_each.c -- unit tests of mr_input_each(), the task
 * descriptor codec (mr_input_desc.c) and the growable chunk.
 *
 * mr_input_each() is what jobs call in map, so its promises are checked
 * one by one: every byte is counted with mr_ctx_add_bytes, a stop request
 * ends the task before the next chunk with MR_ESTOP, a reader error
 * becomes an mr_error() that names the file and the byte offset, and the
 * job's own error comes back unchanged. The context is a zeroed struct
 * mr_ctx: mr_error() and mr_ctx_add_bytes() need no more, and so the test
 * needs no MPI.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mr/mr_input.h"
#include "mr_input_desc.h"
#include "mr_ctx.h"
#include "mr_signal.h"
#include "mr_test.h"

static char *tmpdir;

static int suite_init(void)
{
    tmpdir = g_dir_make_tmp("mr_input_each_XXXXXX", NULL);
    return tmpdir ? 0 : -1;
}

static int suite_clean(void)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    int rc = system(cmd);
    g_free(cmd);
    g_free(tmpdir);
    return rc == 0 ? 0 : -1;
}

static char *tpath(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static mr_ctx *fake_ctx(void)
{
    return g_new0(mr_ctx, 1);
}

static void fake_ctx_free(mr_ctx *ctx)
{
    g_free(ctx->errmsg);
    g_free(ctx);
}

/* The descriptor of one whole file, made by the planner. */
static GByteArray *whole_file_task(const char *path)
{
    mr_input_plan *plan = mr_input_plan_new();
    CU_ASSERT_EQUAL_FATAL(mr_input_plan_add(plan, path), MR_OK);
    CU_ASSERT_EQUAL_FATAL(mr_input_plan_cut(plan, 1, UINT64_MAX / 4), MR_OK);
    CU_ASSERT_EQUAL_FATAL(mr_input_plan_ntasks(plan), 1);
    mr_bytes t = mr_input_plan_task(plan, 0, NULL);
    GByteArray *d = g_byte_array_new();
    g_byte_array_append(d, t.ptr, (guint)t.len);
    mr_input_plan_free(plan);
    return d;
}

static mr_bytes as_bytes(const GByteArray *d)
{
    return mr_mem(d->data, d->len);
}

/* What the chunk function saw. */
typedef struct seen {
    GByteArray *bytes;
    int calls;
    int stop_after; /* >0: ask for a stop in that call */
    int fail_at;    /* >0: fail in that call */
} seen;

static int collect(mr_ctx *ctx, const mr_input_chunk *c, void *arg)
{
    seen *s = arg;
    s->calls++;
    g_byte_array_append(s->bytes, c->data, (guint)c->len);
    if (s->stop_after == s->calls)
        mr__stop_remote(3, "elsewhere");
    if (s->fail_at == s->calls)
        return mr_error(ctx, MR_EINVAL, "the job's own error");
    return MR_OK;
}

static char *text_file(const char *name, size_t n)
{
    char *path = tpath(name);
    GString *s = g_string_new(NULL);
    for (size_t i = 0; s->len < n; i++)
        g_string_append_printf(s, "word%zu ", i % 97);
    g_string_truncate(s, n);
    g_assert(g_file_set_contents(path, s->str, (gssize)s->len, NULL));
    g_string_free(s, TRUE);
    return path;
}

static void test_counts_bytes(void)
{
    char *path = text_file("count.txt", 5000);
    GByteArray *task = whole_file_task(path);
    unsigned char sep[256];
    mr_input_sep_fill(sep, MR_INPUT_SEP_SPACE);
    mr_input_reader *r = mr_input_reader_new(sep, 64); /* many chunks */
    mr_ctx *ctx = fake_ctx();
    seen s = {g_byte_array_new(), 0, 0, 0};

    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s), MR_OK);
    CU_ASSERT(s.calls > 10);
    CU_ASSERT_EQUAL(s.bytes->len, 5000);
    CU_ASSERT_EQUAL(ctx->bytes_in, 5000);
    CU_ASSERT_EQUAL(ctx->status, MR_OK);

    /* The reader is closed and can run the next task: counts add up. */
    g_byte_array_set_size(s.bytes, 0);
    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s), MR_OK);
    CU_ASSERT_EQUAL(ctx->bytes_in, 10000);

    g_byte_array_unref(s.bytes);
    fake_ctx_free(ctx);
    mr_input_reader_free(r);
    g_byte_array_unref(task);
    g_free(path);
}

static void test_stop_request(void)
{
    char *path = text_file("stop.txt", 5000);
    GByteArray *task = whole_file_task(path);
    unsigned char sep[256];
    mr_input_sep_fill(sep, MR_INPUT_SEP_SPACE);
    mr_input_reader *r = mr_input_reader_new(sep, 64);

    /* Asked to stop during the second chunk: no third chunk. */
    mr_ctx *ctx = fake_ctx();
    seen s = {g_byte_array_new(), 0, 2, 0};
    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s),
                    MR_ESTOP);
    CU_ASSERT_EQUAL(s.calls, 2);
    CU_ASSERT_EQUAL(ctx->bytes_in, s.bytes->len); /* what was handed out */
    CU_ASSERT_EQUAL(ctx->status, MR_ESTOP);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx->errmsg);
    CU_ASSERT(strstr(ctx->errmsg, "rank 3 on elsewhere") != NULL);
    fake_ctx_free(ctx);

    /* Already asked before the task: the job sees nothing. */
    ctx = fake_ctx();
    s.calls = 0;
    s.stop_after = 0;
    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s),
                    MR_ESTOP);
    CU_ASSERT_EQUAL(s.calls, 0);
    CU_ASSERT_EQUAL(ctx->bytes_in, 0);
    fake_ctx_free(ctx);
    mr__stop_reset();

    g_byte_array_unref(s.bytes);
    mr_input_reader_free(r);
    g_byte_array_unref(task);
    g_free(path);
}

static void test_job_error(void)
{
    char *path = text_file("fail.txt", 5000);
    GByteArray *task = whole_file_task(path);
    unsigned char sep[256];
    mr_input_sep_fill(sep, MR_INPUT_SEP_SPACE);
    mr_input_reader *r = mr_input_reader_new(sep, 64);
    mr_ctx *ctx = fake_ctx();
    seen s = {g_byte_array_new(), 0, 0, 3};

    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s),
                    MR_EINVAL);
    CU_ASSERT_EQUAL(s.calls, 3);
    CU_ASSERT_STRING_EQUAL(ctx->errmsg, "the job's own error");
    fake_ctx_free(ctx);

    g_byte_array_unref(s.bytes);
    mr_input_reader_free(r);
    g_byte_array_unref(task);
    g_free(path);
}

/* A gzip file whose data is damaged in the middle. */
static char *bad_gzip(const char *name, size_t *damage_at, size_t *gz_len)
{
    GString *text = g_string_new(NULL);
    GRand *g = g_rand_new_with_seed(11);
    while (text->len < 200000)
        g_string_append_printf(text, "%08x ", g_rand_int(g));
    g_rand_free(g);
    uLongf n = compressBound(text->len) + 64;
    unsigned char *buf = g_malloc(n);
    z_stream zs = {0};
    g_assert(deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) ==
             Z_OK);
    zs.next_in = (unsigned char *)text->str;
    zs.avail_in = (uInt)text->len;
    zs.next_out = buf;
    zs.avail_out = (uInt)n;
    g_assert(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    *gz_len = zs.total_out;
    deflateEnd(&zs);
    *damage_at = *gz_len / 2;
    buf[*damage_at] ^= 0x55;
    char *path = tpath(name);
    g_assert(g_file_set_contents(path, (char *)buf, (gssize)*gz_len, NULL));
    g_free(buf);
    g_string_free(text, TRUE);
    return path;
}

static long long offset_in(const char *msg)
{
    const char *p = strstr(msg, "offset ");
    return p ? atoll(p + 7) : -1;
}

static void test_reader_error(void)
{
    size_t damage, len;
    char *path = bad_gzip("bad.gz", &damage, &len);
    GByteArray *task = whole_file_task(path);
    unsigned char sep[256];
    mr_input_sep_fill(sep, MR_INPUT_SEP_SPACE);
    mr_input_reader *r = mr_input_reader_new(sep, 0);
    mr_ctx *ctx = fake_ctx();
    seen s = {g_byte_array_new(), 0, 0, 0};

    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task), collect, &s),
                    MR_EINVAL);
    CU_ASSERT_EQUAL(ctx->status, MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ctx->errmsg);
    CU_ASSERT(strstr(ctx->errmsg, path) != NULL);
    CU_ASSERT(strstr(ctx->errmsg, "corrupt gzip") != NULL);
    CU_ASSERT(offset_in(ctx->errmsg) >= (long long)damage &&
              offset_in(ctx->errmsg) <= (long long)len);
    CU_ASSERT_EQUAL(ctx->bytes_in, s.bytes->len);
    fake_ctx_free(ctx);

    /* A file gone between planning and reading: named. */
    ctx = fake_ctx();
    char *gone = text_file("gone.txt", 100);
    GByteArray *task2 = whole_file_task(gone);
    g_assert(remove(gone) == 0);
    CU_ASSERT_EQUAL(mr_input_each(ctx, r, as_bytes(task2), collect, &s),
                    MR_EINVAL);
    CU_ASSERT(strstr(ctx->errmsg, gone) != NULL);
    fake_ctx_free(ctx);

    /* Not a descriptor at all. */
    ctx = fake_ctx();
    CU_ASSERT_EQUAL(mr_input_each(ctx, r, mr_str("junk"), collect, &s),
                    MR_EINVAL);
    CU_ASSERT(strstr(ctx->errmsg, "malformed") != NULL);
    fake_ctx_free(ctx);

    g_byte_array_unref(task2);
    g_free(gone);
    g_byte_array_unref(s.bytes);
    mr_input_reader_free(r);
    g_byte_array_unref(task);
    g_free(path);
}

/* ---- the descriptor codec ---- */

static void test_codec_round_trip(void)
{
    static const mr__desc_entry in[] = {
        {"/data/dir/a.txt", 0, 0, 10},
        {"/data/dir/ab.txt", MR__DESC_TAIL, 0, 20}, /* shares "/data/dir/a" */
        {"/data/dir/sub/c.gz", MR__DESC_GZIP, 0, 0},
        {"/other", MR__DESC_GZIP | MR__DESC_TAIL, UINT64_MAX - 5, 5},
        {"", 0, 1ull << 40, 1ull << 33}, /* an empty path encodes too */
        {"/other/x", 0, 127, 128},       /* varint edges */
    };
    size_t n = G_N_ELEMENTS(in);
    mr__desc_writer w = {0};
    CU_ASSERT_PTR_NULL(mr__desc_finish(&w)); /* no entry, no task */
    for (size_t i = 0; i < n; i++)
        mr__desc_add(&w, &in[i]);
    GByteArray *d = mr__desc_finish(&w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(w.count, 0); /* reset */

    mr__desc_cursor c = {0};
    mr__desc_entry e;
    CU_ASSERT_EQUAL_FATAL(mr__desc_open(&c, as_bytes(d)), 0);
    for (size_t i = 0; i < n; i++) {
        CU_ASSERT_EQUAL_FATAL(mr__desc_next(&c, &e), 1);
        CU_ASSERT_STRING_EQUAL(e.path, in[i].path);
        CU_ASSERT_EQUAL(e.flags, in[i].flags);
        CU_ASSERT_EQUAL(e.off, in[i].off);
        CU_ASSERT_EQUAL(e.len, in[i].len);
    }
    CU_ASSERT_EQUAL(mr__desc_next(&c, &e), 0);
    CU_ASSERT_EQUAL(mr__desc_next(&c, &e), 0);

    /* Every cut of it is malformed somewhere, and never read past. */
    for (guint len = 0; len < d->len; len++) {
        guint8 *copy = g_memdup2(d->data, len); /* exact size for ASan */
        int got = mr__desc_open(&c, mr_mem(copy, len)) == 0 ? 1 : -1;
        while (got == 1)
            got = mr__desc_next(&c, &e);
        CU_ASSERT_EQUAL(got, -1);
        CU_ASSERT_EQUAL(mr__desc_next(&c, &e), 0); /* stays ended */
        g_free(copy);
    }
    mr__desc_cursor_fini(&c);

    char text[200];
    mr_input_describe(as_bytes(d), text, sizeof text);
    CU_ASSERT_STRING_EQUAL(text, "/data/dir/a.txt .. /other/x (6 files)");
    g_byte_array_unref(d);
}

/* ---- the growable chunk ---- */

static void test_chunk_size(void)
{
    char *path = text_file("size.txt", 100);
    GByteArray *task = whole_file_task(path);
    unsigned char sep[256];
    mr_input_sep_fill(sep, MR_INPUT_SEP_SPACE);
    mr_input_reader *r = mr_input_reader_new(sep, 0);

    /* A 1.x job's chunk: the symbol fills the 1.x fields and not a byte
     * more (here, the guard bytes stand for the job's next variable). */
    size_t size1 = offsetof(mr_input_chunk, offset) + sizeof(uint64_t);
    unsigned char buf[sizeof(mr_input_chunk) + 32];
    memset(buf, 0xab, sizeof buf);
    mr_input_chunk *c = (mr_input_chunk *)(void *)buf;
    CU_ASSERT_EQUAL_FATAL(mr_input_reader_open(r, as_bytes(task)), MR_OK);
    CU_ASSERT_EQUAL((mr_input_reader_next)(r, c), 1);
    CU_ASSERT(c->len > 0 && c->len < 100); /* up to the last separator */
    CU_ASSERT_EQUAL(c->offset, 0);
    CU_ASSERT_STRING_EQUAL(c->path, path);
    for (size_t i = size1; i < sizeof buf; i++)
        CU_ASSERT_EQUAL_FATAL(buf[i], 0xab);
    mr_input_reader_close(r);

    /* Through the macro: the size this test was compiled with. */
    mr_input_chunk c2;
    size_t total = 0;
    CU_ASSERT_EQUAL_FATAL(mr_input_reader_open(r, as_bytes(task)), MR_OK);
    while (mr_input_reader_next(r, &c2) == 1)
        total += c2.len;
    CU_ASSERT_EQUAL(total, 100);
    mr_input_reader_close(r);

    mr_input_reader_free(r);
    g_byte_array_unref(task);
    g_free(path);
}

static CU_TestInfo tests[] = {
    {"mr_input_each counts every byte", test_counts_bytes},
    {"mr_input_each honours a stop request", test_stop_request},
    {"mr_input_each passes the job's error on", test_job_error},
    {"mr_input_each reports file and offset", test_reader_error},
    {"descriptor codec round trip and cuts", test_codec_round_trip},
    {"a 1.x chunk is not written past", test_chunk_size},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mr_input_each", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
