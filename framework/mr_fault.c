/* mr_fault.c -- fault injection for the robustness tests.
 *
 * MR_FAULT=RANK:PHASE:KIND makes rank RANK fail when it enters PHASE
 * (setup, split, map, combine, shuffle, reduce, output), as KIND:
 *   error  an mr_error, as a job's callback would report
 *   abort  abort(), as a crashing plugin
 *   exit   exit(0), as a plugin that quits the process (even "success")
 *   segv   a segmentation fault
 *   mpi    a failing MPI call (a send to a rank that does not exist), as
 *          a broken link would make one fail
 * It reaches phases no job callback runs in (shuffle), so the tests can
 * show that a failure anywhere ends every rank. Unset, it costs one
 * getenv per phase.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_fault.h"
#include "mr_mpierr.h"
#include "mr_signal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

int mr__fault_check(mr_ctx *ctx)
{
    const char *spec = getenv("MR_FAULT");
    int rank;
    char phase[16], kind[16];
    if (!spec || sscanf(spec, "%d:%15[a-z]:%15[a-z]", &rank, phase, kind) != 3)
        return MR_OK;
    if (rank != ctx->rank || strcmp(phase, mr__phase_names[ctx->phase]) != 0)
        return MR_OK;
    if (strcmp(kind, "abort") == 0)
        abort();
    if (strcmp(kind, "exit") == 0)
        exit(0);
    if (strcmp(kind, "segv") == 0)
        raise(SIGSEGV);
    if (strcmp(kind, "mpi") == 0) {
        int byte = 0;
        MR_MPI(MPI_Send(&byte, 1, MPI_INT, ctx->nranks + 7, 0, ctx->comm));
    }
    return mr_error(ctx, MR_ERROR, "injected fault (MR_FAULT=%s)", spec);
}
