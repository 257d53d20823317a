/* mr_progress.h -- PRIVATE to the framework: the progress line
 * (mr_progress.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_PROGRESS_H
#define MR_PROGRESS_H

#include <stdint.h>

#include "mr_ctx.h"

/* Collective. */
mr_progress *mr__progress_new(mr_ctx *ctx);
void mr__progress_tick(mr_progress *p, mr_ctx *ctx, uint64_t done);
/* Collective. */
void mr__progress_free(mr_progress *p, mr_ctx *ctx, uint64_t done);

#endif /* MR_PROGRESS_H */
