/* test_spill.c -- spill run files (mr_spill.c): round trips with every
 * codec and block size, concurrent readers, corrupt and short blocks, a
 * full disk (/dev/full put under the run file's descriptor), no directory
 * entries left behind, and the sweep of dead runs' files.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>
#include <glib/gstdio.h>

#include "mr_spill.h"
#include "mr_test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define NSECT 5

/* A fresh empty folder; removed (with what is left in it) by rmdir_all. */
static char *tmpdir(void)
{
    char *d = g_dir_make_tmp("test_spill-XXXXXX", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    return d;
}

static int entries(const char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    int n = 0;
    while (d && g_dir_read_name(d))
        n++;
    if (d)
        g_dir_close(d);
    return n;
}

static void rmdir_all(char *dir)
{
    GDir *d = g_dir_open(dir, 0, NULL);
    const char *name;
    while (d && (name = g_dir_read_name(d))) {
        char *p = g_build_filename(dir, name, NULL);
        g_unlink(p);
        g_free(p);
    }
    if (d)
        g_dir_close(d);
    g_rmdir(dir);
    g_free(dir);
}

/* The descriptor of the run file in dir, found through /proc/self/fd (the
 * file has no name, but its link still says where it was made). */
static int spill_fd(const char *dir)
{
    char *want = g_strconcat(dir, "/", NULL);
    int found = -1;
    for (int fd = 3; fd < 1024 && found < 0; fd++) {
        char path[64], link[4096];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        if (g_str_has_prefix(link, want))
            found = fd;
    }
    g_free(want);
    return found;
}

/* Section s's records: some sections empty, keys and values of every size
 * from zero up, a few records bigger than a 64 KiB block. */
static void make_section(mr_kvbuf *b, int s)
{
    mr__kvbuf_init(b);
    if (s == 1 || s == 3)
        return;
    int n = s == 0 ? 3000 : 700;
    GRand *rnd = g_rand_new_with_seed((guint32)s);
    for (int i = 0; i < n; i++) {
        char k[32];
        size_t kl = i % 97 == 0 ? 0 : (size_t)snprintf(k, sizeof k, "k%05d", i);
        size_t vl = i % 89 == 0 ? 0 : (size_t)g_rand_int_range(rnd, 1, 300);
        if (i % 1000 == 500)
            vl = 200000; /* bigger than any block here */
        unsigned char *v = g_malloc(vl + 1);
        for (size_t j = 0; j < vl; j++) /* compressible, not constant */
            v[j] = (unsigned char)("abcdefgh"[g_rand_int_range(rnd, 0, 8)]);
        mr__kvbuf_append(b, mr_mem(k, kl), mr_mem(v, vl), (uint32_t)i);
        g_free(v);
    }
    g_rand_free(rnd);
}

/* Appends b in pieces of 1..50 records, so appends straddle blocks. */
static int append_pieces(mr_spill_file *f, int s, const mr_kvbuf *b)
{
    size_t off = 0, i = 0, step = 1;
    while (off < b->len) {
        size_t n = 0, k = 0;
        while (k < step && off + n < b->len) {
            n += mr__rec_size(b->data + off + n);
            k++;
        }
        char *err = NULL;
        int rc = mr__spill_append(f, s, b->data + off, n, k, &err);
        if (rc != MR_OK) {
            fprintf(stderr, "append: %s\n", err);
            g_free(err);
            return rc;
        }
        off += n;
        i += k;
        step = step % 50 + 7;
    }
    return MR_OK;
}

/* Reads section s with rd and checks it equals b, byte for byte. */
static void check_section(mr_spill_reader *rd, const mr_kvbuf *b)
{
    size_t off = 0, n = 0;
    mr_rec r;
    char *err = NULL;
    int rc;
    while ((rc = mr__spill_next(rd, &r, &err)) == 1) {
        size_t len;
        const unsigned char *raw = mr__spill_last_raw(rd, &len);
        CU_ASSERT_FATAL(off + len <= b->len);
        CU_ASSERT_EQUAL(len, mr__rec_size(b->data + off));
        CU_ASSERT(memcmp(raw, b->data + off, len) == 0);
        mr_rec want;
        mr__rec_read(b->data + off, &want);
        CU_ASSERT_EQUAL(r.key.len, want.key.len);
        CU_ASSERT_EQUAL(r.value.len, want.value.len);
        CU_ASSERT_EQUAL(r.task, want.task);
        off += len;
        n++;
    }
    CU_ASSERT_EQUAL(rc, 0);
    if (rc < 0)
        fprintf(stderr, "next: %s\n", err);
    g_free(err);
    CU_ASSERT_EQUAL(off, b->len);
    CU_ASSERT_EQUAL(n, b->nrec);
    CU_ASSERT_EQUAL(mr__spill_next(rd, &r, &err), 0); /* stays at the end */
}

static void round_trip(mr_codec codec, size_t block, int named)
{
    char *dir = tmpdir();
    mr_kvbuf b[NSECT];
    for (int s = 0; s < NSECT; s++)
        make_section(&b[s], s);
    mr_spill_cfg cfg = {.dir = dir, .codec = codec, .block = block,
                        .named = named};
    char *err = NULL;
    mr_spill_file *f = mr__spill_create(&cfg, NSECT, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(entries(dir), 0); /* no name, from the start */
    for (int s = 0; s < NSECT; s++)
        CU_ASSERT_EQUAL(append_pieces(f, s, &b[s]), MR_OK);
    CU_ASSERT_EQUAL(mr__spill_seal(f, &err), MR_OK);
    uint64_t raw = 0;
    for (int s = 0; s < NSECT; s++) {
        CU_ASSERT_EQUAL(mr__spill_nrec(f, s), b[s].nrec);
        CU_ASSERT_EQUAL(mr__spill_raw(f, s), b[s].len);
        raw += b[s].len;
    }
    CU_ASSERT(mr__spill_stored(f) > 0);
    if (codec != MR_CODEC_NONE && block >= 1024)
        CU_ASSERT(mr__spill_stored(f) < raw); /* it did compress */
    /* One reader at a time, then all at once, interleaved. */
    for (int s = 0; s < NSECT; s++) {
        mr_spill_reader *rd = mr__spill_reader_new(f, s);
        check_section(rd, &b[s]);
        mr__spill_reader_free(rd);
    }
    mr_spill_reader *rd[NSECT];
    size_t off[NSECT] = {0};
    for (int s = 0; s < NSECT; s++)
        rd[s] = mr__spill_reader_new(f, s);
    for (int live = NSECT; live > 0;) {
        live = 0;
        for (int s = 0; s < NSECT; s++) {
            mr_rec r;
            if (mr__spill_next(rd[s], &r, &err) != 1)
                continue;
            live++;
            size_t len;
            const unsigned char *p = mr__spill_last_raw(rd[s], &len);
            CU_ASSERT(off[s] + len <= b[s].len &&
                      memcmp(p, b[s].data + off[s], len) == 0);
            off[s] += len;
        }
    }
    for (int s = 0; s < NSECT; s++) {
        CU_ASSERT_EQUAL(off[s], b[s].len);
        mr__spill_reader_free(rd[s]);
    }
    mr__spill_close(f);
    CU_ASSERT_EQUAL(entries(dir), 0);
    for (int s = 0; s < NSECT; s++)
        mr__kvbuf_fini(&b[s]);
    rmdir_all(dir);
}

static void test_round_trip(void)
{
    size_t blocks[] = {64, 1000, 0};
    for (int c = MR_CODEC_NONE; c <= MR_CODEC_ZLIB; c++)
        for (size_t i = 0; i < G_N_ELEMENTS(blocks); i++)
            round_trip((mr_codec)c, blocks[i], 0);
}

static void test_named(void)
{
    round_trip(MR_CODEC_LZ4, 1000, 1);
    round_trip(MR_CODEC_NONE, 0, 1);
}

static void test_codec_names(void)
{
    mr_codec c;
    for (int i = MR_CODEC_NONE; i <= MR_CODEC_ZLIB; i++) {
        CU_ASSERT_EQUAL(mr__codec_parse(mr__codec_name((mr_codec)i), &c),
                        MR_OK);
        CU_ASSERT_EQUAL(c, (mr_codec)i);
    }
    CU_ASSERT_EQUAL(mr__codec_parse("gzip", &c), MR_EINVAL);
    CU_ASSERT_EQUAL(mr__codec_parse("", &c), MR_EINVAL);
    CU_ASSERT_STRING_EQUAL(mr__codec_name(MR_SPILL_CODEC_DEFAULT),
                           mr__codec_name(MR_SPILL_CODEC_DEFAULT));
}

/* A file of two blocks in section 0 (the second at *second). */
static mr_spill_file *two_blocks(const char *dir, mr_codec codec, int *fd,
                                 uint64_t *second)
{
    mr_kvbuf b;
    make_section(&b, 2);
    mr_spill_cfg cfg = {.dir = dir, .codec = codec, .block = 4096};
    char *err = NULL;
    mr_spill_file *f = mr__spill_create(&cfg, 1, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(append_pieces(f, 0, &b), MR_OK);
    CU_ASSERT_EQUAL(mr__spill_seal(f, &err), MR_OK);
    mr__kvbuf_fini(&b);
    *fd = spill_fd(dir);
    CU_ASSERT_FATAL(*fd >= 0);
    uint32_t h[4];
    CU_ASSERT_EQUAL(pread(*fd, h, sizeof h, 0), (ssize_t)sizeof h);
    *second = MR_SPILL_HDR + (uint64_t)h[0];
    CU_ASSERT(*second < mr__spill_stored(f));
    return f;
}

/* Reads section 0 to its end: the status of the last call, *err kept. */
static int drain(mr_spill_file *f, char **err)
{
    mr_spill_reader *rd = mr__spill_reader_new(f, 0);
    mr_rec r;
    int rc;
    while ((rc = mr__spill_next(rd, &r, err)) == 1)
        ;
    mr__spill_reader_free(rd);
    return rc;
}

static void test_corrupt(void)
{
    for (int c = MR_CODEC_NONE; c <= MR_CODEC_ZLIB; c++) {
        char *dir = tmpdir();
        int fd;
        uint64_t at;
        mr_spill_file *f = two_blocks(dir, (mr_codec)c, &fd, &at);
        unsigned char byte;
        CU_ASSERT_EQUAL(pread(fd, &byte, 1, (off_t)at + MR_SPILL_HDR + 3), 1);
        byte ^= 0x40;
        CU_ASSERT_EQUAL(pwrite(fd, &byte, 1, (off_t)at + MR_SPILL_HDR + 3), 1);
        char *err = NULL;
        CU_ASSERT_EQUAL(drain(f, &err), MR_EINVAL);
        char *want = g_strdup_printf("block at byte %" G_GUINT64_FORMAT, at);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, want));
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, dir));
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "section 0"));
        g_free(want);
        g_free(err);
        /* A header that claims more than the section holds. */
        uint32_t big = 1u << 30;
        CU_ASSERT_EQUAL(pwrite(fd, &big, 4, (off_t)at), 4);
        err = NULL;
        CU_ASSERT_EQUAL(drain(f, &err), MR_EINVAL);
        g_free(err);
        /* A file cut short: the block's bytes are missing. */
        CU_ASSERT_EQUAL(ftruncate(fd, (off_t)at + 8), 0);
        err = NULL;
        CU_ASSERT_EQUAL(drain(f, &err), MR_EIO);
        CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "short block"));
        g_free(err);
        mr__spill_close(f);
        rmdir_all(dir);
    }
}

/* /dev/full under the run file's descriptor: every write is ENOSPC. The
 * real thing (a full tmpfs) is left to a script: CUnit cannot mount. */
static void test_enospc(void)
{
    char *dir = tmpdir();
    mr_spill_cfg cfg = {.dir = dir, .codec = MR_CODEC_NONE, .block = 1024};
    char *err = NULL;
    mr_spill_file *f = mr__spill_create(&cfg, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    mr_kvbuf b;
    make_section(&b, 2);
    CU_ASSERT_EQUAL(append_pieces(f, 0, &b), MR_OK); /* some on disk */
    int fd = spill_fd(dir), full = open("/dev/full", O_WRONLY);
    CU_ASSERT_FATAL(fd >= 0 && full >= 0);
    CU_ASSERT_FATAL(dup2(full, fd) == fd);
    close(full);
    int rc = mr__spill_append(f, 1, b.data, b.len, b.nrec, &err);
    CU_ASSERT_EQUAL(rc, MR_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "no space left"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, dir));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "this run file holds"));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "more did not fit"));
    g_free(err);
    err = NULL; /* sticky */
    CU_ASSERT_EQUAL(mr__spill_seal(f, &err), MR_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "no space left"));
    g_free(err);
    mr__spill_close(f);
    mr__kvbuf_fini(&b);
    rmdir_all(dir);
}

static void test_block_decode(void)
{
    mr_kvbuf b;
    make_section(&b, 4);
    size_t n = mr__rec_cut(b.data, b.len, 4096), k = 0;
    for (size_t o = 0; o < n; o += mr__rec_size(b.data + o))
        k++;
    for (int c = MR_CODEC_NONE; c <= MR_CODEC_ZLIB; c++) {
        mr_spill_codec *cx = mr__spill_codec_new((mr_codec)c);
        unsigned char *blk = g_malloc(mr__spill_block_bound((mr_codec)c, n));
        size_t len = mr__spill_block_encode(cx, b.data, n, k, blk);
        unsigned char *raw = NULL;
        size_t rawlen, nrec;
        char *err = NULL;
        CU_ASSERT_EQUAL(mr__spill_block_decode((mr_codec)c, blk, len, &raw,
                                               &rawlen, &nrec, &err),
                        MR_OK);
        CU_ASSERT(rawlen == n && nrec == k && memcmp(raw, b.data, n) == 0);
        g_free(raw);
        /* Every cut and every single-bit flip in the header fails
         * cleanly. */
        for (size_t cut = 0; cut < len; cut += 7) {
            CU_ASSERT_EQUAL(mr__spill_block_decode((mr_codec)c, blk, cut,
                                                   &raw, &rawlen, &nrec, &err),
                            MR_EINVAL);
            g_free(err);
        }
        for (int bit = 0; bit < MR_SPILL_HDR * 8; bit++) {
            blk[bit / 8] ^= (unsigned char)(1u << bit % 8);
            CU_ASSERT_EQUAL(mr__spill_block_decode((mr_codec)c, blk, len,
                                                   &raw, &rawlen, &nrec, &err),
                            MR_EINVAL);
            g_free(err);
            blk[bit / 8] ^= (unsigned char)(1u << bit % 8);
        }
        g_free(blk);
        mr__spill_codec_free(cx);
    }
    mr__kvbuf_fini(&b);
}

static void touch(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    CU_ASSERT(g_file_set_contents(p, "x", 1, NULL));
    g_free(p);
}

static int exists(const char *dir, const char *name)
{
    char *p = g_build_filename(dir, name, NULL);
    struct stat st; /* lstat: a link counts, wherever it points */
    int r = lstat(p, &st) == 0;
    g_free(p);
    return r;
}

static void test_sweep(void)
{
    char *dir = tmpdir(), host[256];
    CU_ASSERT_FATAL(gethostname(host, sizeof host) == 0);
    pid_t dead = fork(); /* a pid that is surely gone once reaped */
    if (dead == 0)
        _exit(0);
    CU_ASSERT_FATAL(dead > 0 && waitpid(dead, NULL, 0) == dead);
    char *mine_dead = g_strdup_printf("mr-spill-%s-%ld-0", host, (long)dead);
    char *mine_live = g_strdup_printf("mr-spill-%s-%ld-1", host,
                                      (long)getpid());
    char *other = g_strdup_printf("mr-spill-%s-x-%ld-0", host, (long)dead);
    char *loose = g_strdup_printf("mr-spill-%s-%ld-0.bak", host, (long)dead);
    char *link = g_strdup_printf("mr-spill-%s-%ld-7", host, (long)dead);
    touch(dir, mine_dead);
    touch(dir, mine_live);
    touch(dir, other);
    touch(dir, loose);
    touch(dir, "target");
    char *lp = g_build_filename(dir, link, NULL);
    CU_ASSERT_EQUAL(symlink("target", lp), 0);
    CU_ASSERT_EQUAL(mr__spill_sweep(dir), 1);
    CU_ASSERT(!exists(dir, mine_dead));
    CU_ASSERT(exists(dir, mine_live));
    CU_ASSERT(exists(dir, other));
    CU_ASSERT(exists(dir, loose));
    CU_ASSERT(exists(dir, link));
    CU_ASSERT(exists(dir, "target"));
    CU_ASSERT_EQUAL(mr__spill_sweep(dir), 0);
    CU_ASSERT_EQUAL(mr__spill_sweep("/nonexistent/spill"), 0);
    g_free(lp);
    g_free(mine_dead);
    g_free(mine_live);
    g_free(other);
    g_free(loose);
    g_free(link);
    rmdir_all(dir);
}

static void test_space(void)
{
    char *dir = tmpdir(), *err = NULL;
    CU_ASSERT_EQUAL(mr__spill_space(dir, 1, &err), MR_OK);
    CU_ASSERT_EQUAL(mr__spill_space(dir, UINT64_MAX / 2, &err), MR_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, dir) && strstr(err, "needed"));
    g_free(err);
    CU_ASSERT_EQUAL(mr__spill_space("/nonexistent/spill", 1, &err), MR_EIO);
    g_free(err);
    touch(dir, "file");
    char *file = g_build_filename(dir, "file", NULL);
    CU_ASSERT_EQUAL(mr__spill_space(file, 1, &err), MR_EIO);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "not a folder"));
    g_free(err);
    mr_spill_cfg cfg = {.dir = file, .codec = MR_CODEC_NONE};
    err = NULL;
    CU_ASSERT_PTR_NULL(mr__spill_create(&cfg, 1, &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, file));
    g_free(err);
    g_free(file);
    CU_ASSERT(mr__spill_reader_mem(&cfg) > MR_SPILL_BLOCK_DEFAULT);
    rmdir_all(dir);
}

static CU_TestInfo tests[] = {
    {"round trip: every codec and block size", test_round_trip},
    {"named fallback leaves no entry", test_named},
    {"codec names", test_codec_names},
    {"corrupt and short blocks", test_corrupt},
    {"out of space", test_enospc},
    {"block decoding refuses damage", test_block_decode},
    {"sweep of dead runs' files", test_sweep},
    {"free space check", test_space},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"spill", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
