/* future.c -- a libmr "from the future" (soname libmr.so.1, like the real
 * one), whose mr_job_register_v is of symbol version MR_1.99: bad_newer,
 * linked against it, needs a newer mr than the one that loads it. Never
 * loaded itself: the real libmr is already in the process. */
/* SPDX-License-Identifier: MIT */
#include "mr/mr_job.h"

int mr_job_register_v(mr_registry *reg, const struct mr_job *job,
                      uint32_t abi, size_t size)
{
    (void)reg;
    (void)job;
    (void)abi;
    (void)size;
    return MR_ERROR;
}
