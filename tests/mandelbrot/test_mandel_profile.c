/* test_mandel_profile.c -- the study's arithmetic: per-rank totals, the
 * three imbalance ratios, idle time, and the count histogram's bins. */
/* SPDX-License-Identifier: MIT */
#include "mandel_profile.h"
#include "mr_test.h"

#include <CUnit/CUnit.h>
#include <math.h>

#define NEAR(a, b) CU_ASSERT(fabs((a) - (b)) < 1e-9)

static void test_balance(void)
{
    /* Rank 0: two tasks, 3 s busy; rank 1: one task, 1 s; rank 2: none. */
    const mandel_task_rec recs[] = {
        {.rank = 0, .first_row = 0, .rows = 2, .start = 1.0, .end = 3.0,
         .cpu = 1.5, .iterations = 600},
        {.rank = 1, .first_row = 2, .rows = 1, .start = 1.5, .end = 2.5,
         .cpu = 0.5, .iterations = 300},
        {.rank = 0, .first_row = 3, .rows = 1, .start = 3.0, .end = 4.0,
         .cpu = 1.0, .iterations = 0},
    };
    mandel_balance b;
    CU_ASSERT_EQUAL_FATAL(mandel_balance_init(&b, recs, 3, 3, 10), 0);
    NEAR(b.span, 3.0); /* first start 1.0, last end 4.0 */
    NEAR(b.busy[0], 3.0);
    NEAR(b.busy[1], 1.0);
    NEAR(b.busy[2], 0.0);
    NEAR(b.idle[0], 0.0);
    NEAR(b.idle[1], 2.0);
    NEAR(b.idle[2], 3.0);
    CU_ASSERT_EQUAL(b.tasks[0], 2);
    CU_ASSERT_EQUAL(b.pixels[0], 30);
    CU_ASSERT_EQUAL(b.iterations[1], 300);
    NEAR(b.busy_mean, 4.0 / 3);
    NEAR(b.imbalance, 3.0 / (4.0 / 3));         /* 2.25 */
    NEAR(b.imbalance_cpu, 2.5 / (3.0 / 3));     /* 2.5 */
    NEAR(b.imbalance_iter, 600.0 / (900.0 / 3)); /* 2.0 */
    mandel_balance_fini(&b);

    /* A record naming a rank outside the run is refused. */
    mandel_task_rec bad = recs[0];
    bad.rank = 3;
    CU_ASSERT_EQUAL(mandel_balance_init(&b, &bad, 1, 3, 10), -1);
    /* No tasks at all: ratios 1, nothing divided by zero. */
    CU_ASSERT_EQUAL_FATAL(mandel_balance_init(&b, NULL, 0, 2, 10), 0);
    NEAR(b.imbalance, 1.0);
    NEAR(b.imbalance_iter, 1.0);
    mandel_balance_fini(&b);
}

static void test_hist(void)
{
    mandel_hist h;
    const int32_t counts[] = {1, 1, 5, 1000, 1000, 1000};
    CU_ASSERT_EQUAL_FATAL(mandel_hist_init(&h, 1000), 0);
    CU_ASSERT_EQUAL(h.width, 1); /* exact up to 2^20 values */
    CU_ASSERT_EQUAL(h.n, 1001);
    mandel_hist_add(&h, counts, 6);
    CU_ASSERT_EQUAL(h.bins[1], 2);
    CU_ASSERT_EQUAL(h.bins[5], 1);
    CU_ASSERT_EQUAL(h.bins[1000], 3);
    mandel_hist_fini(&h);

    /* INT32_MAX iterations: bins of 2048 counts, the last one included. */
    const int32_t big[] = {0, 2047, 2048, INT32_MAX};
    CU_ASSERT_EQUAL_FATAL(mandel_hist_init(&h, INT32_MAX), 0);
    CU_ASSERT_EQUAL(h.width, 2048);
    CU_ASSERT(h.n <= (1u << 20));
    mandel_hist_add(&h, big, 4);
    CU_ASSERT_EQUAL(h.bins[0], 2);
    CU_ASSERT_EQUAL(h.bins[1], 1);
    CU_ASSERT_EQUAL(h.bins[h.n - 1], 1);
    mandel_hist_fini(&h);
}

static CU_TestInfo tests[] = {
    {"per-rank totals and imbalance", test_balance},
    {"count histogram", test_hist},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mandel_profile", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
