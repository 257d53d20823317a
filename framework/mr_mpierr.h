/* mr_mpierr.h -- PRIVATE to the framework: failed MPI calls become mr's own
 * message (mr_mpierr.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_MPIERR_H
#define MR_MPIERR_H

#include <mpi.h>

/* The call being made, for the error handler's message. */
extern _Thread_local const char *mr__mpi_call;
#define MR_MPI(call) (mr__mpi_call = #call, (call))
/* Makes a failed MPI call on comm print mr's message and end the run;
 * returns the handler comm had, for mr__mpi_errors_restore. */
MPI_Errhandler mr__mpi_errors_install(MPI_Comm comm);
void mr__mpi_errors_restore(MPI_Comm comm, MPI_Errhandler old);

#endif /* MR_MPIERR_H */
