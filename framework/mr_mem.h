/* mr_mem.h -- PRIVATE to the framework: the --mem-limit guard (mr_mem.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_MEM_H
#define MR_MEM_H

#include <stdint.h>

#include "mr_ctx.h"

/* With --mem-limit: MR_OK if the rank's resident size plus `extra` bytes
 * about to be allocated for `what` stays under the limit; else an
 * mr_error saying how much was needed. */
int mr__mem_check(mr_ctx *ctx, uint64_t extra, const char *what);
/* The rank's peak resident bytes so far (VmHWM); 0 where /proc says
 * nothing. Never reset (/proc/self/clear_refs would make /usr/bin/time's
 * and the batch system's figure of the whole run only the last part's). */
uint64_t mr__mem_peak(void);

#endif /* MR_MEM_H */
