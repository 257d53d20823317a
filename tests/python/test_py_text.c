/* test_py_text.c -- the python job's encoding, read without Python:
 * validation of malformed bytes, the default output text (numbers as
 * Python's repr prints them) and the fold functions.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <math.h>
#include <string.h>

#include "mr_test.h"
#include "py_text.h"

static const char *text_of(const void *p, size_t n, pyc_buf *b)
{
    b->len = 0;
    if (pyc_text(p, n, b) != 0)
        return NULL;
    pyc_buf_putc(b, 0);
    return (const char *)b->data;
}

static const char *dbl(double x, pyc_buf *b)
{
    b->len = 0;
    pyc_put_double(b, x);
    pyc_buf_putc(b, 0);
    return (const char *)b->data;
}

static void test_double_repr(void)
{
    pyc_buf b = {0};
    struct {
        double x;
        const char *repr;
    } cases[] = {
        {0.0, "0.0"},       {-0.0, "-0.0"},       {1.0, "1.0"},
        {0.1, "0.1"},       {1.5, "1.5"},         {-2.25, "-2.25"},
        {1e16, "1e+16"},    {1e15, "1000000000000000.0"},
        {123456789.0, "123456789.0"},             {0.0001, "0.0001"},
        {0.00001, "1e-05"}, {1.5e-7, "1.5e-07"},  {1e300, "1e+300"},
        {1.0 / 3, "0.3333333333333333"},          {2.0 / 3, "0.6666666666666666"},
        {5e-324, "5e-324"}, {1.7976931348623157e308, "1.7976931348623157e+308"},
        {INFINITY, "inf"},  {-INFINITY, "-inf"},  {NAN, "nan"},
        {12345.678, "12345.678"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const char *got = dbl(cases[i].x, &b);
        CU_ASSERT_STRING_EQUAL(got, cases[i].repr);
        if (strcmp(got, cases[i].repr) != 0)
            fprintf(stderr, "repr: got %s want %s\n", got, cases[i].repr);
    }
    pyc_buf_fini(&b);
}

static void test_text(void)
{
    pyc_buf b = {0};
    /* int64 -5: 0x11, BE of (-5 ^ 2^63) */
    unsigned char i[9] = {PYC_INT};
    pyc_put_be64(i + 1, (uint64_t)(int64_t)-5 ^ (UINT64_C(1) << 63));
    CU_ASSERT_STRING_EQUAL(text_of(i, 9, &b), "-5");
    /* 2^64 as a big int: magnitude 01 00 .. 00 (9 bytes) */
    unsigned char big[1 + 4 + 9] = {PYC_POSBIG, 0, 0, 0, 9, 1};
    CU_ASSERT_STRING_EQUAL(text_of(big, sizeof big, &b),
                           "18446744073709551616");
    /* ("a\0b", None, (b"x",)) */
    const unsigned char tup[] = {PYC_TUPLE, PYC_STR, 'a', 0, 0xFF, 'b', 0,
                                 PYC_NONE, PYC_TUPLE, PYC_BYTES, 'x', 0, 0,
                                 0};
    pyc_buf_fini(&b);
    CU_ASSERT_EQUAL(pyc_valid(tup, sizeof tup), 0);
    const char *t = text_of(tup, sizeof tup, &b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(memcmp(t, "a\0b\tNone\tx", 11), 0);
    /* top-level str runs to the end, NULs and all */
    const unsigned char s[] = {PYC_STR, 'h', 0, 'i'};
    CU_ASSERT_EQUAL(pyc_valid(s, sizeof s), 0);
    pyc_buf_fini(&b);
}

static void test_malformed(void)
{
    const unsigned char *bad[] = {
        (const unsigned char *)"",
        (const unsigned char *)"\x11\x00",           /* short int */
        (const unsigned char *)"\x50\x40" "ab",      /* unterminated */
        (const unsigned char *)"\x99",               /* unknown tag */
        (const unsigned char *)"\x12\x00\x00\x00\x02\x01\x02", /* short big */
        (const unsigned char *)"\x60\x03<f8\x01\x00\x00\x00\x00\x00\x00\x00\x02",
    };
    size_t len[] = {0, 2, 4, 1, 7, 14};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CU_ASSERT_EQUAL(pyc_valid(bad[k], len[k]), -1);
    /* a tuple with trailing bytes after its terminator */
    const unsigned char trail[] = {PYC_TUPLE, PYC_NONE, 0, PYC_NONE};
    CU_ASSERT_EQUAL(pyc_valid(trail, sizeof trail), -1);
    /* nesting deeper than PYC_MAX_DEPTH */
    unsigned char deep[2 * PYC_MAX_DEPTH + 4];
    size_t n = 0;
    for (int k = 0; k < PYC_MAX_DEPTH + 2; k++)
        deep[n++] = PYC_TUPLE;
    CU_ASSERT_EQUAL(pyc_valid(deep, n), -1);
}

static void test_folds(void)
{
    __extension__ __int128 a = INT64_MAX, v = INT64_MAX;
    unsigned char acc[16], val[16];
    memcpy(acc, &a, 16);
    memcpy(val, &v, 16);
    pyc_fold_sum(acc, val); /* beyond 64 bits: exact */
    pyc_buf b = {0};
    pyc_fold_text(PYC_FOLD_SUM, acc, &b);
    pyc_buf_putc(&b, 0);
    CU_ASSERT_STRING_EQUAL((char *)b.data, "18446744073709551614");
    /* min of int 1 and float 1.0: the int, whatever the order */
    unsigned char i1[16] = {PYC_FV_INT}, f1[16] = {PYC_FV_FLOAT};
    int64_t one = 1;
    double fone = 1.0;
    memcpy(i1 + 8, &one, 8);
    memcpy(f1 + 8, &fone, 8);
    unsigned char x[16], y[16];
    memcpy(x, i1, 16);
    pyc_fold_min(x, f1);
    memcpy(y, f1, 16);
    pyc_fold_min(y, i1);
    CU_ASSERT_EQUAL(memcmp(x, y, 16), 0);
    CU_ASSERT_EQUAL(x[0], PYC_FV_INT);
    pyc_fold_max(x, f1);
    CU_ASSERT_EQUAL(x[0], PYC_FV_FLOAT);
    pyc_buf_fini(&b);
}

static CU_TestInfo tests[] = {
    {"double repr", test_double_repr},
    {"text", test_text},
    {"malformed", test_malformed},
    {"folds", test_folds},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"py_text", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
