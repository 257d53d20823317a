/* mr_test.h -- the verdict of a CUnit test program, serial or under MPI.
 *
 * main() registers its suites and returns mr_test_run(suites) (serial) or
 * mr_test_run_mpi(suites) (every rank runs every test; failures are summed
 * over ranks with MPI_Allreduce so all ranks exit with the same status).
 * The exit status is EXIT_SUCCESS or EXIT_FAILURE, never a raw count.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_TEST_H
#define MR_TEST_H

#include <CUnit/CUnit.h>

int mr_test_run(CU_SuiteInfo *suites);
int mr_test_run_mpi(CU_SuiteInfo *suites);

/* In MPI tests: a condition that holds on every rank (collective). */
#define MR_TEST_ASSERT_ALL(cond) CU_ASSERT(mr_test_all(cond))
int mr_test_all(int cond);

#endif /* MR_TEST_H */
