/* test_mandel_files.c -- the PNG and .npy writers, read back.
 *
 * The PNG is decoded again with libpng: its size, every pixel against the
 * colour map, black exactly for counts equal to max_iter. So is the PNG
 * made of pieces (mandel_ppng), put together as the ranks would. The .npy header
 * is checked byte for byte against the format (magic, version 1.0, dict,
 * 64-byte alignment) and the data read back.
 */
/* SPDX-License-Identifier: MIT */
#include "mandel_npy.h"
#include "mandel_png.h"
#include "mandel_ppng.h"
#include "mr_test.h"

#include <CUnit/CUnit.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

static void test_colors(void)
{
    const int32_t maxes[] = {1, 2, 127, 1000, 1 << 20, (1 << 20) + 1,
                             INT32_MAX};
    for (size_t m = 0; m < sizeof maxes / sizeof maxes[0]; m++) {
        int32_t max = maxes[m];
        unsigned char rgb[3], prev[3] = {0, 0, 0};
        size_t nonblack = 0, jumps = 0, tried = 0;
        mandel_color(max, max, rgb);
        CU_ASSERT(!rgb[0] && !rgb[1] && !rgb[2]);
        /* Every count below max: not black. Smooth: past the first few
         * counts (where log(1 + n) moves fastest), consecutive counts
         * differ by at most 20 units in any channel (measured: 20 at
         * max 127, 18 at 1000, 12 at 2^20, counting from n = 4). */
        int64_t step = max > 5000 ? max / 5000 : 1;
        for (int64_t n = 1; n < max; n += step) {
            mandel_color((int32_t)n, max, rgb);
            nonblack += rgb[0] || rgb[1] || rgb[2];
            if (step == 1 && n > 4)
                for (int c = 0; c < 3; c++)
                    jumps += abs(rgb[c] - prev[c]) > 20;
            memcpy(prev, rgb, 3);
            tried++;
        }
        CU_ASSERT_EQUAL(nonblack, tried);
        CU_ASSERT_EQUAL(jumps, 0);
    }
}

static void check_decoded(FILE *f, const int32_t *counts, int32_t w,
                          int32_t h, int32_t max);

/* Writes counts (h rows of w) as a PNG into a temporary file, decodes it
 * and checks it. */
static void roundtrip(int32_t w, int32_t h, int32_t max, int level)
{
    int32_t *counts = malloc((size_t)w * h * sizeof *counts);
    char err[256];
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int32_t i = 0; i < w * h; i++)
        counts[i] = (int32_t)((i * 7919LL) % (max + 1));
    mandel_png *p = mandel_png_new(f, w, h, max, level, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int32_t k = 0; k < h; k++)
        CU_ASSERT_EQUAL(mandel_png_row(p, counts + (size_t)k * w), 0);
    CU_ASSERT_EQUAL(mandel_png_finish(p), 0);
    mandel_png_free(p);
    check_decoded(f, counts, w, h, max);
    free(counts);
}

/* Decodes the PNG in f with libpng and checks every pixel; closes f. */
static void check_decoded(FILE *f, const int32_t *counts, int32_t w,
                          int32_t h, int32_t max)
{
    CU_ASSERT_EQUAL(fflush(f), 0);
    rewind(f);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    CU_ASSERT_FATAL(png_image_begin_read_from_stdio(&img, f) != 0);
    CU_ASSERT_EQUAL(img.width, (png_uint_32)w);
    CU_ASSERT_EQUAL(img.height, (png_uint_32)h);
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    CU_ASSERT_FATAL(png_image_finish_read(&img, NULL, px, 0, NULL) != 0);
    size_t bad = 0;
    for (int32_t i = 0; i < w * h; i++) {
        unsigned char want[3];
        mandel_color(counts[i], max, want);
        bad += memcmp(px + (size_t)i * 3, want, 3) != 0;
        int black = !px[i * 3] && !px[i * 3 + 1] && !px[i * 3 + 2];
        bad += black != (counts[i] == max);
    }
    CU_ASSERT_EQUAL(bad, 0);
    png_image_free(&img);
    free(px);
    fclose(f);
}

/* The PNG of pieces: head, the groups in order (their Adler-32s combined
 * as `ranks` ranks would: each over its own groups, then across), tail. */
static void ppng_roundtrip(int32_t w, int32_t h, int32_t max, int level,
                           int ranks)
{
    int32_t *counts = malloc((size_t)w * h * sizeof *counts);
    int32_t g = mandel_ppng_group_rows(w), ngroups = (h - 1) / g + 1;
    mandel_buf b = {0};
    char err[256];
    for (int32_t i = 0; i < w * h; i++)
        counts[i] = (int32_t)((i * 7919LL) % (max + 1));
    mandel_ppng *z = mandel_ppng_new(w, max, level);
    CU_ASSERT_PTR_NOT_NULL_FATAL(z);
    CU_ASSERT_EQUAL(mandel_ppng_head(&b, w, h, level), 0);
    uint32_t total = 1;
    for (int r = 0; r < ranks; r++) {
        uint32_t mine = 1;
        uint64_t len = 0;
        for (int32_t k = ngroups * r / ranks; k < ngroups * (r + 1) / ranks;
             k++) {
            int32_t rows = h - k * g < g ? h - k * g : g;
            uint32_t a;
            uint64_t n;
            CU_ASSERT_EQUAL_FATAL(mandel_ppng_group(z, counts + (size_t)k * g * w,
                                                    rows, &b, &a, &n, err,
                                                    sizeof err), 0);
            CU_ASSERT_EQUAL(n, (uint64_t)rows * (1 + 3 * (uint64_t)w));
            mine = mandel_ppng_combine(mine, a, n);
            len += n;
        }
        total = mandel_ppng_combine(total, mine, len);
    }
    CU_ASSERT_EQUAL(mandel_ppng_tail(&b, total), 0);
    mandel_ppng_free(z);
    FILE *f = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(fwrite(b.p, 1, b.len, f), b.len);
    check_decoded(f, counts, w, h, max);
    free(b.p);
    free(counts);
}

static void test_ppng(void)
{
    ppng_roundtrip(1, 1, 1, 6, 1);
    ppng_roundtrip(37, 200, 127, 6, 3);
    ppng_roundtrip(300, 129, 1000, 0, 2);
    ppng_roundtrip(64, 64, 3000000, 9, 4); /* no lookup table */
    CU_ASSERT_EQUAL(mandel_ppng_group_rows(1), 64);
    CU_ASSERT_EQUAL(mandel_ppng_group_rows(1 << 20), 4);
    CU_ASSERT_EQUAL(mandel_ppng_group_rows(1 << 26), 1);
    /* A count out of range is refused. */
    int32_t bad[4] = {1, 2, 99, 4};
    mandel_buf b = {0};
    uint32_t a;
    uint64_t n;
    char err[256];
    mandel_ppng *z = mandel_ppng_new(4, 10, 6);
    CU_ASSERT_EQUAL(mandel_ppng_group(z, bad, 1, &b, &a, &n, err, sizeof err),
                    -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "out of range"));
    mandel_ppng_free(z);
    mandel_ppng_free(NULL);
    free(b.p);
}

static void test_png_roundtrip(void)
{
    roundtrip(1, 1, 1, 6);
    roundtrip(37, 23, 127, 6);
    roundtrip(300, 5, 1000, 0);
    roundtrip(64, 64, 3000000, 9); /* no lookup table */
}

static void test_png_misuse(void)
{
    int32_t row[4] = {1, 2, 3, 4};
    int32_t badrow[4] = {1, 2, 99, 4};
    char err[256];
    FILE *f = tmpfile();
    mandel_png *p = mandel_png_new(f, 4, 2, 10, 6, err, sizeof err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(mandel_png_row(p, badrow), -1); /* count > max */
    CU_ASSERT_PTR_NOT_NULL(strstr(mandel_png_error(p), "out of range"));
    CU_ASSERT_EQUAL(mandel_png_row(p, row), 0);
    CU_ASSERT_EQUAL(mandel_png_finish(p), -1); /* one row missing */
    CU_ASSERT_EQUAL(mandel_png_row(p, row), 0);
    CU_ASSERT_EQUAL(mandel_png_row(p, row), -1); /* one row too many */
    CU_ASSERT_EQUAL(mandel_png_finish(p), 0);
    mandel_png_free(p);
    mandel_png_free(NULL);
    fclose(f);
}

static void test_npy(void)
{
    const int64_t shapes[][2] = {{1, 1}, {800, 1200}, {3, 123456789}};
    for (size_t s = 0; s < 3; s++) {
        char *buf = NULL;
        size_t len = 0;
        int32_t rows[2][3] = {{1, 2, 3}, {-4, 5, 2147483647}};
        FILE *f = open_memstream(&buf, &len);
        CU_ASSERT_EQUAL(mandel_npy_header(f, shapes[s][0], shapes[s][1]),
                        0);
        CU_ASSERT_EQUAL(mandel_npy_row(f, rows[0], 3), 0);
        CU_ASSERT_EQUAL(mandel_npy_row(f, rows[1], 3), 0);
        fclose(f);
        CU_ASSERT_FATAL(len > 10);
        CU_ASSERT_EQUAL(memcmp(buf, "\x93NUMPY\x01\x00", 8), 0);
        size_t hlen = (unsigned char)buf[8] | (unsigned char)buf[9] << 8;
        CU_ASSERT_EQUAL((10 + hlen) % 64, 0);
        CU_ASSERT_EQUAL(len, 10 + hlen + sizeof rows);
        CU_ASSERT_EQUAL(buf[10 + hlen - 1], '\n');
        char want[128];
        snprintf(want, sizeof want,
                 "{'descr': '<i4', 'fortran_order': False, 'shape': "
                 "(%lld, %lld), }",
                 (long long)shapes[s][0], (long long)shapes[s][1]);
        CU_ASSERT_EQUAL(strncmp(buf + 10, want, strlen(want)), 0);
        for (size_t i = 10 + strlen(want); i < 10 + hlen - 1; i++)
            CU_ASSERT_EQUAL(buf[i], ' ');
        CU_ASSERT_EQUAL(memcmp(buf + 10 + hlen, rows, sizeof rows), 0);
        free(buf);
    }
}

static CU_TestInfo tests[] = {
    {"colour map", test_colors},
    {"PNG written and decoded", test_png_roundtrip},
    {"PNG misuse is reported", test_png_misuse},
    {"PNG of pieces written and decoded", test_ppng},
    {"npy header and data", test_npy},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mandel_files", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
