/* test_mr_input.c -- unit tests of the input layer's planning and reading
 * (mr_input_plan.c, mr_input_read.c).
 *
 * The central property: ranges of a file, cut anywhere, hand out every
 * byte of the file exactly once, in whole records, so every token lands in
 * exactly one range. It is checked for random contents, random cut points
 * and odd buffer sizes, against descriptors built here from the format
 * documented in mr_input_desc.c, and through the planner's own cutting. Then
 * gzip (multi-member, corrupt, truncated, trailing garbage), the folder
 * walk (order, symlink loops, what is skipped, what is an error) and
 * standard input.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "mr/mr_input.h"
#include "mr_test.h"

static char *tmpdir;
static unsigned char sep_space[256];

static int suite_init(void)
{
    tmpdir = g_dir_make_tmp("mr_input_XXXXXX", NULL);
    mr_input_sep_fill(sep_space, MR_INPUT_SEP_SPACE);
    return tmpdir ? 0 : -1;
}

static int rm_rf(const char *path)
{
    char *cmd = g_strdup_printf("rm -rf '%s'", path);
    int rc = system(cmd);
    g_free(cmd);
    return rc;
}

static int suite_clean(void)
{
    rm_rf(tmpdir);
    g_free(tmpdir);
    return 0;
}

static char *tpath(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void write_file(const char *path, const void *data, size_t n)
{
    g_assert(g_file_set_contents(path, data, (gssize)n, NULL));
}

/* ---- a descriptor encoder, independent of the planner ---- */

static void put_varint(GByteArray *b, uint64_t v)
{
    do {
        unsigned char c = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            c |= 0x80;
        g_byte_array_append(b, &c, 1);
    } while (v);
}

typedef struct ent {
    const char *path;
    unsigned flags;
    uint64_t off, len;
} ent;

static GByteArray *encode(const ent *e, size_t n)
{
    GByteArray *b = g_byte_array_new();
    unsigned char v = 1;
    g_byte_array_append(b, &v, 1);
    put_varint(b, n);
    for (size_t i = 0; i < n; i++) {
        unsigned char f = (unsigned char)e[i].flags;
        g_byte_array_append(b, &f, 1);
        put_varint(b, 0); /* no shared prefix: allowed */
        put_varint(b, strlen(e[i].path));
        g_byte_array_append(b, (const guint8 *)e[i].path,
                            (guint)strlen(e[i].path));
        put_varint(b, e[i].off);
        put_varint(b, e[i].len);
    }
    return b;
}

/* Reads a whole task; checks the chunk invariants; appends the bytes to
 * `all`. Returns the reader's status (0 at a clean end). */
static int read_task(mr_input_reader *r, mr_bytes task, GByteArray *all,
                     const unsigned char *sep)
{
    int rc = mr_input_reader_open(r, task);
    if (rc != MR_OK)
        return rc;
    mr_input_chunk c;
    int prev_cont = 0;
    while ((rc = mr_input_reader_next(r, &c)) == 1) {
        if (c.flags & MR_INPUT_CONTINUES) {
            /* the middle of one long record: no separator inside */
            for (size_t i = 0; i < c.len; i++)
                CU_ASSERT_FATAL(!sep[c.data[i]]);
            CU_ASSERT(c.len > 0);
        }
        if (c.len == 0)
            CU_ASSERT(prev_cont); /* empty only to end a record */
        g_byte_array_append(all, c.data, (guint)c.len);
        prev_cont = (c.flags & MR_INPUT_CONTINUES) != 0;
    }
    CU_ASSERT(!prev_cont || rc < 0);
    mr_input_reader_close(r);
    return rc;
}

/* Random text: tokens of 1..max_tok bytes, separators runs of 1..3. */
static unsigned char *random_text(GRand *g, size_t n, int max_tok)
{
    static const char seps[] = " \t\n\v\f\r";
    unsigned char *d = g_malloc(n);
    size_t i = 0;
    while (i < n) {
        int t = g_rand_int_range(g, 1, max_tok + 1);
        for (int k = 0; k < t && i < n; k++)
            d[i++] = (unsigned char)g_rand_int_range(g, 33, 127);
        int s = g_rand_int_range(g, 1, 4);
        for (int k = 0; k < s && i < n; k++)
            d[i++] = (unsigned char)seps[g_rand_int_range(g, 0, 6)];
    }
    return d;
}

/* Tokens of a byte string, as "tok\n" lines (reference tokenizer). */
static GString *tokens_of(const unsigned char *d, size_t n,
                          const unsigned char *sep)
{
    GString *s = g_string_new(NULL);
    size_t i = 0;
    while (i < n) {
        while (i < n && sep[d[i]])
            i++;
        size_t b = i;
        while (i < n && !sep[d[i]])
            i++;
        if (i > b) {
            g_string_append_len(s, (const char *)d + b, (gssize)(i - b));
            g_string_append_c(s, '\n');
        }
    }
    return s;
}

/* Random files, random cut points, random buffer sizes: the ranges'
 * bytes concatenate to the file, so each token is read exactly once. */
static void test_ranges_random(void)
{
    GRand *g = g_rand_new_with_seed(42);
    char *path = tpath("ranges.txt");
    for (int round = 0; round < 300; round++) {
        size_t n = (size_t)g_rand_int_range(g, 0, 5000);
        int max_tok = round % 5 == 0 ? 400 : 12; /* some beyond the buffer */
        unsigned char *d = random_text(g, n, max_tok);
        if (n && g_rand_boolean(g))
            d[n - 1] = 'x'; /* no final separator */
        if (n && round % 7 == 0)
            d[0] = ' '; /* a separator first */
        write_file(path, d, n);

        /* k cut points, possibly equal, anywhere (also inside tokens and
         * on separators) */
        int k = g_rand_int_range(g, 1, 12);
        uint64_t *cut = g_new(uint64_t, k + 1);
        cut[0] = 0;
        for (int j = 1; j < k; j++)
            cut[j] = n ? (uint64_t)g_rand_int_range(g, 0, (gint32)n + 1) : 0;
        cut[k] = n;
        for (int a = 1; a < k; a++) /* sort */
            for (int b = a; b > 0 && cut[b - 1] > cut[b]; b--) {
                uint64_t t = cut[b];
                cut[b] = cut[b - 1];
                cut[b - 1] = t;
            }
        size_t bufsize = (size_t)g_rand_int_range(g, 16, 300);
        mr_input_reader *r = mr_input_reader_new(sep_space, bufsize);
        GByteArray *all = g_byte_array_new();
        for (int j = 0; j < k; j++) {
            ent e = {path, 0, cut[j], cut[j + 1] - cut[j]};
            GByteArray *desc = encode(&e, 1);
            CU_ASSERT_EQUAL(
                read_task(r, mr_mem(desc->data, desc->len), all, sep_space), 0);
            g_byte_array_unref(desc);
        }
        CU_ASSERT_EQUAL(all->len, n);
        CU_ASSERT(all->len == n && memcmp(all->data, d, n) == 0);
        if (all->len != n) { /* say which case, to replay it */
            fprintf(stderr, "\nround %d n %zu got %u buf %zu cuts", round, n,
                    all->len, bufsize);
            for (int j = 0; j <= k; j++)
                fprintf(stderr, " %llu", (unsigned long long)cut[j]);
            for (int j = 1; j < k; j++)
                fprintf(stderr, " [%d %d]", cut[j] ? d[cut[j] - 1] : -1,
                        cut[j] < n ? d[cut[j]] : -1);
        }
        GString *want = tokens_of(d, n, sep_space);
        GString *got = tokens_of(all->data, all->len, sep_space);
        CU_ASSERT_STRING_EQUAL(got->str, want->str);
        g_string_free(want, TRUE);
        g_string_free(got, TRUE);
        g_byte_array_unref(all);
        mr_input_reader_free(r);
        g_free(cut);
        g_free(d);
    }
    g_free(path);
    g_rand_free(g);
}

/* Every token of each range, tokenised per range, equals the file's. */
static void test_ranges_tokens(void)
{
    GRand *g = g_rand_new_with_seed(7);
    char *path = tpath("tokens.txt");
    unsigned char sep_alnum[256];
    mr_input_sep_fill(sep_alnum, MR_INPUT_SEP_ALNUM);
    for (int round = 0; round < 100; round++) {
        size_t n = (size_t)g_rand_int_range(g, 1, 3000);
        unsigned char *d = random_text(g, n, 9);
        write_file(path, d, n);
        GString *want = tokens_of(d, n, sep_alnum);
        GString *got = g_string_new(NULL);
        mr_input_reader *r = mr_input_reader_new(sep_alnum, 64);
        uint64_t at = 0;
        while (at < n) {
            uint64_t len = (uint64_t)g_rand_int_range(g, 1, 200);
            if (len > n - at) /* a range past the end: the file shrank */
                len = n - at;
            ent e = {path, 0, at, len};
            GByteArray *desc = encode(&e, 1);
            GByteArray *bytes = g_byte_array_new();
            CU_ASSERT_EQUAL(
                read_task(r, mr_mem(desc->data, desc->len), bytes, sep_alnum),
                0);
            GString *t = tokens_of(bytes->data, bytes->len, sep_alnum);
            g_string_append(got, t->str);
            g_string_free(t, TRUE);
            g_byte_array_unref(bytes);
            g_byte_array_unref(desc);
            at += len;
        }
        CU_ASSERT_STRING_EQUAL(got->str, want->str);
        mr_input_reader_free(r);
        g_string_free(want, TRUE);
        g_string_free(got, TRUE);
        g_free(d);
    }
    g_free(path);
    g_rand_free(g);
}

/* Chunk offsets give each chunk's place in the file. */
static void test_chunk_offsets(void)
{
    char *path = tpath("offsets.txt");
    GRand *g = g_rand_new_with_seed(3);
    unsigned char *d = random_text(g, 10000, 50);
    write_file(path, d, 10000);
    mr_input_reader *r = mr_input_reader_new(sep_space, 100);
    ent e[2] = {{path, 0, 0, 4000}, {path, 0, 4000, 6000}};
    for (int j = 0; j < 2; j++) {
        GByteArray *desc = encode(&e[j], 1);
        CU_ASSERT_EQUAL(mr_input_reader_open(r, mr_mem(desc->data, desc->len)),
                        MR_OK);
        mr_input_chunk c;
        while (mr_input_reader_next(r, &c) == 1) {
            CU_ASSERT(c.offset + c.len <= 10000);
            CU_ASSERT(memcmp(d + c.offset, c.data, c.len) == 0);
            CU_ASSERT_STRING_EQUAL(c.path, path);
        }
        g_byte_array_unref(desc);
    }
    mr_input_reader_free(r);
    g_rand_free(g);
    g_free(d);
    g_free(path);
}

/* A record bigger than the buffer comes in pieces and ends with an empty
 * chunk when the file ends right after it. */
static void test_long_record(void)
{
    char *path = tpath("long.txt");
    size_t n = 1000;
    unsigned char *d = g_malloc(n);
    memset(d, 'x', n);
    write_file(path, d, n);
    mr_input_reader *r = mr_input_reader_new(sep_space, 64);
    ent e = {path, 0, 0, n};
    GByteArray *desc = encode(&e, 1);
    CU_ASSERT_EQUAL(mr_input_reader_open(r, mr_mem(desc->data, desc->len)),
                    MR_OK);
    mr_input_chunk c;
    size_t total = 0, pieces = 0;
    int last_flags = -1;
    size_t last_len = 0;
    while (mr_input_reader_next(r, &c) == 1) {
        total += c.len;
        pieces++;
        last_flags = (int)c.flags;
        last_len = c.len;
    }
    CU_ASSERT_EQUAL(total, n);
    CU_ASSERT(pieces >= n / 64);
    CU_ASSERT_EQUAL(last_flags, 0);
    CU_ASSERT(last_len < 64); /* 1000 = 15 * 64 + 40 */
    /* Several files in one task: records never join across files. */
    ent two[2] = {{path, 0, 0, n}, {path, 0, 0, n}};
    GByteArray *d2 = encode(two, 2);
    GByteArray *all = g_byte_array_new();
    CU_ASSERT_EQUAL(read_task(r, mr_mem(d2->data, d2->len), all, sep_space), 0);
    CU_ASSERT_EQUAL(all->len, 2 * n);
    g_byte_array_unref(all);
    g_byte_array_unref(d2);
    g_byte_array_unref(desc);
    mr_input_reader_free(r);
    g_free(d);
    g_free(path);
}

static void test_bad_descriptor(void)
{
    mr_input_reader *r = mr_input_reader_new(sep_space, 0);
    unsigned char junk[] = {9, 1, 2, 3};
    CU_ASSERT_EQUAL(mr_input_reader_open(r, mr_mem(junk, sizeof junk)),
                    MR_EINVAL);
    unsigned char cut[] = {1, 1, 0, 0, 50, 'a'}; /* path runs off the end */
    CU_ASSERT_EQUAL(mr_input_reader_open(r, mr_mem(cut, sizeof cut)), MR_OK);
    mr_input_chunk c;
    CU_ASSERT_EQUAL(mr_input_reader_next(r, &c), MR_EINVAL);
    CU_ASSERT(strstr(mr_input_reader_error(r), "descriptor") != NULL);
    /* A file that vanished after planning: named in the error. */
    ent e = {"/nonexistent/mr-input-test", 0, 0, 10};
    GByteArray *desc = encode(&e, 1);
    CU_ASSERT_EQUAL(mr_input_reader_open(r, mr_mem(desc->data, desc->len)),
                    MR_OK);
    CU_ASSERT_EQUAL(mr_input_reader_next(r, &c), MR_EINVAL);
    CU_ASSERT(strstr(mr_input_reader_error(r), "/nonexistent/mr-input-test") !=
              NULL);
    g_byte_array_unref(desc);
    mr_input_reader_free(r);
}

/* mr_input_describe reads descriptors as the reader does: a path and its
 * range, a group as FIRST .. LAST, and a malformed or cut descriptor as
 * such, at every length it can be cut to. */
static void test_describe(void)
{
    char buf[128];
    ent one = {"/data/a.txt", 0, 100, 50};
    GByteArray *d1 = encode(&one, 1);
    mr_input_describe(mr_mem(d1->data, d1->len), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf, "/data/a.txt bytes 100-150");

    ent two[] = {{"/data/dir/f1.txt", 0, 0, 10},
                 {"/data/dir/f2.txt", 0, 0, 20},
                 {"/data/dir/sub/g.txt", 0, 0, 30}};
    GByteArray *d3 = encode(two, 3);
    mr_input_describe(mr_mem(d3->data, d3->len), buf, sizeof buf);
    CU_ASSERT_STRING_EQUAL(buf,
                           "/data/dir/f1.txt .. /data/dir/sub/g.txt (3 files)");
    mr_input_describe(mr_mem(d3->data, d3->len), buf, 12); /* truncated */
    CU_ASSERT_STRING_EQUAL(buf, "/data/dir/f");

    mr_input_reader *r = mr_input_reader_new(sep_space, 0);
    for (guint len = 0; len < d3->len; len++) {
        mr_input_describe(mr_mem(d3->data, len), buf, sizeof buf);
        CU_ASSERT_STRING_EQUAL(buf, "(malformed input task)");
        /* The reader refuses the same cut descriptor, at open or at the
         * entry where it runs out (the files do not exist: a readable
         * entry would fail naming its path instead). */
        mr_input_chunk c;
        int rc = mr_input_reader_open(r, mr_mem(d3->data, len));
        if (rc == MR_OK)
            rc = mr_input_reader_next(r, &c);
        CU_ASSERT_EQUAL(rc, MR_EINVAL);
        CU_ASSERT(strstr(mr_input_reader_error(r), "descriptor") != NULL ||
                  strstr(mr_input_reader_error(r), "/data/dir/") != NULL);
    }
    mr_input_reader_free(r);
    g_byte_array_unref(d1);
    g_byte_array_unref(d3);
}

/* ---- gzip ---- */

static GByteArray *gz_member(const void *data, size_t n, int level)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    g_assert(deflateInit2(&zs, level, Z_DEFLATED, 15 + 16, 8,
                          Z_DEFAULT_STRATEGY) == Z_OK);
    GByteArray *out = g_byte_array_sized_new((guint)(deflateBound(&zs, n)));
    g_byte_array_set_size(out, (guint)deflateBound(&zs, n));
    zs.next_in = (Bytef *)data;
    zs.avail_in = (uInt)n;
    zs.next_out = out->data;
    zs.avail_out = out->len;
    g_assert(deflate(&zs, Z_FINISH) == Z_STREAM_END);
    g_byte_array_set_size(out, (guint)zs.total_out);
    deflateEnd(&zs);
    return out;
}

static int read_gz(const char *path, size_t bufsize, GByteArray *all,
                   char **error)
{
    mr_input_reader *r = mr_input_reader_new(sep_space, bufsize);
    ent e = {path, MR_INPUT_GZIP, 0, 0};
    GByteArray *desc = encode(&e, 1);
    int rc = read_task(r, mr_mem(desc->data, desc->len), all, sep_space);
    if (error)
        *error = g_strdup(mr_input_reader_error(r));
    g_byte_array_unref(desc);
    mr_input_reader_free(r);
    return rc;
}

static void test_gzip_multimember(void)
{
    GRand *g = g_rand_new_with_seed(11);
    size_t n1 = 300000, n2 = 5000, n3 = 0;
    unsigned char *a = random_text(g, n1, 10), *b = random_text(g, n2, 10);
    GByteArray *m1 = gz_member(a, n1, 6), *m2 = gz_member(b, n2, 1),
               *m3 = gz_member("", n3, 9);
    GByteArray *file = g_byte_array_new();
    g_byte_array_append(file, m1->data, m1->len);
    g_byte_array_append(file, m3->data, m3->len); /* an empty member */
    g_byte_array_append(file, m2->data, m2->len);
    char *path = tpath("multi.gz");
    write_file(path, file->data, file->len);
    size_t sizes[] = {0, 16, 1000, 70000};
    for (size_t i = 0; i < G_N_ELEMENTS(sizes); i++) {
        GByteArray *all = g_byte_array_new();
        CU_ASSERT_EQUAL(read_gz(path, sizes[i], all, NULL), 0);
        CU_ASSERT_EQUAL(all->len, n1 + n2);
        CU_ASSERT(all->len == n1 + n2 && memcmp(all->data, a, n1) == 0 &&
                  memcmp(all->data + n1, b, n2) == 0);
        g_byte_array_unref(all);
    }
    g_free(path);
    g_byte_array_unref(file);
    g_byte_array_unref(m1);
    g_byte_array_unref(m2);
    g_byte_array_unref(m3);
    g_free(a);
    g_free(b);
    g_rand_free(g);
}

/* Parses "... offset N ..." from a message. */
static long long offset_in(const char *msg)
{
    const char *p = strstr(msg, "offset ");
    return p ? atoll(p + 7) : -1;
}

static void test_gzip_corrupt(void)
{
    GRand *g = g_rand_new_with_seed(5);
    size_t n = 200000;
    unsigned char *a = random_text(g, n, 10);
    GByteArray *m = gz_member(a, n, 6);
    char *path = tpath("bad.gz");
    char *err = NULL;

    /* Invalid block type in the first deflate block (after the 10-byte
     * gzip header): found at once, at offset 10 or 11. */
    GByteArray *bad = g_byte_array_new();
    g_byte_array_append(bad, m->data, m->len);
    bad->data[10] |= 0x06;
    write_file(path, bad->data, bad->len);
    GByteArray *all = g_byte_array_new();
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT(strstr(err, path) != NULL);
    CU_ASSERT(strstr(err, "corrupt") != NULL);
    CU_ASSERT(offset_in(err) >= 10 && offset_in(err) <= 11);
    g_free(err);
    g_byte_array_set_size(all, 0);

    /* A flipped byte in the middle: found by the end of the member at
     * the latest, never before the damage. */
    g_byte_array_set_size(bad, 0);
    g_byte_array_append(bad, m->data, m->len);
    bad->data[m->len / 2] ^= 0x55;
    write_file(path, bad->data, bad->len);
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT(offset_in(err) >= (long long)(m->len / 2) &&
              offset_in(err) <= (long long)m->len);
    g_free(err);
    g_byte_array_set_size(all, 0);

    /* Truncated: the offset is where the data ends. */
    write_file(path, m->data, m->len / 3);
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT(strstr(err, "truncated") != NULL);
    CU_ASSERT_EQUAL(offset_in(err), (long long)(m->len / 3));
    g_free(err);
    g_byte_array_set_size(all, 0);

    /* Empty .gz: truncated at 0, like gzip -t says. */
    write_file(path, "", 0);
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT_EQUAL(offset_in(err), 0);
    g_free(err);
    g_byte_array_set_size(all, 0);

    /* Not gzip at all. */
    write_file(path, "hello world\n", 12);
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT(offset_in(err) >= 0 && offset_in(err) <= 2);
    g_free(err);
    g_byte_array_set_size(all, 0);

    /* Trailing garbage after a complete member. */
    g_byte_array_set_size(bad, 0);
    g_byte_array_append(bad, m->data, m->len);
    g_byte_array_append(bad, (const guint8 *)"garbage", 7);
    write_file(path, bad->data, bad->len);
    CU_ASSERT_EQUAL(read_gz(path, 0, all, &err), MR_EINVAL);
    CU_ASSERT(offset_in(err) >= (long long)m->len);
    g_free(err);

    g_byte_array_unref(all);
    g_byte_array_unref(bad);
    g_byte_array_unref(m);
    g_free(path);
    g_free(a);
    g_rand_free(g);
}

/* ---- planning ---- */

static void mkdirs(const char *rel)
{
    char *p = tpath(rel);
    g_assert(g_mkdir_with_parents(p, 0755) == 0);
    g_free(p);
}

static void touch(const char *rel, const char *text)
{
    char *p = tpath(rel);
    write_file(p, text, strlen(text));
    g_free(p);
}

static void test_walk_order(void)
{
    mkdirs("w/a");
    mkdirs("w/c/d");
    mkdirs("w/a b");
    touch("w/b.txt", "b\n");
    touch("w/a/x", "x\n");
    touch("w/a.txt", "a.txt\n");
    touch("w/a-b", "a-b\n");
    touch("w/a b/y", "y\n");
    touch("w/c/d/e", "e\n");
    touch("w/empty", "");
    touch("w/Z", "Z\n");
    char *w = tpath("w"), *loop = tpath("w/loop"), *up = tpath("w/c/d/up"),
         *fifo = tpath("w/fifo");
    CU_ASSERT_EQUAL(symlink(".", loop), 0);   /* w/loop -> w */
    CU_ASSERT_EQUAL(symlink("../..", up), 0); /* w/c/d/up -> w */
    CU_ASSERT_EQUAL(mkfifo(fifo, 0644), 0);   /* skipped inside folders */

    mr_input_plan *plan = mr_input_plan_new();
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, w), MR_OK);
    /* As `find -L w -type f | LC_ALL=C sort` lists them. */
    const char *want[] = {"Z",   "a b/y", "a-b",   "a.txt",
                          "a/x", "b.txt", "c/d/e", "empty"};
    CU_ASSERT_EQUAL(mr_input_plan_nfiles(plan), G_N_ELEMENTS(want));
    for (size_t i = 0; i < G_N_ELEMENTS(want) && i < mr_input_plan_nfiles(plan);
         i++) {
        char *p = g_build_filename(w, want[i], NULL);
        CU_ASSERT_STRING_EQUAL(mr_input_plan_file(plan, i, NULL, NULL), p);
        g_free(p);
    }
    /* Cut: the empty file gives no task; all the rest is one group. */
    CU_ASSERT_EQUAL(mr_input_plan_cut(plan, 4, 0), MR_OK);
    CU_ASSERT_EQUAL(mr_input_plan_ntasks(plan), 1);
    GByteArray *all = g_byte_array_new();
    mr_input_reader *r = mr_input_reader_new(sep_space, 0);
    CU_ASSERT_EQUAL(
        read_task(r, mr_input_plan_task(plan, 0, NULL), all, sep_space), 0);
    g_byte_array_append(all, (const guint8 *)"", 1);
    CU_ASSERT_STRING_EQUAL((char *)all->data, "Z\ny\na-b\na.txt\nx\nb\ne\n");
    mr_input_reader_free(r);
    g_byte_array_unref(all);
    mr_input_plan_free(plan);

    /* The same folder twice on the command line is read twice. */
    plan = mr_input_plan_new();
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, w), MR_OK);
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, loop), MR_OK);
    CU_ASSERT_EQUAL(mr_input_plan_nfiles(plan), 2 * G_N_ELEMENTS(want));
    mr_input_plan_free(plan);
    g_free(w);
    g_free(loop);
    g_free(up);
    g_free(fifo);
}

static void test_plan_errors(void)
{
    mr_input_plan *plan = mr_input_plan_new();
    char *missing = tpath("no-such-file");
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, missing), MR_EINVAL);
    char *want = g_strdup_printf("%s: %s", missing, g_strerror(ENOENT));
    CU_ASSERT_STRING_EQUAL(mr_input_plan_error(plan), want);
    g_free(want);

    /* A dangling symlink inside a folder names the link. */
    mkdirs("e1");
    touch("e1/ok", "ok\n");
    char *dangling = tpath("e1/dangling"), *e1 = tpath("e1");
    CU_ASSERT_EQUAL(symlink("nowhere", dangling), 0);
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, e1), MR_EINVAL);
    CU_ASSERT(strstr(mr_input_plan_error(plan), dangling) != NULL);

    /* A FIFO named on the command line. */
    char *fifo = tpath("fifo2");
    CU_ASSERT_EQUAL(mkfifo(fifo, 0644), 0);
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, fifo), MR_EINVAL);
    CU_ASSERT(strstr(mr_input_plan_error(plan), "not a regular file") != NULL);

    /* Unreadable file and folder: root reads anything, so only as a user. */
    if (geteuid() != 0) {
        char *f = tpath("secret"), *d = tpath("secretdir");
        touch("secret", "x\n");
        mkdirs("secretdir");
        chmod(f, 0);
        chmod(d, 0);
        CU_ASSERT_EQUAL(mr_input_plan_add(plan, f), MR_EINVAL);
        CU_ASSERT(strstr(mr_input_plan_error(plan), g_strerror(EACCES)) !=
                  NULL);
        CU_ASSERT_EQUAL(mr_input_plan_add(plan, d), MR_EINVAL);
        CU_ASSERT(strstr(mr_input_plan_error(plan), g_strerror(EACCES)) !=
                  NULL);
        chmod(d, 0755);
        g_free(f);
        g_free(d);
    }
    mr_input_plan_free(plan);
    g_free(missing);
    g_free(dangling);
    g_free(e1);
    g_free(fifo);
}

/* Reads every task of a plan in order, concatenated. */
static GByteArray *read_plan(mr_input_plan *plan, size_t bufsize)
{
    GByteArray *all = g_byte_array_new();
    mr_input_reader *r = mr_input_reader_new(sep_space, bufsize);
    for (size_t i = 0; i < mr_input_plan_ntasks(plan); i++)
        CU_ASSERT_EQUAL(
            read_task(r, mr_input_plan_task(plan, i, NULL), all, sep_space), 0);
    mr_input_reader_free(r);
    return all;
}

static void test_cut(void)
{
    GRand *g = g_rand_new_with_seed(99);
    mkdirs("cut/many");
    GByteArray *want = g_byte_array_new();
    /* 300 small files, a 3 MB one, then a .gz */
    for (int i = 0; i < 300; i++) {
        char name[64];
        size_t n = (size_t)g_rand_int_range(g, 100, 20000);
        unsigned char *d = random_text(g, n, 8);
        d[n - 1] = '\n'; /* files keep records apart anyway */
        g_snprintf(name, sizeof name, "cut/many/f%03d", i);
        char *p = tpath(name);
        write_file(p, d, n);
        g_byte_array_append(want, d, (guint)n);
        g_free(p);
        g_free(d);
    }
    size_t big = 3000000;
    unsigned char *d = random_text(g, big, 30);
    char *bigp = tpath("cut/nbig.txt");
    write_file(bigp, d, big);
    g_byte_array_append(want, d, (guint)big);
    GByteArray *gz = gz_member(d, 100000, 6);
    char *gzp = tpath("cut/z.gz");
    write_file(gzp, gz->data, gz->len);
    g_byte_array_append(want, d, 100000);

    char *dir = tpath("cut");
    for (int nranks = 1; nranks <= 8; nranks *= 2) {
        mr_input_plan *plan = mr_input_plan_new();
        CU_ASSERT_EQUAL(mr_input_plan_add(plan, dir), MR_OK);
        CU_ASSERT_EQUAL(mr_input_plan_nfiles(plan), 302);
        /* A small floor, so that the big file is cut at any rank count. */
        CU_ASSERT_EQUAL(mr_input_plan_cut(plan, nranks, 64 << 10), MR_OK);
        size_t nt = mr_input_plan_ntasks(plan);
        double total = 0, maxw = 0;
        for (size_t i = 0; i < nt; i++) {
            double w;
            mr_input_plan_task(plan, i, &w);
            total += w;
            maxw = w > maxw ? w : maxw;
        }
        /* about nranks * 32 tasks of similar weight */
        double target = total / (nranks * 32.0);
        if (target < 65536)
            target = 65536;
        double gzw = gz->len * 4.0;
        CU_ASSERT(nt >= (size_t)((total - gzw) / target));
        CU_ASSERT(nt <= 2 * (total / target) + 3);
        CU_ASSERT(maxw <= target || maxw == gzw); /* a .gz is never cut */
        GByteArray *all = read_plan(plan, (size_t)1 << 12);
        CU_ASSERT_EQUAL(all->len, want->len);
        CU_ASSERT(all->len == want->len &&
                  memcmp(all->data, want->data, want->len) == 0);
        g_byte_array_unref(all);
        mr_input_plan_free(plan);
    }
    g_free(dir);
    g_free(bigp);
    g_free(gzp);
    g_free(d);
    g_byte_array_unref(gz);
    g_byte_array_unref(want);
    g_rand_free(g);
}

static void test_stdin(void)
{
    char *src = tpath("stdin.txt");
    const char *text = "one two\nthree\n";
    write_file(src, text, strlen(text));
    int saved = dup(0);
    int fd = open(src, O_RDONLY);
    CU_ASSERT_FATAL(fd >= 0 && saved >= 0);
    dup2(fd, 0);
    close(fd);
    g_setenv("TMPDIR", tmpdir, TRUE);
    mr_input_plan *plan = mr_input_plan_new();
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, "-"), MR_OK);
    dup2(saved, 0);
    close(saved);
    g_unsetenv("TMPDIR");
    CU_ASSERT_EQUAL_FATAL(mr_input_plan_nfiles(plan), 1);
    uint64_t size;
    char *spool = g_strdup(mr_input_plan_file(plan, 0, &size, NULL));
    CU_ASSERT(g_str_has_prefix(spool, tmpdir));
    CU_ASSERT_EQUAL(size, strlen(text));
    CU_ASSERT_EQUAL(mr_input_plan_cut(plan, 3, 0), MR_OK);
    GByteArray *all = read_plan(plan, 0);
    CU_ASSERT(all->len == strlen(text) &&
              memcmp(all->data, text, all->len) == 0);
    g_byte_array_unref(all);
    mr_input_plan_free(plan);
    CU_ASSERT(access(spool, F_OK) != 0); /* the copy is gone */
    g_free(spool);
    g_free(src);
}

static void test_sep_tables(void)
{
    unsigned char t[256];
    mr_input_sep_fill(t, MR_INPUT_SEP_ALNUM);
    CU_ASSERT(t[' '] && t['-'] && t['_'] && t[0] && t[0x7f]);
    CU_ASSERT(!t['a'] && !t['Z'] && !t['0'] && !t[0x80] && !t[0xff]);
    mr_input_sep_fill(t, MR_INPUT_SEP_LINE);
    int n = 0;
    for (int b = 0; b < 256; b++)
        n += t[b];
    CU_ASSERT(n == 1 && t['\n']);
    mr_input_sep_fill(t, MR_INPUT_SEP_SPACE);
    n = 0;
    for (int b = 0; b < 256; b++)
        n += t[b];
    CU_ASSERT(n == 6 && t['\v'] && t['\f'] && t['\r'] && !t[0]);
}

/* Reads every task; returns how many failed, and the first error text
 * (caller frees). */
static int read_all_errors(mr_input_plan *plan, char **first)
{
    int bad = 0;
    *first = NULL;
    mr_input_reader *r = mr_input_reader_new(sep_space, (size_t)1 << 12);
    GByteArray *all = g_byte_array_new();
    for (size_t i = 0; i < mr_input_plan_ntasks(plan); i++)
        if (read_task(r, mr_input_plan_task(plan, i, NULL), all,
                      sep_space) < 0) {
            if (!bad)
                *first = g_strdup(mr_input_reader_error(r));
            bad++;
        }
    g_byte_array_unref(all);
    mr_input_reader_free(r);
    return bad;
}

/* A file that shrinks or grows between planning and reading is an error
 * that names it, never a silently different count. */
static void test_changed(void)
{
    GRand *g = g_rand_new_with_seed(7);
    size_t n = 400000;
    unsigned char *d = random_text(g, n, 10);
    char *path = tpath("changing.txt");
    for (int grow = 0; grow <= 1; grow++) {
        write_file(path, d, n);
        mr_input_plan *plan = mr_input_plan_new();
        CU_ASSERT_EQUAL(mr_input_plan_add(plan, path), MR_OK);
        CU_ASSERT_EQUAL(mr_input_plan_cut(plan, 4, 16 << 10), MR_OK);
        CU_ASSERT(mr_input_plan_ntasks(plan) > 4);
        char *err = NULL;
        CU_ASSERT_EQUAL(read_all_errors(plan, &err), 0); /* unchanged: fine */
        g_free(err);
        if (grow) {
            FILE *f = fopen(path, "ab");
            CU_ASSERT_FATAL(f != NULL);
            fputs(" more words\n", f);
            fclose(f);
        } else {
            CU_ASSERT_EQUAL(truncate(path, (off_t)(n / 2)), 0);
        }
        CU_ASSERT(read_all_errors(plan, &err) > 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(err);
        CU_ASSERT(strstr(err, path) != NULL);
        CU_ASSERT(strstr(err, grow ? "it grew" : "it shrank") != NULL);
        g_free(err);
        mr_input_plan_free(plan);
    }
    g_free(path);
    g_free(d);
    g_rand_free(g);
}

/* /proc files say size 0 and have content: they are read, not skipped. */
static void test_size_zero_with_content(void)
{
    g_setenv("TMPDIR", tmpdir, TRUE);
    mr_input_plan *plan = mr_input_plan_new();
    CU_ASSERT_EQUAL(mr_input_plan_add(plan, "/proc/self/status"), MR_OK);
    CU_ASSERT_EQUAL(mr_input_plan_cut(plan, 1, 0), MR_OK);
    CU_ASSERT_EQUAL(mr_input_plan_ntasks(plan), 1);
    GByteArray *all = read_plan(plan, (size_t)1 << 12);
    CU_ASSERT(all->len > 5 && memcmp(all->data, "Name:", 5) == 0);
    g_byte_array_unref(all);
    mr_input_plan_free(plan);
    g_unsetenv("TMPDIR");
}

static CU_TestInfo tests[] = {
    {"separator tables", test_sep_tables},
    {"ranges at random cut points", test_ranges_random},
    {"ranges tokenised separately", test_ranges_tokens},
    {"chunk offsets", test_chunk_offsets},
    {"record longer than the buffer", test_long_record},
    {"malformed descriptor, vanished file", test_bad_descriptor},
    {"describing tasks, cut descriptors", test_describe},
    {"gzip multi-member", test_gzip_multimember},
    {"gzip corrupt and truncated", test_gzip_corrupt},
    {"folder walk order and loops", test_walk_order},
    {"planning errors", test_plan_errors},
    {"cutting into tasks", test_cut},
    {"standard input", test_stdin},
    {"a file that shrinks or grows while read", test_changed},
    {"size 0 but content (/proc)", test_size_zero_with_content},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mr_input", suite_init, suite_clean, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
