/* mr_mpierr.c -- a failed MPI call becomes mr's own message, then the end.
 *
 * The engine installs this handler on the run's communicator for the run
 * (communicators duplicated from it inherit it). Every MPI call of the engine goes through MR_MPI(),
 * which notes the call's name in a thread-local pointer first, so the
 * handler can say which call failed, on which rank and host, in which
 * phase, and what usually causes it. The state of MPI after a failure is
 * undefined, so the handler removes the unfinished outputs and aborts the
 * whole run, as Open MPI's default handler would, but after saying why.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_mpierr.h"
#include "mr_outfile.h"
#include "mr_signal.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

_Thread_local const char *mr__mpi_call;

/* The remedy for the usual causes, by error class. */
static const char *remedy(int cls)
{
    switch (cls) {
    case MPI_ERR_WIN:
    case MPI_ERR_RMA_SYNC:
    case MPI_ERR_RMA_RANGE:
    case MPI_ERR_RMA_CONFLICT:
        return "one-sided MPI is not available here (Open MPI: the 'osc' "
               "setting)";
    case MPI_ERR_NO_MEM:
        return "MPI ran out of memory: fewer ranks per node, or a smaller "
               "--shuffle-round";
    case MPI_ERR_TRUNCATE:
    case MPI_ERR_COUNT:
    case MPI_ERR_TYPE:
    case MPI_ERR_ARG:
    case MPI_ERR_RANK:
    case MPI_ERR_TAG:
    case MPI_ERR_COMM:
    case MPI_ERR_BUFFER:
        return "this is a bug in mr: please report it with the command line";
    default:
        return "another rank or its host has probably failed or become "
               "unreachable (see the messages above); across hosts, check "
               "that they reach each other on the network MPI uses (Open "
               "MPI: btl_tcp_if_include, oob_tcp_if_include)";
    }
}

static void on_error(MPI_Comm *comm, int *code, ...)
{
    (void)comm;
    char err[MPI_MAX_ERROR_STRING] = "";
    int len = 0, cls = MPI_ERR_OTHER, rank = -1;
    MPI_Error_string(*code, err, &len);
    MPI_Error_class(*code, &cls);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    /* "MPI_Allreduce(&rc, ...)" -> "MPI_Allreduce" */
    const char *call = mr__mpi_call ? mr__mpi_call : "an MPI call";
    int clen = (int)strcspn(call, "(");
    char *where = mr__signal_where_text();
    fprintf(stderr, "%s%.*s failed: %s\nmr-run: rank %d: %s\n",
            where ? where : "mr-run: ", clen, call, err, rank, remedy(cls));
    fflush(stderr);
    g_free(where);
    mr__out_fail();
    MPI_Abort(MPI_COMM_WORLD, 1);
    _exit(1);
}

MPI_Errhandler mr__mpi_errors_install(MPI_Comm comm)
{
    MPI_Errhandler h, old;
    MPI_Comm_get_errhandler(comm, &old);
    MPI_Comm_create_errhandler(on_error, &h);
    MPI_Comm_set_errhandler(comm, h);
    MPI_Errhandler_free(&h);
    return old;
}

void mr__mpi_errors_restore(MPI_Comm comm, MPI_Errhandler old)
{
    MPI_Comm_set_errhandler(comm, old);
    MPI_Errhandler_free(&old);
}
