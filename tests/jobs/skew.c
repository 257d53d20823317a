/* skew.c -- the engine's test job: many keys, skewed frequencies.
 *
 * Built three times (tests/jobs/CMakeLists.txt), one per engine path:
 *   skew      general path: values are "task:seq" strings; reduce prints a
 *             count and a hash of the values *in the order it sees them*,
 *             so any change in value order across rank counts or
 *             schedules shows in the output.
 *   skewfold  fold-at-emit path: u64 counts summed by fold.
 *   skewcomb  general path with a combine (sums u64 counts, exact).
 * Task t emits --pairs pairs whose keys are drawn from a cubic skew (key 0
 * is by far the most frequent) with a generator seeded by (seed, t), so the
 * pairs of a task do not depend on the rank that runs it.
 *
 * --fail RANK:PHASE makes the job fail on that rank in that phase (setup,
 * split, map, combine, reduce, output) for the error-propagation tests;
 * --crash RANK:PHASE does abort() there instead.
 */
/* SPDX-License-Identifier: MIT */
#include <mr/mr_job.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct skew {
    long keys, tasks, pairs, seed, value_bytes, sleep_ms;
    const char *out_path;
    FILE *out;
    int fail_rank, crash_rank;
    char fail_phase[16], crash_phase[16];
} skew;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static int check(mr_ctx *ctx, const char *phase)
{
    skew *s = mr_ctx_state(ctx);
    if (!s)
        return MR_OK;
    if (s->crash_rank == mr_ctx_rank(ctx) && !strcmp(s->crash_phase, phase))
        abort();
    if (s->fail_rank == mr_ctx_rank(ctx) && !strcmp(s->fail_phase, phase))
        return mr_error(ctx, MR_EINVAL, "failing on purpose in %s", phase);
    return MR_OK;
}

static int parse_at(mr_ctx *ctx, const char *opt, int *rank, char *phase)
{
    const char *v = mr_opt_string(ctx, opt);
    *rank = -1;
    if (!v)
        return MR_OK;
    if (sscanf(v, "%d:%15s", rank, phase) != 2)
        return mr_error(ctx, MR_EUSAGE, "--%s wants RANK:PHASE, not '%s'",
                        opt, v);
    return MR_OK;
}

static int skew_setup(mr_ctx *ctx)
{
    skew *s = calloc(1, sizeof *s);
    if (!s)
        return mr_error(ctx, MR_ERROR, "out of memory");
    mr_ctx_set_state(ctx, s);
    s->keys = mr_opt_int(ctx, "keys");
    s->tasks = mr_opt_int(ctx, "tasks");
    s->pairs = mr_opt_int(ctx, "pairs");
    s->seed = mr_opt_int(ctx, "seed");
    s->value_bytes = mr_opt_int(ctx, "value-bytes");
    s->sleep_ms = mr_opt_int(ctx, "sleep-ms");
    s->out_path = mr_opt_string(ctx, "out");
    if (mr_opt_flag(ctx, "misread"))
        s->keys = mr_opt_int(ctx, "no-such-option");
    if (s->out_path && mr_out_check(ctx, s->out_path) != MR_OK)
        return MR_EUSAGE;
    if (s->keys < 1 || s->tasks < 0 || s->pairs < 0 || s->value_bytes < 0 ||
        s->value_bytes > 4096)
        return mr_error(ctx, MR_EUSAGE, "--keys must be >= 1, --tasks and "
                        "--pairs >= 0, --value-bytes 0..4096");
    int rc = parse_at(ctx, "fail", &s->fail_rank, s->fail_phase);
    if (rc == MR_OK)
        rc = parse_at(ctx, "crash", &s->crash_rank, s->crash_phase);
    return rc != MR_OK ? rc : check(ctx, "setup");
}

static int skew_split(mr_ctx *ctx)
{
    skew *s = mr_ctx_state(ctx);
    for (long t = 0; t < s->tasks; t++) {
        uint32_t id = (uint32_t)t;
        int rc = mr_task_add(ctx, mr_mem(&id, sizeof id), (double)s->pairs);
        if (rc != MR_OK)
            return rc;
    }
    return check(ctx, "split");
}

static int skew_map(mr_ctx *ctx, mr_bytes task)
{
    skew *s = mr_ctx_state(ctx);
    uint32_t id;
    memcpy(&id, task.ptr, sizeof id);
    uint64_t rng = (uint64_t)s->seed * 1000003u + id;
    if (s->sleep_ms > 0) /* a slow task, for progress and imbalance tests */
        usleep((useconds_t)(s->sleep_ms * 1000));
    for (long i = 0; i < s->pairs; i++) {
        double u = (double)(splitmix(&rng) >> 11) / 9007199254740992.0;
        long k = (long)(u * u * u * (double)s->keys);
        char key[32], val[4096 + 32];
        int kl = snprintf(key, sizeof key, "k%07ld", k);
#if defined(SKEW_GENERAL)
        int vl = snprintf(val, sizeof val, "%u:%ld", id, i);
        if (vl < s->value_bytes) { /* padding, for shuffle benchmarks */
            memset(val + vl, '.', (size_t)(s->value_bytes - vl));
            vl = (int)s->value_bytes;
        }
        int rc = mr_emit(ctx, mr_mem(key, (size_t)kl), mr_mem(val, (size_t)vl));
#else
        uint64_t one = 1;
        (void)val;
        int rc = mr_emit(ctx, mr_mem(key, (size_t)kl), mr_mem(&one, 8));
#endif
        if (rc != MR_OK)
            return rc;
    }
    return check(ctx, "map");
}

static void sum_fold(void *acc, const void *value)
{
    uint64_t a, v;
    memcpy(&a, acc, 8);
    memcpy(&v, value, 8);
    a += v;
    memcpy(acc, &a, 8);
}

static int sum_values(mr_ctx *ctx, mr_bytes key, mr_values *values,
                      int as_text)
{
    uint64_t total = 0, v;
    mr_bytes b;
    while (mr_values_next(values, &b)) {
        memcpy(&v, b.ptr, 8);
        total += v;
    }
    if (!as_text)
        return mr_emit(ctx, key, mr_mem(&total, 8));
    char out[32];
    int n = snprintf(out, sizeof out, "%llu", (unsigned long long)total);
    return mr_emit(ctx, key, mr_mem(out, (size_t)n));
}

static int skew_combine(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    int rc = check(ctx, "combine");
    return rc != MR_OK ? rc : sum_values(ctx, key, values, 0);
}

static int skew_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    int rc = check(ctx, "reduce");
    if (rc != MR_OK)
        return rc;
#if defined(SKEW_GENERAL)
    /* Count, and an order-sensitive hash of the values (FNV-1a over the
     * sequence), so value order is part of the output. */
    uint64_t n = 0, h = 1469598103934665603ULL;
    mr_bytes b;
    while (mr_values_next(values, &b)) {
        n++;
        for (size_t i = 0; i < b.len; i++)
            h = (h ^ ((const unsigned char *)b.ptr)[i]) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    char out[64];
    int len = snprintf(out, sizeof out, "%llu %016llx", (unsigned long long)n,
                       (unsigned long long)h);
    return mr_emit(ctx, key, mr_mem(out, (size_t)len));
#else
    return sum_values(ctx, key, values, 1);
#endif
}

/* --desc: keys in descending byte order, an order that depends on an
 * option (order_ctx, ABI 1.3); its order_key is the complement of the
 * default one, so the radix passes run too. */
static int skew_order(const mr_ctx *ctx, mr_bytes ak, mr_bytes av,
                      mr_bytes bk, mr_bytes bv)
{
    (void)av;
    (void)bv;
    if (!mr_opt_flag(ctx, "desc"))
        return 0;
    size_t n = ak.len < bk.len ? ak.len : bk.len;
    int c = n ? memcmp(ak.ptr, bk.ptr, n) : 0;
    if (!c)
        c = (ak.len > bk.len) - (ak.len < bk.len);
    return -c;
}

static uint64_t skew_order_key(const mr_ctx *ctx, mr_bytes key, mr_bytes v)
{
    (void)v;
    uint64_t k = mr_prefix64(key.ptr, key.len);
    return mr_opt_flag(ctx, "desc") ? ~k : k;
}

static int skew_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    skew *s = mr_ctx_state(ctx);
    int rc = check(ctx, "output");
    if (rc != MR_OK)
        return rc;
    if (s->out_path && !s->out && !(s->out = mr_out_open(ctx, s->out_path)))
        return MR_EIO;
    fprintf(s->out ? s->out : stdout, "%.*s\t%.*s\n", (int)key.len,
            (const char *)key.ptr, (int)value.len, (const char *)value.ptr);
    return MR_OK;
}

static int skew_finish(mr_ctx *ctx)
{
    skew *s = mr_ctx_state(ctx);
    if (!s->out_path)
        return MR_OK;
    if (!s->out && !(s->out = mr_out_open(ctx, s->out_path)))
        return MR_EIO; /* an empty table is still a complete file */
    FILE *f = s->out;
    s->out = NULL;
    return mr_out_commit_file(ctx, f);
}

static void skew_teardown(mr_ctx *ctx)
{
    free(mr_ctx_state(ctx));
}

static const mr_option skew_options[] = {
    {"keys", MR_OPT_INT, "5000", "distinct keys"},
    {"tasks", MR_OPT_INT, "64", "map tasks"},
    {"pairs", MR_OPT_INT, "2000", "pairs emitted per task"},
    {"seed", MR_OPT_INT, "1", "random seed"},
    {"value-bytes", MR_OPT_INT, "0", "pad values to this size (skew only)"},
    {"sleep-ms", MR_OPT_INT, "0", "sleep this long in every map task"},
    {"out", MR_OPT_STRING, NULL, "write the table to this file (atomic)"},
    {"fail", MR_OPT_STRING, NULL, "RANK:PHASE: fail there on purpose"},
    {"crash", MR_OPT_STRING, NULL, "RANK:PHASE: abort() there"},
    {"desc", MR_OPT_FLAG, NULL, "output in descending key order"},
    {"misread", MR_OPT_FLAG, NULL, "read an undeclared option (a job bug)"},
    {NULL, 0, NULL, NULL},
};

static const struct mr_job job = {
    .name = SKEW_NAME_STR,
    .summary = "engine test job: skewed keys",
    .options = skew_options,
    .setup = skew_setup,
    .split = skew_split,
    .map = skew_map,
#if defined(SKEW_COMBINE)
    .combine = skew_combine,
#endif
#if defined(SKEW_FOLD)
    .value_size = 8,
    .fold = sum_fold,
#endif
    .reduce = skew_reduce,
    .output = skew_output,
    .finish = skew_finish,
    .teardown = skew_teardown,
    .order_ctx = skew_order,
    .order_key_ctx = skew_order_key,
};

/* MR_JOB_PLUGIN pastes its argument; expand SKEW_NAME first. */
#define SKEW_PLUGIN(n) MR_JOB_PLUGIN(n)
SKEW_PLUGIN(SKEW_NAME)
{
    (void)skew_combine;
    (void)sum_fold;
    return mr_job_register(reg, &job);
}
