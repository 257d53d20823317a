/* alltoallv.c -- a bare MPI_Alltoallv of BYTES per rank, split evenly over
 * the ranks: the ceiling for the engine's shuffle (tools/bench/engine.sh).
 * Usage: bench-alltoallv BYTES REPS [noself]
 * Prints "alltoallv BYTES SECONDS MB/s-per-rank COLD_SECONDS COLD_MB/s":
 * the best of REPS runs into a receive buffer already touched, and the
 * first run, into fresh memory (as a shuffle receives: its buffer is new,
 * and every 4 KiB page faults on first write). With `noself`, a rank
 * sends itself nothing (its 1/P share is not moved): only the bytes that
 * cross ranks, as the engine's shuffle moves them. MB/s counts all BYTES
 * either way. */
/* SPDX-License-Identifier: MIT */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank, P;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &P);
    long bytes = argc > 1 ? atol(argv[1]) : 64L << 20;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    int noself = argc > 3 && strcmp(argv[3], "noself") == 0;
    int per = (int)(bytes / P);
    char *s = malloc((size_t)per * P), *r = malloc((size_t)per * P);
    memset(s, 'x', (size_t)per * P);
    /* r is not touched before the first run: that one is the cold figure */
    int *cnt = malloc(sizeof(int) * P), *dsp = malloc(sizeof(int) * P);
    for (int i = 0; i < P; i++) {
        cnt[i] = per;
        dsp[i] = i * per;
    }
    if (noself)
        cnt[rank] = 0;
    double best = 1e30, cold = 0;
    for (int k = 0; k <= reps; k++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t = MPI_Wtime();
        MPI_Alltoallv(s, cnt, dsp, MPI_BYTE, r, cnt, dsp, MPI_BYTE,
                      MPI_COMM_WORLD);
        t = MPI_Wtime() - t;
        MPI_Allreduce(MPI_IN_PLACE, &t, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (k == 0)
            cold = t;
        else if (t < best)
            best = t;
    }
    if (rank == 0)
        printf("alltoallv %ld %.4f %.1f %.4f %.1f\n", (long)per * P, best,
               (double)per * P / best / 1e6, cold,
               (double)per * P / cold / 1e6);
    free(s);
    free(r);
    free(cnt);
    free(dsp);
    MPI_Finalize();
    return 0;
}
