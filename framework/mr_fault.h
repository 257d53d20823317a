/* mr_fault.h -- PRIVATE to the framework: failures on purpose, for tests
 * (mr_fault.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_FAULT_H
#define MR_FAULT_H

#include "mr_ctx.h"

/* Testing aid: MR_FAULT=RANK:PHASE:KIND makes the engine fail there. */
int mr__fault_check(mr_ctx *ctx);

#endif /* MR_FAULT_H */
