/* mr_monitor.h -- PRIVATE to the framework: the thread beside the engine
 * (mr_monitor.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_MONITOR_H
#define MR_MONITOR_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mr_monitor mr_monitor;

/* Heartbeats (--stall-timeout), progress counts and dynamic claims over
 * point-to-point messages; see the file's head comment. */
/* Collective; stall_timeout 0: no stall detection. */
mr_monitor *mr__monitor_start(MPI_Comm comm, double stall_timeout);
/* Collective. */
void mr__monitor_stop(mr_monitor *m);
/* 0 without MPI_THREAD_MULTIPLE (or at one rank): no thread, no claims. */
int mr__monitor_threaded(const mr_monitor *m);
/* Rank 0, threaded: the thread calls fn(arg) every `every` seconds until
 * fn is NULL again (set and cleared by the main thread). */
void mr__monitor_set_report(mr_monitor *m, void (*fn)(void *arg), void *arg,
                            double every);
void mr__monitor_set_counts(mr_monitor *m, uint64_t done, uint64_t bytes);
/* Rank 0: the sum over every rank of the last counts heard; others: own. */
void mr__monitor_counts(mr_monitor *m, uint64_t *done, uint64_t *bytes);
/* Rank 0, before the map's barrier: claims start from task 0 of ntasks. */
void mr__monitor_claims_begin(mr_monitor *m, size_t ntasks);
void mr__monitor_claims_end(mr_monitor *m);
/* Rank 0: answers the claims that have arrived (between its own tasks, so
 * that short tasks do not wait for the thread's next poll). */
void mr__monitor_serve(mr_monitor *m);
/* A guided chunk of tasks, as mr__sched_next returns them. */
int mr__monitor_claim(mr_monitor *m, int status, size_t *first,
                      size_t *count);

#endif /* MR_MONITOR_H */
