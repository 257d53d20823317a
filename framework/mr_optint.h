/* mr_optint.h -- PRIVATE to the framework: the option set as the engine sees
 * it (mr_opt.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_OPTINT_H
#define MR_OPTINT_H

#include "mr/mr.h"
#include "mr/mr_job.h"

int mr__optset_argc(const mr_optset *opts);
const char *const *mr__optset_argv(const mr_optset *opts);
/* 1 and the name if a job option has the name of an engine option. */
int mr__opt_engine_clash(const mr_option *table, const char **name);

#endif /* MR_OPTINT_H */
