/* test_shuffle.c -- cutting runs into shuffle rounds at record boundaries (the MPI exchange itself: mpi_engine tests). */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"
#include "mr_test.h"

#include <stdio.h>
#include <stdlib.h>

static void test_shuffle_cut(void)
{
    mr_kvbuf b;
    mr__kvbuf_init(&b);
    char big[1000];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 10; i++) /* records of 12 + 2 + 8 = 22 bytes */
        mr__kvbuf_append(&b, mr_str("kk"), mr_str("vvvvvvvv"), 0);
    mr__kvbuf_append(&b, mr_str("big"), mr_mem(big, sizeof big), 0);
    size_t nrec;
    CU_ASSERT_EQUAL(mr__shuffle_cut(b.data, b.len, 50, &nrec), 44);
    CU_ASSERT_EQUAL(nrec, 2);
    CU_ASSERT_EQUAL(mr__shuffle_cut(b.data, b.len, 44, &nrec), 44);
    CU_ASSERT_EQUAL(mr__shuffle_cut(b.data, b.len, 21, &nrec), 22);
    CU_ASSERT_EQUAL(nrec, 1); /* at least one record, even over the limit */
    size_t off = 220;
    CU_ASSERT_EQUAL(mr__shuffle_cut(b.data + off, b.len - off, 64, &nrec),
                    12 + 3 + 1000);
    CU_ASSERT_EQUAL(nrec, 1);
    CU_ASSERT_EQUAL(mr__shuffle_cut(b.data, 0, 64, &nrec), 0);
    CU_ASSERT_EQUAL(nrec, 0);
    /* Cutting the whole run in small limits visits every record once. */
    size_t total = 0, recs = 0;
    while (total < b.len) {
        size_t n = mr__shuffle_cut(b.data + total, b.len - total, 30, &nrec);
        total += n;
        recs += nrec;
    }
    CU_ASSERT_EQUAL(total, b.len);
    CU_ASSERT_EQUAL(recs, 11);
    mr__kvbuf_fini(&b);
}

static CU_TestInfo tests[] = {
    {"cuts at record boundaries", test_shuffle_cut},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"shuffle", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
