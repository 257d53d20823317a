/* rtt.c -- the baseline for claims.c (tools/bench/cluster.sh): the same
 * request/grant exchange the `master` schedule makes, with no engine.
 * Rank 0 hands out NTASKS grants, one per request, from a blocking
 * MPI_Recv(MPI_ANY_SOURCE) loop; ranks 1..P-1 each send a request, wait for
 * the grant, then spin TASK_US microseconds (so the ranks load the cores
 * as claims.c's do), until granted "no more". A worker's time between its
 * request and its grant is one bare MPI round trip to rank 0.
 * Usage: bench-rtt NTASKS TASK_US
 * Prints "rtt ROUNDTRIPS US_PER_ROUNDTRIP": the round trips the workers
 * made (the last, which got no work, included) and their mean. */
/* SPDX-License-Identifier: MIT */
#include <mpi.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

enum { TAG_REQ = 1, TAG_GRANT = 2 };

int main(int argc, char **argv)
{
    int rank, P;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    if (argc < 2 || P < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np P>1 bench-rtt NTASKS [TASK_US]\n");
        MPI_Finalize();
        return 2;
    }
    long ntasks = atol(argv[1]);
    double task_s = argc > 2 ? atof(argv[2]) * 1e-6 : 0;
    long trips = 0;
    double in_trips = 0;
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0) {
        long next = 0;
        int left = P - 1;
        while (left > 0) {
            int req;
            MPI_Status st;
            MPI_Recv(&req, 1, MPI_INT, MPI_ANY_SOURCE, TAG_REQ, MPI_COMM_WORLD, &st);
            int64_t grant = next < ntasks ? next++ : -1;
            if (grant < 0)
                left--;
            MPI_Send(&grant, 1, MPI_INT64_T, st.MPI_SOURCE, TAG_GRANT, MPI_COMM_WORLD);
        }
    } else {
        for (;;) {
            int req = 0;
            int64_t grant;
            double t0 = MPI_Wtime();
            MPI_Send(&req, 1, MPI_INT, 0, TAG_REQ, MPI_COMM_WORLD);
            MPI_Recv(&grant, 1, MPI_INT64_T, 0, TAG_GRANT, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            in_trips += MPI_Wtime() - t0;
            trips++;
            if (grant < 0)
                break;
            double end = MPI_Wtime() + task_s;
            while (MPI_Wtime() < end)
                ;
        }
    }
    long all = 0;
    double sum = 0;
    MPI_Reduce(&trips, &all, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&in_trips, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("rtt %ld %.1f\n", all, all ? sum / (double)all * 1e6 : 0.0);
    MPI_Finalize();
    return 0;
}
