/* mpi_hello.c -- the minimal MPI hello world: the start-up baseline that
 * tools/bench/engine.sh compares `mr-run hello` against. */
/* SPDX-License-Identifier: MIT */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    int rank, size, len;
    char host[MPI_MAX_PROCESSOR_NAME];
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Get_processor_name(host, &len);
    printf("Hello from %s. %d of %d\n", host, rank, size);
    MPI_Finalize();
    return 0;
}
