/* mr_budget.c -- the default memory budget of a rank (issue 24), and the
 * size parser of --memory.
 *
 * The budget is what the engine's own buffers may hold before they spill;
 * the rank also holds MPI's buffers (shared-memory segments, eager
 * receives), the job's own allocations, libraries and heap fragmentation,
 * so the budget is a fraction of what a source gives:
 *   3/4 of a share reserved for us (Slurm's request, a cgroup limit): the
 *       quarter left is for everything above;
 *   1/2 of an address-space limit (RLIMIT_AS/RLIMIT_DATA, SGE's h_vmem),
 *       after what is mapped already: virtual size runs well ahead of
 *       resident (glibc reserves 64 MiB arenas per thread, buffers that
 *       grow by doubling map old and new at once);
 *   1/2 of MemAvailable: nobody reserved it, other jobs on a shared node
 *       can take it while we run.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_budget.h"

#include <mr/mr_job.h>

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define MIB ((uint64_t)1 << 20)

/* ---------------- sizes ---------------- */

int mr__size_parse(const char *s, uint64_t *out)
{
    if (!s)
        return MR_EINVAL;
    const char *p = s;
    uint64_t whole = 0;
    if (*p < '0' || *p > '9')
        return MR_EINVAL; /* empty, sign, space, "G", ".5" */
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (whole > (UINT64_MAX - d) / 10)
            return MR_EINVAL;
        whole = whole * 10 + d;
    }
    /* The fraction as frac / scale; digits past 18 are below a byte even
     * in TiB (2^40 / 10^18), so they are read and dropped. */
    uint64_t frac = 0, scale = 1;
    int has_frac = 0;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return MR_EINVAL; /* "1.", "1.G" */
        for (; *p >= '0' && *p <= '9'; p++) {
            if (scale < 1000000000000000000ull) {
                frac = frac * 10 + (uint64_t)(*p - '0');
                scale *= 10;
            }
        }
        has_frac = 1;
    }
    unsigned shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    case 't': case 'T': shift = 40; break;
    case '\0': break;
    default: return MR_EINVAL;
    }
    if (shift) {
        p++;
        if (p[0] == 'i' && p[1] == 'B')
            p += 2; /* "MiB": the same power of 1024, spelt out */
    }
    if (*p != '\0')
        return MR_EINVAL; /* "1.5.5M", "64MB", "1 G" */
    if (has_frac && !shift)
        return MR_EINVAL; /* "1.5" bytes: surely a mistake */
    uint64_t mul = (uint64_t)1 << shift;
    /* 128-bit: frac < 10^18 times mul <= 2^40 does not fit 64 bits. */
    uint64_t part = (uint64_t)((unsigned __int128)frac * mul / scale);
    if (whole > (UINT64_MAX - part) / mul)
        return MR_EINVAL; /* "99999999T" */
    *out = whole * mul + part;
    return MR_OK;
}

/* ---------------- small helpers ---------------- */

/* A human size for the why text: "1.5 GiB", "768.0 MiB". */
static void human(uint64_t b, char *buf, size_t len)
{
    if (b >= ((uint64_t)1 << 30))
        snprintf(buf, len, "%.1f GiB", (double)b / (double)((uint64_t)1 << 30));
    else
        snprintf(buf, len, "%.1f MiB", (double)b / (double)MIB);
}

/* x * num / den without overflowing for x near 2^64. */
static uint64_t fraction(uint64_t x, unsigned num, unsigned den)
{
    return x / den * num + x % den * num / den;
}

/* A decimal environment variable > 0; 0 when unset, malformed or 0. */
static uint64_t env_u64(const char *name)
{
    const char *s = getenv(name);
    if (!s || *s < '0' || *s > '9')
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0' || errno == ERANGE)
        return 0;
    return (uint64_t)v;
}

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* The file root/rel read whole (small files only: /proc, /sys), or NULL. */
static char *slurp(const char *root, const char *rel)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s", root, rel) >= (int)sizeof path)
        return NULL;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - 1 - n, f);
        if (n < cap - 1 || ferror(f))
            break;
        char *more = realloc(buf, cap * 2);
        if (!more) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = more;
        cap *= 2;
    }
    fclose(f);
    if (buf)
        buf[n] = '\0';
    return buf;
}

/* The "Key:   123 kB" field of /proc/meminfo or /proc/self/status in
 * bytes; 0 if absent. */
static uint64_t kb_field(const char *text, const char *key)
{
    size_t klen = strlen(key);
    for (const char *l = text; *l;) {
        if (strncmp(l, key, klen) == 0 && l[klen] == ':') {
            unsigned long long kb;
            if (sscanf(l + klen + 1, "%llu", &kb) == 1)
                return mul_sat(kb, 1024);
        }
        const char *nl = strchr(l, '\n');
        if (!nl)
            break;
        l = nl + 1;
    }
    return 0;
}

/* ---------------- the sources ---------------- */

/* A cgroup limit file's value: 0 for none ("max", the v1 "unlimited"
 * 2^63 - 4096 and anything near it, unreadable). */
static uint64_t cg_value(const char *root, const char *rel)
{
    char *t = slurp(root, rel);
    if (!t)
        return 0;
    uint64_t v = 0;
    unsigned long long x;
    if (strncmp(t, "max", 3) != 0 && sscanf(t, "%llu", &x) == 1 &&
        x < ((uint64_t)1 << 62))
        v = x;
    free(t);
    return v;
}

/* The smallest limit in file `name` over the cgroup `cg` (a path in the
 * hierarchy mounted at `mount`) and its ancestors: a job's limit is often
 * set on a parent (Slurm's job level above the step and task). 0: none.
 * The binding file goes to where. */
static uint64_t cg_walk(const char *root, const char *mount, const char *cg,
                        const char *name, char *where, size_t wlen)
{
    char path[PATH_MAX];
    uint64_t best = 0;
    if (snprintf(path, sizeof path, "%s", cg) >= (int)sizeof path)
        return 0;
    for (;;) {
        size_t n = strlen(path);
        while (n > 0 && path[n - 1] == '/')
            path[--n] = '\0';
        char rel[PATH_MAX];
        if (snprintf(rel, sizeof rel, "%s%s/%s", mount, path, name) < (int)sizeof rel) {
            uint64_t v = cg_value(root, rel);
            if (v && (!best || v < best)) {
                best = v;
                snprintf(where, wlen, "%s", rel);
            }
        }
        char *slash = strrchr(path, '/');
        if (!slash || n == 0)
            break;
        *slash = '\0';
    }
    return best;
}

/* The memory limit of this process's cgroup: v2 memory.max, or v1
 * memory.limit_in_bytes (the memory controller's own hierarchy); the
 * smaller if both. 0: none. */
static uint64_t cgroup_limit(const char *root, char *where, size_t wlen)
{
    char *t = slurp(root, "/proc/self/cgroup");
    if (!t)
        return 0;
    uint64_t best = 0;
    char *save = NULL;
    for (char *line = strtok_r(t, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        /* "ID:CONTROLLERS:PATH"; v2 is "0::PATH". */
        char *c1 = strchr(line, ':');
        char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = '\0';
        const char *ctl = c1 + 1, *cg = c2 + 1;
        uint64_t v = 0;
        char w[PATH_MAX] = "";
        if (*ctl == '\0') {
            v = cg_walk(root, "/sys/fs/cgroup", cg, "memory.max", w, sizeof w);
        } else {
            /* controllers are comma-separated: "memory" alone or joined */
            char ctls[256];
            snprintf(ctls, sizeof ctls, ",%s,", ctl);
            if (strstr(ctls, ",memory,"))
                v = cg_walk(root, "/sys/fs/cgroup/memory", cg,
                            "memory.limit_in_bytes", w, sizeof w);
        }
        if (v && (!best || v < best)) {
            best = v;
            snprintf(where, wlen, "%s", w);
        }
    }
    free(t);
    return best;
}

/* MemAvailable in bytes (kernels before 3.14 lack it: MemFree + Buffers
 * + Cached, near enough). 0: unknown. */
static uint64_t mem_available(const char *root)
{
    char *t = slurp(root, "/proc/meminfo");
    if (!t)
        return 0;
    uint64_t v = kb_field(t, "MemAvailable");
    if (!v)
        v = kb_field(t, "MemFree") + kb_field(t, "Buffers") + kb_field(t, "Cached");
    free(t);
    return v;
}

/* The room left under a finite RLIMIT_AS or RLIMIT_DATA, whichever is
 * smaller: the limit less what already counts against it (VmSize for
 * AS; VmData, the private writable mappings, for DATA since Linux 4.7).
 * Returns 0 with no finite limit; *limit, *used and *which describe the
 * binding one. A limit already used up leaves 1 byte, not 0. */
static uint64_t rlimit_room(const char *root, uint64_t *limit, uint64_t *used,
                            const char **which)
{
    static const struct {
        int res;
        const char *name, *field;
    } lims[] = {{RLIMIT_AS, "RLIMIT_AS", "VmSize"},
                {RLIMIT_DATA, "RLIMIT_DATA", "VmData"}};
    char *status = slurp(root, "/proc/self/status");
    uint64_t best = 0;
    for (size_t i = 0; i < sizeof lims / sizeof lims[0]; i++) {
        struct rlimit rl;
        if (getrlimit(lims[i].res, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
            continue;
        uint64_t lim = (uint64_t)rl.rlim_cur;
        uint64_t u = status ? kb_field(status, lims[i].field) : 0;
        uint64_t room = lim > u ? lim - u : 1;
        if (!best || room < best) {
            best = room;
            *limit = lim;
            *used = u;
            *which = lims[i].name;
        }
    }
    free(status);
    return best;
}

/* ---------------- the default ---------------- */

uint64_t mr__budget_default_at(const char *root, int local_ranks, char *why,
                               size_t whylen)
{
    char text[PATH_MAX + 256] = "";
    char a[32], b[32];
    uint64_t budget = 0;
    uint64_t ranks = local_ranks > 0 ? (uint64_t)local_ranks : 1;
    if (!root)
        root = "";

    uint64_t per_cpu = env_u64("SLURM_MEM_PER_CPU");
    uint64_t per_node = env_u64("SLURM_MEM_PER_NODE");
    uint64_t lim = 0, used = 0;
    const char *which = NULL;
    uint64_t room;
    if (per_cpu) {
        uint64_t cpus = env_u64("SLURM_CPUS_PER_TASK");
        if (!cpus)
            cpus = 1;
        uint64_t share = mul_sat(mul_sat(per_cpu, MIB), cpus);
        budget = fraction(share, 3, 4);
        snprintf(text, sizeof text,
                 "Slurm --mem-per-cpu: SLURM_MEM_PER_CPU=%" PRIu64
                 " MB x %" PRIu64 " CPUs per task, 3/4 of it",
                 per_cpu, cpus);
    } else if (per_node) {
        uint64_t share = mul_sat(per_node, MIB) / ranks;
        budget = fraction(share, 3, 4);
        snprintf(text, sizeof text,
                 "Slurm --mem: SLURM_MEM_PER_NODE=%" PRIu64
                 " MB / %" PRIu64 " local ranks, 3/4 of it",
                 per_node, ranks);
    } else if ((room = rlimit_room(root, &lim, &used, &which)) != 0) {
        /* per process: the whole of it is this rank's */
        budget = room / 2;
        human(lim, a, sizeof a);
        human(used, b, sizeof b);
        const char *sched = getenv("SGE_ROOT") && getenv("JOB_ID")
                                ? "SGE h_vmem" : "ulimit";
        snprintf(text, sizeof text,
                 "%s: %s %s less %s already mapped, 1/2 of it (virtual "
                 "size exceeds resident)", sched, which, a, b);
    } else {
        char where[PATH_MAX] = "";
        uint64_t cg = cgroup_limit(root, where, sizeof where);
        uint64_t avail = mem_available(root);
        uint64_t cg_budget = fraction(cg / ranks, 3, 4);
        uint64_t av_budget = fraction(avail / ranks, 1, 2);
        /* A cgroup limit above what the node has free does not bind. */
        if (cg && (!avail || cg_budget <= av_budget)) {
            budget = cg_budget;
            human(cg, a, sizeof a);
            snprintf(text, sizeof text,
                     "cgroup %s %s / %" PRIu64 " local ranks, 3/4 of it",
                     where, a, ranks);
        } else if (avail) {
            budget = av_budget;
            human(avail, a, sizeof a);
            snprintf(text, sizeof text,
                     "MemAvailable %s / %" PRIu64 " local ranks, 1/2 of it%s",
                     a, ranks, cg ? " (below the cgroup limit)" : "");
        } else {
            snprintf(text, sizeof text, "no source (no Slurm, rlimit, "
                                        "cgroup limit or /proc/meminfo)");
        }
    }
    if (budget < MR__BUDGET_MIN) {
        budget = MR__BUDGET_MIN;
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n, "%sraised to the 16 MiB floor",
                 n ? "; " : "");
    }
    if (why && whylen)
        snprintf(why, whylen, "%s", text);
    return budget;
}

uint64_t mr__budget_default(int local_ranks, char *why, size_t whylen)
{
    return mr__budget_default_at("", local_ranks, why, whylen);
}
