/* mr_schedule.h -- PRIVATE to the framework: who runs which map task
 * (mr_schedule.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_SCHEDULE_H
#define MR_SCHEDULE_H

#include <mpi.h>
#include <stddef.h>

#include "mr/mr.h"
#include "mr_monitor.h"

typedef struct mr_sched mr_sched;
/* Collective over comm. `dynamic` claims through the monitor; without its
 * thread it runs as `master` (rank 0 says so on stderr). */
mr_sched *mr__sched_new(mr_schedule policy, size_t ntasks, MPI_Comm comm,
                        mr_monitor *monitor);
/* Called by rank 0 while it serves under `master` (progress reports). */
void mr__sched_set_idle(mr_sched *s, void (*idle)(void *arg), void *arg);
/* The next range of tasks for this rank: returns 1 and [*first, *first +
 * *count), or 0 when there is no more work for it. `status` is this rank's
 * status so far: a failing rank tells the others to stop handing out work. */
int mr__sched_next(mr_sched *s, int status, size_t *first, size_t *count);
/* After each task: rank 0 answers waiting claims under `dynamic`. */
void mr__sched_poll(mr_sched *s);
/* Collective; frees the scheduler. */
void mr__sched_free(mr_sched *s);
int mr__sched_parse(const char *name, mr_schedule *out);
const char *mr__sched_name(mr_schedule s);

#endif /* MR_SCHEDULE_H */
