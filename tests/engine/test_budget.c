/* test_budget.c -- the default memory budget (each source, their order)
 * and the size parser of --memory.
 *
 * The environment and the rlimits are this process's own (set here and
 * restored after each test); /proc and /sys are fake files under a
 * temporary folder given to mr__budget_default_at.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "mr_budget.h"
#include "mr_test.h"

#include <mr/mr_job.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#define KIB ((uint64_t)1 << 10)
#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

/* ---------------- mr__size_parse ---------------- */

static void accepts(const char *s, uint64_t want)
{
    uint64_t v = 12345;
    int rc = mr__size_parse(s, &v);
    CU_ASSERT_EQUAL(rc, MR_OK);
    CU_ASSERT_EQUAL(v, want);
    if (rc != MR_OK || v != want)
        fprintf(stderr, "\n  \"%s\": rc %d, %llu, want %llu\n", s, rc,
                (unsigned long long)v, (unsigned long long)want);
}

static void refuses(const char *s)
{
    uint64_t v = 12345;
    int rc = mr__size_parse(s, &v);
    CU_ASSERT_EQUAL(rc, MR_EINVAL);
    CU_ASSERT_EQUAL(v, 12345); /* untouched */
    if (rc != MR_EINVAL)
        fprintf(stderr, "\n  \"%s\" accepted: %llu\n", s ? s : "(null)",
                (unsigned long long)v);
}

static void test_size_accepted(void)
{
    accepts("100000", 100000);
    accepts("0", 0);
    accepts("512k", 512 * KIB);
    accepts("512K", 512 * KIB);
    accepts("64M", 64 * MIB);
    accepts("64m", 64 * MIB);
    accepts("2G", 2 * GIB);
    accepts("1T", 1024 * GIB);
    accepts("1.5G", 3 * GIB / 2);
    accepts("0.5k", 512);
    accepts("1.1k", 1126); /* 1126.4, rounded down */
    accepts("64MiB", 64 * MIB);
    accepts("2GiB", 2 * GIB);
    accepts("007M", 7 * MIB);
    accepts("1.0000000000000000000000001G", GIB); /* long fractions */
    accepts("18446744073709551615", UINT64_MAX);
    accepts("16777215T", UINT64_MAX - ((uint64_t)1 << 40) + 1);
}

static void test_size_refused(void)
{
    refuses(NULL);
    refuses("");
    refuses("G");
    refuses("-1");
    refuses("+1");
    refuses(" 1");
    refuses("1 ");
    refuses("1 G");
    refuses("1.5.5M");
    refuses("99999999T");
    refuses("16777216T");            /* 2^64 */
    refuses("18446744073709551616"); /* 2^64 */
    refuses("1.5");                  /* fraction of a byte */
    refuses("1.");
    refuses("1.G");
    refuses(".5G");
    refuses("64MB"); /* 10^6 or 2^20? */
    refuses("64Mi");
    refuses("1GG");
    refuses("1e6");
    refuses("0x10");
    refuses("12Q");
}

/* ---------------- a fake /proc and /sys ---------------- */

static char root[64];
static struct rlimit saved_as, saved_data;
static int rlimits_clear; /* could the test lift the process's rlimits? */

static const char *const env_vars[] = {
    "SLURM_MEM_PER_CPU", "SLURM_MEM_PER_NODE", "SLURM_CPUS_PER_TASK",
    "SGE_ROOT", "JOB_ID", NULL,
};

/* Writes root/rel, making its folders. */
static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", root, rel);
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static int rm_one(const char *p, const struct stat *st, int flag,
                  struct FTW *ftw)
{
    return remove(p);
}

static int suite_init(void)
{
    getrlimit(RLIMIT_AS, &saved_as);
    getrlimit(RLIMIT_DATA, &saved_data);
    return 0;
}

/* Each test starts with no Slurm or SGE variables, no finite rlimit (when
 * the hard limit allows: under an SGE h_vmem it does not) and an empty
 * fake root. */
static void setup(void)
{
    for (int i = 0; env_vars[i]; i++)
        unsetenv(env_vars[i]);
    struct rlimit inf = {RLIM_INFINITY, RLIM_INFINITY};
    rlimits_clear = setrlimit(RLIMIT_AS, &inf) == 0 &&
                    setrlimit(RLIMIT_DATA, &inf) == 0;
    snprintf(root, sizeof root, "/tmp/mr-test-budget.XXXXXX");
    if (!mkdtemp(root))
        root[0] = '\0';
}

static void teardown(void)
{
    setrlimit(RLIMIT_AS, &saved_as);
    setrlimit(RLIMIT_DATA, &saved_data);
    if (root[0])
        nftw(root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The budget from the fake root and its why text. */
static char why[512];
static uint64_t budget(int ranks)
{
    why[0] = 'x';
    why[1] = '\0';
    return mr__budget_default_at(root, ranks, why, sizeof why);
}

#define WHY_HAS(s)                                                            \
    do {                                                                      \
        CU_ASSERT_PTR_NOT_NULL(strstr(why, s));                               \
        if (!strstr(why, s))                                                  \
            fprintf(stderr, "\n  why \"%s\" lacks \"%s\"\n", why, s);         \
    } while (0)

/* This process's own VmSize or VmData, in bytes. */
static uint64_t own_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    unsigned long long kb = 0;
    size_t n = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, key, n) == 0 && line[n] == ':')
            sscanf(line + n + 1, "%llu", &kb);
    if (f)
        fclose(f);
    return kb * KIB;
}

/* A soft limit this process can live under (a sanitizer's shadow memory
 * makes VmSize terabytes): what it uses now plus room, at least `least`. */
static uint64_t livable(const char *key, uint64_t least)
{
    uint64_t l = own_kb(key) + 4 * GIB;
    return l > least ? l : least;
}

static int set_soft(int res, uint64_t v)
{
    struct rlimit rl;
    getrlimit(res, &rl);
    rl.rlim_cur = (rlim_t)v;
    return setrlimit(res, &rl);
}

/* ---------------- each source ---------------- */

static void test_meminfo(void)
{
    put("proc/meminfo", "MemTotal:       16777216 kB\n"
                        "MemFree:         1048576 kB\n"
                        "MemAvailable:    8388608 kB\n");
    if (!rlimits_clear)
        return; /* an rlimit we cannot lift comes first */
    CU_ASSERT_EQUAL(budget(2), 2 * GIB); /* 8 GiB / 2 ranks, 1/2 */
    WHY_HAS("MemAvailable 8.0 GiB / 2 local ranks, 1/2 of it");
    CU_ASSERT_EQUAL(budget(1), 4 * GIB);
    CU_ASSERT_EQUAL(budget(0), 4 * GIB); /* < 1 counts as 1 */
}

static void test_meminfo_old_kernel(void)
{
    put("proc/meminfo", "MemTotal:       16777216 kB\n"
                        "MemFree:         1048576 kB\n"
                        "Buffers:          524288 kB\n"
                        "Cached:          2621440 kB\n");
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(1), 2 * GIB); /* (1 + 0.5 + 2.5) GiB, 1/2 */
    WHY_HAS("MemAvailable");
}

static void test_cgroup_v2(void)
{
    put("proc/meminfo", "MemAvailable:   67108864 kB\n"); /* 64 GiB */
    put("proc/self/cgroup", "0::/job_7/step_0/task_1\n");
    /* the limit sits on the job; the step and task say "max" */
    put("sys/fs/cgroup/job_7/memory.max", "4294967296\n");
    put("sys/fs/cgroup/job_7/step_0/memory.max", "max\n");
    put("sys/fs/cgroup/job_7/step_0/task_1/memory.max", "max\n");
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(2), 3 * GIB / 2); /* 4 GiB / 2, 3/4 */
    WHY_HAS("cgroup /sys/fs/cgroup/job_7/memory.max 4.0 GiB / 2 local ranks, 3/4 of it");
    /* a smaller limit further down binds instead */
    put("sys/fs/cgroup/job_7/step_0/memory.max", "2147483648\n");
    CU_ASSERT_EQUAL(budget(2), 3 * GIB / 4);
    WHY_HAS("step_0/memory.max 2.0 GiB");
}

static void test_cgroup_v2_unlimited(void)
{
    put("proc/meminfo", "MemAvailable:   8388608 kB\n");
    put("proc/self/cgroup", "0::/user.slice\n");
    put("sys/fs/cgroup/user.slice/memory.max", "max\n");
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(1), 4 * GIB);
    WHY_HAS("MemAvailable");
}

static void test_cgroup_above_available(void)
{
    /* a 64 GiB container limit on a node with 8 GiB free does not bind */
    put("proc/meminfo", "MemAvailable:   8388608 kB\n");
    put("proc/self/cgroup", "0::/\n");
    put("sys/fs/cgroup/memory.max", "68719476736\n");
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(2), 2 * GIB);
    WHY_HAS("MemAvailable 8.0 GiB / 2 local ranks, 1/2 of it (below the cgroup limit)");
}

static void test_cgroup_v1(void)
{
    put("proc/meminfo", "MemAvailable:   67108864 kB\n");
    put("proc/self/cgroup", "5:cpu,cpuacct:/slurm/uid_0/job_9\n"
                            "4:cpuacct,memory:/slurm/uid_0/job_9\n"
                            "1:name=systemd:/\n");
    put("sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    put("sys/fs/cgroup/memory/slurm/uid_0/job_9/memory.limit_in_bytes",
        "8589934592\n");
    /* a cpu hierarchy's files are not memory limits */
    put("sys/fs/cgroup/cpu,cpuacct/slurm/uid_0/job_9/memory.limit_in_bytes",
        "1048576\n");
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(4), 3 * GIB / 2); /* 8 GiB / 4, 3/4 */
    WHY_HAS("cgroup /sys/fs/cgroup/memory/slurm/uid_0/job_9/memory.limit_in_bytes 8.0 GiB / 4 local ranks");
}

static void test_rlimit_as(void)
{
    put("proc/meminfo", "MemAvailable:   67108864 kB\n");
    put("proc/self/status", "Name:\ttest\nVmSize:\t 1048576 kB\nVmData:\t  65536 kB\n");
    uint64_t lim = livable("VmSize", 16 * GIB);
    if (!rlimits_clear || set_soft(RLIMIT_AS, lim) != 0) {
        CU_FAIL("cannot set RLIMIT_AS");
        return;
    }
    /* the fake VmSize (1 GiB) is mapped already; half of the rest */
    CU_ASSERT_EQUAL(budget(2), (lim - GIB) / 2);
    WHY_HAS("ulimit: RLIMIT_AS");
    WHY_HAS("less 1.0 GiB already mapped, 1/2 of it");
    /* per process: the number of local ranks does not divide it */
    CU_ASSERT_EQUAL(budget(8), (lim - GIB) / 2);
    /* under SGE, h_vmem is where it came from */
    setenv("SGE_ROOT", "/opt/sge", 1);
    setenv("JOB_ID", "42", 1);
    CU_ASSERT_EQUAL(budget(2), (lim - GIB) / 2);
    WHY_HAS("SGE h_vmem: RLIMIT_AS");
}

static void test_rlimit_data(void)
{
    put("proc/self/status", "VmSize:\t 4194304 kB\nVmData:\t  524288 kB\n");
    uint64_t lim = livable("VmData", 8 * GIB);
    if (!rlimits_clear || set_soft(RLIMIT_DATA, lim) != 0) {
        CU_FAIL("cannot set RLIMIT_DATA");
        return;
    }
    CU_ASSERT_EQUAL(budget(1), (lim - GIB / 2) / 2);
    WHY_HAS("RLIMIT_DATA");
    /* with both, the one with less room binds */
    uint64_t as = livable("VmSize", 16 * GIB) + lim;
    CU_ASSERT_EQUAL_FATAL(set_soft(RLIMIT_AS, as), 0);
    CU_ASSERT_EQUAL(budget(1), (lim - GIB / 2) / 2);
    WHY_HAS("RLIMIT_DATA");
}

static void test_rlimit_used_up(void)
{
    /* already past the limit (fake VmSize): the floor, not 0 or a wrap */
    uint64_t lim = livable("VmSize", 16 * GIB);
    char status[128];
    snprintf(status, sizeof status, "VmSize:\t%llu kB\n",
             (unsigned long long)((lim + GIB) / KIB));
    put("proc/self/status", status);
    if (!rlimits_clear || set_soft(RLIMIT_AS, lim) != 0) {
        CU_FAIL("cannot set RLIMIT_AS");
        return;
    }
    CU_ASSERT_EQUAL(budget(1), MR__BUDGET_MIN);
    WHY_HAS("RLIMIT_AS");
    WHY_HAS("raised to the 16 MiB floor");
}

static void test_slurm_per_cpu(void)
{
    setenv("SLURM_MEM_PER_CPU", "2048", 1);
    CU_ASSERT_EQUAL(budget(4), 3 * GIB / 2); /* 2 GiB x 1 CPU, 3/4 */
    WHY_HAS("Slurm --mem-per-cpu: SLURM_MEM_PER_CPU=2048 MB x 1 CPUs per task, 3/4 of it");
    setenv("SLURM_CPUS_PER_TASK", "2", 1);
    CU_ASSERT_EQUAL(budget(4), 3 * GIB); /* per task: not divided by ranks */
    WHY_HAS("x 2 CPUs per task");
}

static void test_slurm_per_node(void)
{
    setenv("SLURM_MEM_PER_NODE", "8192", 1);
    CU_ASSERT_EQUAL(budget(4), 3 * GIB / 2); /* 8 GiB / 4, 3/4 */
    WHY_HAS("Slurm --mem: SLURM_MEM_PER_NODE=8192 MB / 4 local ranks, 3/4 of it");
}

static void test_slurm_unusable(void)
{
    /* --mem=0 is "all of the node's memory"; junk is ignored: both fall
     * through to the next source */
    put("proc/meminfo", "MemAvailable:   8388608 kB\n");
    if (!rlimits_clear)
        return;
    setenv("SLURM_MEM_PER_NODE", "0", 1);
    setenv("SLURM_MEM_PER_CPU", "4G", 1);
    CU_ASSERT_EQUAL(budget(1), 4 * GIB);
    WHY_HAS("MemAvailable");
    setenv("SLURM_MEM_PER_NODE", "99999999999999999999999", 1);
    CU_ASSERT_EQUAL(budget(1), 4 * GIB);
}

static void test_floor_and_nothing(void)
{
    if (!rlimits_clear)
        return;
    CU_ASSERT_EQUAL(budget(1), MR__BUDGET_MIN); /* empty root: no source */
    WHY_HAS("no source");
    WHY_HAS("raised to the 16 MiB floor");
    put("proc/meminfo", "MemAvailable:      20480 kB\n"); /* 20 MiB */
    CU_ASSERT_EQUAL(budget(1), MR__BUDGET_MIN);
    WHY_HAS("MemAvailable 20.0 MiB / 1 local ranks, 1/2 of it; raised to the 16 MiB floor");
}

/* Every source at once, then each removed in turn: the next one takes
 * over, in the documented order. */
static void test_precedence(void)
{
    put("proc/meminfo", "MemAvailable:   67108864 kB\n"); /* 64 GiB */
    put("proc/self/status", "VmSize:\t 1048576 kB\nVmData:\t 65536 kB\n");
    put("proc/self/cgroup", "0::/job\n");
    put("sys/fs/cgroup/job/memory.max", "8589934592\n"); /* 8 GiB */
    setenv("SLURM_MEM_PER_CPU", "1024", 1);
    setenv("SLURM_MEM_PER_NODE", "2048", 1);
    uint64_t lim = livable("VmSize", 32 * GIB);
    if (!rlimits_clear || set_soft(RLIMIT_AS, lim) != 0) {
        CU_FAIL("cannot set RLIMIT_AS");
        return;
    }
    CU_ASSERT_EQUAL(budget(2), 3 * GIB / 4);
    WHY_HAS("SLURM_MEM_PER_CPU");
    unsetenv("SLURM_MEM_PER_CPU");
    CU_ASSERT_EQUAL(budget(2), 3 * GIB / 4); /* 2 GiB / 2, 3/4 */
    WHY_HAS("SLURM_MEM_PER_NODE");
    unsetenv("SLURM_MEM_PER_NODE");
    CU_ASSERT_EQUAL(budget(2), (lim - GIB) / 2);
    WHY_HAS("RLIMIT_AS");
    CU_ASSERT_EQUAL_FATAL(set_soft(RLIMIT_AS, RLIM_INFINITY), 0);
    CU_ASSERT_EQUAL(budget(2), 3 * GIB); /* 8 GiB / 2, 3/4 */
    WHY_HAS("cgroup");
    put("sys/fs/cgroup/job/memory.max", "max\n");
    CU_ASSERT_EQUAL(budget(2), 16 * GIB); /* 64 GiB / 2, 1/2 */
    WHY_HAS("MemAvailable");
}

static void test_why_truncated(void)
{
    char small[8];
    memset(small, 'x', sizeof small);
    uint64_t b = mr__budget_default_at(root, 1, small, sizeof small);
    CU_ASSERT(b >= MR__BUDGET_MIN);
    CU_ASSERT_EQUAL(strlen(small), sizeof small - 1);
    CU_ASSERT(mr__budget_default_at(root, 1, NULL, 0) == b);
}

/* The real thing on this machine: some source, at least the floor. */
static void test_this_machine(void)
{
    char w[512] = "";
    setrlimit(RLIMIT_AS, &saved_as); /* the process's own, not setup's */
    setrlimit(RLIMIT_DATA, &saved_data);
    uint64_t b = mr__budget_default(2, w, sizeof w);
    CU_ASSERT(b >= MR__BUDGET_MIN);
    CU_ASSERT(w[0] != '\0');
    printf("\n  this machine, 2 local ranks: %.1f MiB (%s)\n",
           (double)b / (double)MIB, w);
}

static CU_TestInfo size_tests[] = {
    {"accepted forms", test_size_accepted},
    {"refused forms", test_size_refused},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo budget_tests[] = {
    {"MemAvailable / local ranks", test_meminfo},
    {"no MemAvailable: MemFree + Buffers + Cached", test_meminfo_old_kernel},
    {"cgroup v2 memory.max, smallest up the tree", test_cgroup_v2},
    {"cgroup v2 \"max\" is no limit", test_cgroup_v2_unlimited},
    {"a cgroup limit above MemAvailable does not bind", test_cgroup_above_available},
    {"cgroup v1 memory.limit_in_bytes", test_cgroup_v1},
    {"RLIMIT_AS (SGE h_vmem)", test_rlimit_as},
    {"RLIMIT_DATA", test_rlimit_data},
    {"an rlimit already used up", test_rlimit_used_up},
    {"Slurm SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK", test_slurm_per_cpu},
    {"Slurm SLURM_MEM_PER_NODE / local ranks", test_slurm_per_node},
    {"Slurm 0 and junk fall through", test_slurm_unusable},
    {"the 16 MiB floor; no source", test_floor_and_nothing},
    {"order of precedence", test_precedence},
    {"why is truncated, NUL-terminated", test_why_truncated},
    {"this machine", test_this_machine},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"size parsing", NULL, NULL, NULL, NULL, size_tests},
    {"default budget", suite_init, NULL, setup, teardown, budget_tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
