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
/* The rank's peak resident bytes since the last call (VmHWM), and resets
 * the peak to the current size (/proc/self/clear_refs), so that each
 * phase's peak is its own. 0 where /proc says nothing. */
uint64_t mr__mem_peak_reset(void);

#endif /* MR_MEM_H */
