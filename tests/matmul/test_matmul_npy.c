/* test_matmul_npy.c -- unit tests of matmul's .npy reader and writer.
 *
 * Round trips in C and Fortran order and format versions 1.0 and 2.0,
 * reading sub-blocks, the exact bytes numpy writes, headers numpy and
 * older numpy may write (key order, quotes, 10L), and every refusal:
 * bad magic, version, truncated header or data, missing or unknown keys,
 * wrong dtypes, wrong number of dimensions, empty shape, trailing junk.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* memmem */
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr/mr_job.h"
#include "mr_test.h"
#include "npy.h"

static char dir[] = "/tmp/test_matmul_npy.XXXXXX";
static char path[256];
static char err[512];

static int suite_init(void)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(path, sizeof path, "%s/m.npy", dir);
    return 0;
}

static int suite_clean(void)
{
    unlink(path);
    return rmdir(dir);
}

static void fill(double *d, size_t rows, size_t cols)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            d[r * cols + c] = (double)r * 1000 + (double)c + 0.25;
}

/* Writes magic, version, a header with `dict` (padded as numpy pads) and
 * nbytes of data (element i = i + 0.5). */
static void write_raw(int major, const char *dict, size_t nbytes)
{
    size_t prefix = major == 1 ? 10 : 12, dlen = strlen(dict);
    size_t h = dlen + 1 + (64 - (prefix + dlen + 1) % 64);
    unsigned char head[12] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)major, 0};
    for (size_t i = 0; i < prefix - 8; i++)
        head[8 + i] = (unsigned char)(h >> (8 * i));
    FILE *fp = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fwrite(head, 1, prefix, fp);
    fwrite(dict, 1, dlen, fp);
    for (size_t i = dlen; i + 1 < h; i++)
        fputc(' ', fp);
    fputc('\n', fp);
    for (size_t i = 0; i < nbytes / 8; i++) {
        double v = (double)i + 0.5;
        fwrite(&v, 8, 1, fp);
    }
    for (size_t i = 0; i < nbytes % 8; i++)
        fputc(0, fp);
    fclose(fp);
}

/* Opens path; expects failure with a message containing `want` and the
 * file name. */
static void expect_refused(const char *want)
{
    npy_file f;
    int rc = npy_open(&f, path, err, sizeof err);
    CU_ASSERT_EQUAL(rc, MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
    CU_ASSERT_EQUAL(f.fd, -1);
    if (rc == MR_OK)
        npy_close(&f);
    if (!strstr(err, want))
        fprintf(stderr, "\n  want '%s', got '%s'\n", want, err);
}

static void expect_ok(uint64_t rows, uint64_t cols, int fortran)
{
    npy_file f;
    int rc = npy_open(&f, path, err, sizeof err);
    CU_ASSERT_EQUAL_FATAL(rc, MR_OK);
    CU_ASSERT_EQUAL(f.info.rows, rows);
    CU_ASSERT_EQUAL(f.info.cols, cols);
    CU_ASSERT_EQUAL(f.info.fortran, fortran);
    CU_ASSERT_EQUAL(f.info.data_offset % 64, 0);
    npy_close(&f);
}

/* ---------------- tests ---------------- */

/* What numpy 1.24 writes for np.save(f, np.zeros((3, 4))): checked
 * against numpy itself by tests/matmul/numpy.sh. */
static void test_header_bytes(void)
{
    char h[512];
    const char *dict = "{'descr': '<f8', 'fortran_order': False, "
                       "'shape': (3, 4), }";
    size_t n = npy_format_header(h, sizeof h, 3, 4, 0, 1);
    CU_ASSERT_EQUAL(n, 128);
    CU_ASSERT_EQUAL(memcmp(h, "\x93NUMPY\x01\x00", 8), 0);
    CU_ASSERT_EQUAL((unsigned char)h[8] | (unsigned char)h[9] << 8, 118);
    CU_ASSERT_EQUAL(memcmp(h + 10, dict, strlen(dict)), 0);
    for (size_t i = 10 + strlen(dict); i < 127; i++)
        CU_ASSERT_EQUAL(h[i], ' ');
    CU_ASSERT_EQUAL(h[127], '\n');

    /* Fortran order pads for the last axis; version 2 has a 4-byte
     * length; a long shape still aligns to 64. */
    n = npy_format_header(h, sizeof h, 123456789012ULL, 5, 1, 2);
    CU_ASSERT_EQUAL(n % 64, 0);
    CU_ASSERT_EQUAL(h[6], 2);
    CU_ASSERT_PTR_NOT_NULL(memmem(h, n, "'fortran_order': True", 21));
    CU_ASSERT_PTR_NOT_NULL(memmem(h, n, "(123456789012, 5)", 17));
    npy_info info;
    CU_ASSERT_EQUAL(npy_parse_header("x", h, n, &info, err, sizeof err), MR_OK);
    CU_ASSERT_EQUAL(info.rows, 123456789012ULL);
    CU_ASSERT_EQUAL(info.data_offset, n);
    CU_ASSERT_EQUAL(npy_format_header(h, 100, 3, 4, 0, 1), 0);
}

static void round_trip(int fortran, int version)
{
    enum { R = 13, C = 7 };
    double src[R * C], got[R * C];
    npy_file f;

    fill(src, R, C);
    CU_ASSERT_EQUAL_FATAL(
        npy_save(path, src, R, C, fortran, version, err, sizeof err), MR_OK);
    CU_ASSERT_EQUAL_FATAL(npy_open(&f, path, err, sizeof err), MR_OK);
    CU_ASSERT_EQUAL(f.info.major, version);
    CU_ASSERT_EQUAL(f.info.fortran, fortran);
    CU_ASSERT_EQUAL(f.info.rows, R);
    CU_ASSERT_EQUAL(f.info.cols, C);

    memset(got, 0, sizeof got);
    CU_ASSERT_EQUAL(npy_read_block(&f, 0, R, 0, C, got, C, err, sizeof err),
                    MR_OK);
    CU_ASSERT_EQUAL(memcmp(got, src, sizeof src), 0);

    /* Every sub-block shape class: inner, full rows, full columns, one
     * element, into a destination with a wider leading dimension. */
    static const size_t blocks[][4] = {
        {2, 5, 1, 4}, {0, 13, 3, 2}, {4, 3, 0, 7}, {12, 1, 6, 1}, {5, 8, 0, 1}};
    for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        size_t r0 = blocks[b][0], nr = blocks[b][1];
        size_t c0 = blocks[b][2], nc = blocks[b][3], ld = nc + 3;
        double dst[R * (C + 3)];
        memset(dst, 0, sizeof dst);
        CU_ASSERT_EQUAL(
            npy_read_block(&f, r0, nr, c0, nc, dst, ld, err, sizeof err),
            MR_OK);
        int same = 1;
        for (size_t r = 0; r < nr; r++)
            for (size_t c = 0; c < nc; c++)
                same &= dst[r * ld + c] == src[(r0 + r) * C + c0 + c];
        CU_ASSERT(same);
    }
    npy_close(&f);
    CU_ASSERT_EQUAL(f.fd, -1);
}

static void test_round_trip_c_v1(void)
{
    round_trip(0, 1);
}
static void test_round_trip_c_v2(void)
{
    round_trip(0, 2);
}
static void test_round_trip_f_v1(void)
{
    round_trip(1, 1);
}
static void test_round_trip_f_v2(void)
{
    round_trip(1, 2);
}

/* A Fortran-order file larger than the reader's 4 MiB chunk: the reader
 * goes through it in several column groups. */
static void test_fortran_chunks(void)
{
    enum { R = 1100, C = 600 };
    double *src = malloc(sizeof(double) * R * C);
    double *got = malloc(sizeof(double) * R * C);
    npy_file f;

    fill(src, R, C);
    CU_ASSERT_EQUAL_FATAL(npy_save(path, src, R, C, 1, 1, err, sizeof err),
                          MR_OK);
    CU_ASSERT_EQUAL_FATAL(npy_open(&f, path, err, sizeof err), MR_OK);
    CU_ASSERT_EQUAL(npy_read_block(&f, 0, R, 0, C, got, C, err, sizeof err),
                    MR_OK);
    CU_ASSERT_EQUAL(memcmp(got, src, sizeof(double) * R * C), 0);
    npy_close(&f);
    free(src);
    free(got);
}

/* Headers numpy writes or may have written, in the other forms. */
static void test_header_variants(void)
{
    write_raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }",
              48);
    expect_ok(2, 3, 0);
    write_raw(1,
              "{\"shape\": (2L, 3L), \"fortran_order\": True, "
              "\"descr\": \"<f8\"}",
              48);
    expect_ok(2, 3, 1);
    write_raw(2, "{ 'fortran_order' :False,'descr':'<f8','shape':( 4 ,1 , ) }",
              32);
    expect_ok(4, 1, 0);
    write_raw(3, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
              8);
    expect_ok(1, 1, 0);
    /* Trailing data beyond the matrix is ignored, as np.load does. */
    write_raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 2), }",
              40);
    expect_ok(1, 2, 0);
}

static void test_truncated(void)
{
    write_raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 3), }",
              71);
    expect_refused("truncated");
    write_raw(2, "{'descr': '<f8', 'fortran_order': True, 'shape': (3, 3), }",
              0);
    expect_refused("needs 72 data bytes, the file has 0");

    /* Cut inside the header. */
    FILE *fp = fopen(path, "wb");
    fwrite("\x93NUMPY\x01\x00\x76\x00{'descr'", 1, 18, fp);
    fclose(fp);
    expect_refused("truncated header");
    fp = fopen(path, "wb");
    fwrite("\x93NUMPY\x02\x00\x76", 1, 9, fp);
    fclose(fp);
    expect_refused("truncated header");
    fp = fopen(path, "wb");
    fclose(fp);
    expect_refused("not a .npy file");
}

static void test_wrong_dtype(void)
{
    static const char *const bad[] = {"<f4",  ">f8",     "<i8", "|u1",
                                      "<c16", "float64", "|b1", "<U3"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char dict[128], want[64];
        snprintf(dict, sizeof dict,
                 "{'descr': '%s', 'fortran_order': False, 'shape': (2, 2), }",
                 bad[i]);
        write_raw(1, dict, 64);
        snprintf(want, sizeof want, "dtype '%s' is not supported", bad[i]);
        expect_refused(want);
    }
    write_raw(1,
              "{'descr': [('x', '<f8'), ('y', '<f8')], 'fortran_order': "
              "False, 'shape': (2,), }",
              32);
    expect_refused("structured dtype");
}

static void test_malformed(void)
{
    static const struct {
        const char *dict, *want;
    } cases[] = {
        {"'descr': '<f8', 'fortran_order': False, 'shape': (2, 2)",
         "expected '{'"},
        {"{'descr': '<f8', 'fortran_order': Flase, 'shape': (2, 2), }",
         "expected True or False"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': [2, 2], }",
         "expected a tuple of integers"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, -2), }",
         "expected a tuple of integers"},
        {"{'descr': '<f8', 'fortran_order': False 'shape': (2, 2), }",
         "expected ',' or '}'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), } x",
         "only spaces after '}'"},
        {"{descr: '<f8', 'fortran_order': False, 'shape': (2, 2), }",
         "expected a quoted key"},
        {"{'descr' '<f8', 'fortran_order': False, 'shape': (2, 2), }",
         "expected ':'"},
        {"{'descr': <f8, 'fortran_order': False, 'shape': (2, 2), }",
         "expected a dtype string"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), "
         "'extra': 1, }",
         "unexpected or repeated key 'extra'"},
        {"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, "
         "'shape': (2, 2), }",
         "unexpected or repeated key 'descr'"},
        {"{'descr': '<f8', 'shape': (2, 2), }", "missing key 'fortran_order'"},
        {"{'fortran_order': False, 'shape': (2, 2), }", "missing key 'descr'"},
        {"{'descr': '<f8', 'fortran_order': False, }", "missing key 'shape'"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
         "1-dimensional array"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (), }",
         "0-dimensional array"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2, 2), }",
         "3-dimensional array"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': (0, 2), }",
         "empty matrix"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': "
         "(99999999999999999999, 2), }",
         "expected a tuple of integers"},
        {"{'descr': '<f8', 'fortran_order': False, 'shape': "
         "(4294967296, 4294967296), }",
         "too large"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(1, cases[i].dict, 64);
        expect_refused(cases[i].want);
    }

    /* Magic and version. */
    FILE *fp = fopen(path, "wb");
    fwrite("\x93NUMPX\x01\x00\x10\x00{}              \n", 1, 26, fp);
    fclose(fp);
    expect_refused("no \\x93NUMPY magic");
    write_raw(4, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
              8);
    expect_refused("unsupported .npy format version 4.0");
    write_raw(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 1), }",
              8);
    fp = fopen(path, "r+b");
    fseek(fp, 7, SEEK_SET);
    fputc(1, fp); /* version 1.1 */
    fclose(fp);
    expect_refused("version 1.1");

    /* A header length past the limit. */
    fp = fopen(path, "wb");
    fwrite("\x93NUMPY\x02\x00\x00\x00\x10\x00", 1, 12, fp);
    fclose(fp);
    expect_refused("length 1048576 is over");
}

static void test_missing_file(void)
{
    npy_file f;
    CU_ASSERT_EQUAL(npy_open(&f, "/nonexistent/x.npy", err, sizeof err),
                    MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/x.npy: cannot open"));
    CU_ASSERT_EQUAL(npy_open(&f, dir, err, sizeof err), MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
}

/* A file that shrinks after the header was checked: the read fails with
 * MR_EIO and says so, instead of returning garbage. */
static void test_shrunk(void)
{
    double src[4 * 4], got[4 * 4];
    npy_file f;
    fill(src, 4, 4);
    CU_ASSERT_EQUAL_FATAL(npy_save(path, src, 4, 4, 0, 1, err, sizeof err),
                          MR_OK);
    CU_ASSERT_EQUAL_FATAL(npy_open(&f, path, err, sizeof err), MR_OK);
    CU_ASSERT_EQUAL(truncate(path, 128 + 40), 0);
    CU_ASSERT_EQUAL(npy_read_block(&f, 0, 4, 0, 4, got, 4, err, sizeof err),
                    MR_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "shrank"));
    npy_close(&f);
}

static CU_TestInfo npy_tests[] = {
    {"header bytes as numpy writes them", test_header_bytes},
    {"round trip, C order, v1.0", test_round_trip_c_v1},
    {"round trip, C order, v2.0", test_round_trip_c_v2},
    {"round trip, Fortran order, v1.0", test_round_trip_f_v1},
    {"round trip, Fortran order, v2.0", test_round_trip_f_v2},
    {"Fortran order in several chunks", test_fortran_chunks},
    {"header variants", test_header_variants},
    {"truncated files", test_truncated},
    {"wrong dtypes", test_wrong_dtype},
    {"malformed headers", test_malformed},
    {"missing file", test_missing_file},
    {"file shrinks while read", test_shrunk},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"matmul npy", suite_init, suite_clean, NULL, NULL, npy_tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
