/* badjobs.c -- plugins that mr-run must refuse, one per BAD_* define.
 *
 *   BAD_ABI        built for ABI major 99
 *   BAD_NOSYM      has no mr_job_<name>_init symbol
 *   BAD_TWICE      registers twice
 *   BAD_NOREG      never registers
 *   BAD_NAME       registers a job whose name is not the file's
 *   BAD_CLASH      declares an option named like an engine option
 *   BAD_MINOR      built for a newer minor version (1.99)
 *   BAD_OLDMINOR   not bad: built for ABI 1.0, with the 1.0 descriptor
 *                  size; must load, its newer fields reading as NULL
 *   BAD_CRASH      crashes (SIGSEGV) in its init function
 *   BAD_NEWER      linked against a newer libmr (future.c): needs symbol
 *                  version MR_1.99
 */
/* SPDX-License-Identifier: MIT */
#include <mr/mr_job.h>
#include <signal.h>

static int noop_map(mr_ctx *ctx, mr_bytes task)
{
    (void)ctx;
    (void)task;
    return MR_OK;
}

static const mr_option clash_opts[] = {
    {"schedule", MR_OPT_STRING, NULL, "clashes"},
    {NULL, 0, NULL, NULL},
};

static const struct mr_job job = {
    .name = BAD_NAME_STR,
    .summary = "a plugin that must be refused",
    .map = noop_map,
#ifdef BAD_CLASH
    .options = clash_opts,
#endif
};

#define PLUGIN(n) MR_JOB_PLUGIN(n)
#ifdef BAD_NOSYM
MR_PUBLIC int something_else(mr_registry *reg);
int something_else(mr_registry *reg)
#else
PLUGIN(BAD_FILE)
#endif
{
    (void)clash_opts;
#if defined(BAD_ABI)
    return mr_job_register_v(reg, &job, (uint32_t)99 << 16, sizeof job);
#elif defined(BAD_MINOR)
    return mr_job_register_v(reg, &job, (uint32_t)1 << 16 | 99, sizeof job);
#elif defined(BAD_OLDMINOR)
    /* What a 1.0 job passed: the struct ended after teardown. Poison the
     * newer field in our copy to prove the host does not read past size. */
    struct mr_job old = job;
    old.reduce_end = (mr_finish_fn *)(void (*)(void))1;
    return mr_job_register_v(reg, &old, (uint32_t)1 << 16 | 0,
                             offsetof(struct mr_job, reduce_end));
#elif defined(BAD_TWICE)
    mr_job_register(reg, &job);
    return mr_job_register(reg, &job);
#elif defined(BAD_CRASH)
    raise(SIGSEGV);
    return mr_job_register(reg, &job);
#elif defined(BAD_NOREG)
    (void)reg;
    return MR_OK;
#else
    return mr_job_register(reg, &job);
#endif
}
