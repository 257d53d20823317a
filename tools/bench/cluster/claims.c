/* claims.c -- the round trip of one map-task claim, as the engine makes it
 * (tools/bench/cluster.sh): the scheduler of mr_schedule.c over tasks that
 * each spin for TASK_US microseconds; a worker's time inside
 * mr__sched_next is its claims' round trips.
 * Usage: bench-claims SCHEDULE NTASKS TASK_US   (dynamic or master)
 * Prints "claims SCHEDULE CLAIMS US_PER_CLAIM": the claims the workers
 * (ranks 1..P-1) made, and their mean round trip. */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_monitor.h"
#include "mr_schedule.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    int provided, rank, P;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    mr_schedule policy;
    if (argc < 3 || mr__sched_parse(argv[1], &policy) != MR_OK || P < 2) {
        if (rank == 0)
            fprintf(stderr, "usage: mpirun -np P>1 bench-claims "
                            "dynamic|master NTASKS\n");
        MPI_Finalize();
        return 2;
    }
    size_t ntasks = (size_t)atol(argv[2]), first, count;
    double task_s = argc > 3 ? atof(argv[3]) * 1e-6 : 0;
    mr_monitor *mon = mr__monitor_start(MPI_COMM_WORLD, 0);
    mr_sched *s = mr__sched_new(policy, ntasks, MPI_COMM_WORLD, mon);
    long claims = 0;
    double in_claims = 0;
    for (;;) {
        double t0 = MPI_Wtime();
        int more = mr__sched_next(s, MR_OK, &first, &count);
        in_claims += MPI_Wtime() - t0;
        claims++; /* the last one, which got no work, was a round trip too */
        if (!more)
            break;
        for (size_t i = 0; i < count; i++) { /* as phase_map runs tasks */
            double end = MPI_Wtime() + task_s;
            while (MPI_Wtime() < end)
                ;
            mr__sched_poll(s);
        }
    }
    mr__sched_free(s);
    mr__monitor_stop(mon);
    long mine[2] = {rank > 0 ? claims : 0}, all[2] = {0};
    double t = rank > 0 ? in_claims : 0, sum = 0;
    MPI_Reduce(mine, all, 1, MPI_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    MPI_Reduce(&t, &sum, 1, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    if (rank == 0)
        printf("claims %s %ld %.1f\n", argv[1], all[0],
               all[0] ? sum / (double)all[0] * 1e6 : 0.0);
    MPI_Finalize();
    return 0;
}
