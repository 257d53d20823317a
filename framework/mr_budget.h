/* mr_budget.h -- PRIVATE to the framework: the memory budget of a rank
 * (issue 24, out of core) when --memory is not given, and the parser of
 * byte sizes ("64M", "1.5G") that --memory uses.
 *
 * The default comes from the first source that applies:
 *   1. Slurm: SLURM_MEM_PER_CPU (MB) x SLURM_CPUS_PER_TASK (default 1);
 *   2. Slurm: SLURM_MEM_PER_NODE (MB) / local ranks;
 *   3. an address-space limit, getrlimit(RLIMIT_AS) or RLIMIT_DATA when
 *      finite (how SGE enforces h_vmem), minus what is mapped already;
 *      per process, so not divided;
 *   4. the cgroup memory limit (v2 memory.max, the smallest of the
 *      process's cgroup and its ancestors; v1 memory.limit_in_bytes)
 *      / local ranks, when it binds (is below MemAvailable);
 *   5. MemAvailable (/proc/meminfo) / local ranks;
 * then a fraction of it (3/4 of a reserved share, 1/2 of an address-space
 * limit or of memory that nobody reserved for us: see mr_budget.c), at
 * least MR__BUDGET_MIN. Slurm's 0 ("all of the node's memory") does not
 * apply and falls through to the cgroup and MemAvailable.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_BUDGET_H
#define MR_BUDGET_H

#include <stddef.h>
#include <stdint.h>

/* No budget below this: the engine's fixed buffers need some room. */
#define MR__BUDGET_MIN ((uint64_t)16 << 20)

/* The memory budget of one rank when --memory is not given, and where it
 * came from ("Slurm --mem-per-cpu ...", "RLIMIT_AS (SGE h_vmem) ...",
 * "cgroup memory.max ... / 2 local ranks", "MemAvailable ... / 2 local
 * ranks", with the fraction taken) written into why (NUL-terminated, at
 * most whylen bytes; why may be NULL when whylen is 0). local_ranks: the
 * ranks of this run on this node (the engine passes it; values < 1 count
 * as 1). Never fails: with no source at all it returns MR__BUDGET_MIN. */
uint64_t mr__budget_default(int local_ranks, char *why, size_t whylen);

/* The same with /proc and /sys read under root ("" for the real ones), so
 * that tests can give it fake meminfo, status and cgroup files. The
 * environment (getenv) and the rlimits (getrlimit) are the process's. */
uint64_t mr__budget_default_at(const char *root, int local_ranks, char *why,
                               size_t whylen);

/* Parses a size: digits, optionally a fraction ("1.5"), optionally one
 * suffix k/K, m/M, g/G, t/T -- powers of 1024 (KiB, MiB, GiB, TiB), which
 * may be spelt "KiB", "MiB", ... too; "MB" is refused, as it might mean
 * 10^6. "64M", "2G", "512k", "1.5G", "100000" (bytes). A fraction needs a
 * suffix and is rounded down to whole bytes. Nothing else: no sign, no
 * spaces, no exponent. Returns MR_OK with the bytes in *out, or MR_EINVAL
 * (malformed, or more than 2^64 - 1 bytes) leaving *out untouched. */
int mr__size_parse(const char *s, uint64_t *out);

#endif /* MR_BUDGET_H */
