/* mr_test.c -- CUnit runners with an honest exit status (see mr_test.h). */
/* SPDX-License-Identifier: MIT */
#include "mr_test.h"

#include <CUnit/Basic.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

static int run(CU_SuiteInfo *suites, int verbose)
{
    if (CU_initialize_registry() != CUE_SUCCESS)
        return -1;
    if (CU_register_suites(suites) != CUE_SUCCESS) {
        CU_cleanup_registry();
        return -1;
    }
    CU_basic_set_mode(verbose ? CU_BRM_VERBOSE : CU_BRM_SILENT);
    CU_basic_run_tests();
    int failed = (int)CU_get_number_of_failures();
    if (CU_get_error() != CUE_SUCCESS)
        failed++;
    CU_cleanup_registry();
    return failed;
}

int mr_test_run(CU_SuiteInfo *suites)
{
    int failed = run(suites, 1);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

int mr_test_all(int cond)
{
    int all = cond != 0;
    MPI_Allreduce(MPI_IN_PLACE, &all, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
    return all;
}

int mr_test_run_mpi(CU_SuiteInfo *suites)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int failed = run(suites, rank == 0);
    int any = failed != 0;
    MPI_Allreduce(MPI_IN_PLACE, &any, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0 && any)
        fprintf(stderr, "failures on %d rank(s)\n", any);
    return any == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
