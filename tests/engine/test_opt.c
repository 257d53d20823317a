/* test_opt.c -- parsing a job's and the engine's options. */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_optint.h"
#include "mr_test.h"

#include <stdlib.h>

static const mr_option opts[] = {
    {"top", MR_OPT_INT, "10", "how many"},
    {"ratio", MR_OPT_DOUBLE, "0.5", "a number"},
    {"out", MR_OPT_STRING, NULL, "a file"},
    {"fast", MR_OPT_FLAG, NULL, "a flag"},
    {NULL, 0, NULL, NULL},
};

static const struct mr_job job = {.name = "t", .options = opts};

/* Parses a space-separated command line. */
static int parse(const char *line, mr_config *cfg, mr_optset **set,
                 char **err)
{
    char **argv = g_strsplit(line, " ", -1);
    int argc = (int)g_strv_length(argv);
    if (argc == 1 && argv[0][0] == '\0')
        argc = 0;
    int rc = mr_config_parse(&job, argc, argv, cfg, set, err);
    g_strfreev(argv);
    return rc;
}

static mr_ctx *fake_ctx(const mr_optset *set)
{
    static mr_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.opts = set;
    return &ctx;
}

static void test_defaults(void)
{
    mr_config cfg;
    mr_optset *set;
    char *err;
    CU_ASSERT_EQUAL_FATAL(parse("", &cfg, &set, &err), MR_OK);
    mr_ctx *ctx = fake_ctx(set);
    CU_ASSERT_EQUAL(mr_opt_int(ctx, "top"), 10);
    CU_ASSERT_DOUBLE_EQUAL(mr_opt_double(ctx, "ratio"), 0.5, 0);
    CU_ASSERT_PTR_NULL(mr_opt_string(ctx, "out"));
    CU_ASSERT_FALSE(mr_opt_flag(ctx, "fast"));
    CU_ASSERT_FALSE(mr_opt_given(ctx, "top"));
    CU_ASSERT_EQUAL(mr_ctx_argc(ctx), 0);
    CU_ASSERT_EQUAL(cfg.schedule, MR_SCHED_DYNAMIC);
    CU_ASSERT_EQUAL(cfg.shuffle_round, 1L << 30);
    mr_optset_free(set);
}

static void test_values(void)
{
    mr_config cfg;
    mr_optset *set;
    char *err;
    CU_ASSERT_EQUAL_FATAL(parse("a --top 3k --ratio=2.5 b --fast --out x.txt "
                                "--schedule master --shuffle-round 4096 -- "
                                "--top -",
                                &cfg, &set, &err),
                          MR_OK);
    mr_ctx *ctx = fake_ctx(set);
    CU_ASSERT_EQUAL(mr_opt_int(ctx, "top"), 3072);
    CU_ASSERT_DOUBLE_EQUAL(mr_opt_double(ctx, "ratio"), 2.5, 0);
    CU_ASSERT_STRING_EQUAL(mr_opt_string(ctx, "out"), "x.txt");
    CU_ASSERT(mr_opt_flag(ctx, "fast"));
    CU_ASSERT(mr_opt_given(ctx, "top"));
    CU_ASSERT_EQUAL(cfg.schedule, MR_SCHED_MASTER);
    CU_ASSERT_EQUAL(cfg.shuffle_round, 4096);
    CU_ASSERT_EQUAL_FATAL(mr_ctx_argc(ctx), 4);
    const char *const *argv = mr_ctx_argv(ctx);
    CU_ASSERT_STRING_EQUAL(argv[0], "a");
    CU_ASSERT_STRING_EQUAL(argv[1], "b");
    CU_ASSERT_STRING_EQUAL(argv[2], "--top");
    CU_ASSERT_STRING_EQUAL(argv[3], "-");
    CU_ASSERT_PTR_NULL(argv[4]);
    mr_optset_free(set);

    /* A value may start with '-': the job decides whether -3 is valid. */
    CU_ASSERT_EQUAL_FATAL(parse("--top -3", &cfg, &set, &err), MR_OK);
    CU_ASSERT_EQUAL(mr_opt_int(fake_ctx(set), "top"), -3);
    mr_optset_free(set);
}

static void expect_usage(const char *line, const char *needle)
{
    mr_config cfg;
    mr_optset *set = (mr_optset *)1;
    char *err = NULL;
    CU_ASSERT_EQUAL(parse(line, &cfg, &set, &err), MR_EUSAGE);
    CU_ASSERT_PTR_NULL(set);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    if (!strstr(err, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", err, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    g_free(err);
}

static void test_errors(void)
{
    expect_usage("--bogus", "unknown option '--bogus'");
    expect_usage("-x", "unknown option '-x'");
    expect_usage("--top", "--top needs a value");
    expect_usage("--top abc", "'abc' is not an integer");
    expect_usage("--top 12x", "'12x' is not an integer");
    expect_usage("--top 99999999999999999999", "is not an integer");
    expect_usage("--ratio nan", "'nan' is not a number");
    expect_usage("--fast=1", "--fast takes no value");
    expect_usage("--schedule fastest", "'fastest' is not one of");
    expect_usage("--shuffle-round 1", "outside 64 bytes");
    expect_usage("--shuffle-round 2G", "outside 64 bytes");
}

static void test_usage_text(void)
{
    char *u = mr_usage(&job);
    CU_ASSERT_PTR_NOT_NULL(strstr(u, "--top N"));
    CU_ASSERT_PTR_NOT_NULL(strstr(u, "(default: 10)"));
    /* a help text that begins "NAME: " names the value */
    CU_ASSERT_PTR_NOT_NULL(strstr(u, "--schedule NAME "));
    CU_ASSERT_PTR_NOT_NULL(strstr(u, "--trace FILE "));
    CU_ASSERT_PTR_NOT_NULL(strstr(u, " write a timeline of every rank"));
    CU_ASSERT_PTR_NULL(strstr(u, "FILE: write"));
    CU_ASSERT_PTR_NOT_NULL(strstr(u, "--out TEXT ")); /* no name: the type */
    free(u);
}

static CU_TestInfo tests[] = {
    {"defaults", test_defaults},
    {"values and positional arguments", test_values},
    {"errors name the option", test_errors},
    {"--help text", test_usage_text},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"options", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
