/* test_registry.c -- loading job modules, and refusing bad ones.
 *
 * Uses only the public API of libmr (mr.h), linked as the shared library,
 * exactly as mr-run does: the plugins call back into that same libmr.
 * MR_TEST_JOB_DIR holds the good test jobs, MR_TEST_BAD_DIR the bad ones.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "mr/mr.h"
#include "mr_test.h"

static char *bad(const char *name)
{
    return g_strdup_printf("%s/%s.so", MR_TEST_BAD_DIR, name);
}

static void expect_refused(const char *name, int want, const char *needle)
{
    mr_registry *reg = mr_registry_new();
    char *path = bad(name), *err = NULL;
    int rc = mr_registry_load_file(reg, path, &err);
    CU_ASSERT_EQUAL(rc, want);
    CU_ASSERT_PTR_NOT_NULL_FATAL(err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, path)); /* names the file */
    if (!strstr(err, needle))
        fprintf(stderr, "message '%s' lacks '%s'\n", err, needle);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    CU_ASSERT_EQUAL(mr_registry_count(reg), 0);
    free(err);
    g_free(path);
    mr_registry_free(reg);
}

static void test_refusals(void)
{
    expect_refused("bad_abi", MR_EABI, "built for plugin ABI 99.0");
    expect_refused("bad_nosym", MR_EINVAL, "no entry symbol mr_job_bad_nosym_init");
    expect_refused("bad_twice", MR_EINVAL, "registers more than once");
    expect_refused("bad_noreg", MR_EINVAL, "did not call mr_job_register");
    expect_refused("bad_name", MR_EINVAL, "registers job 'other_name'");
    expect_refused("bad_clash", MR_EINVAL, "--schedule, which is an engine option");
    expect_refused("does_not_exist", MR_EINVAL, "no such plugin file");
    expect_refused("bad_minor", MR_EABI, "built for plugin ABI 1.99");
    /* linked against a newer libmr: the versions, not "undefined symbol" */
    expect_refused("bad_newer", MR_EABI, "needs libmr's symbols of ABI 1.99");
}

static void test_older_minor_loads(void)
{
    /* A job built for ABI 1.0 passes the smaller 1.0 descriptor: it loads,
     * and the fields appended since read as NULL. */
    mr_registry *reg = mr_registry_new();
    char *path = bad("bad_oldminor"), *err = NULL;
    CU_ASSERT_EQUAL(mr_registry_load_file(reg, path, &err), MR_OK);
    if (err)
        fprintf(stderr, "%s\n", err);
    CU_ASSERT_EQUAL_FATAL(mr_registry_count(reg), 1);
    const struct mr_job *j = mr_registry_at(reg, 0);
    CU_ASSERT_STRING_EQUAL(j->name, "bad_oldminor");
    CU_ASSERT_PTR_NULL(j->reduce_end);
    CU_ASSERT_PTR_NOT_NULL(j->map);
    free(err);
    g_free(path);
    mr_registry_free(reg);
}

static void test_not_a_module(void)
{
    char path[] = "/tmp/mrtest_notso_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT(write(fd, "not an ELF file\n", 16) == 16);
    close(fd);
    char *so = g_strconcat(path, ".so", NULL);
    CU_ASSERT(rename(path, so) == 0);
    mr_registry *reg = mr_registry_new();
    char *err = NULL;
    CU_ASSERT_EQUAL(mr_registry_load_file(reg, so, &err), MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "cannot load plugin"));
    free(err);
    mr_registry_free(reg);
    unlink(so);
    g_free(so);
}

static void test_find_and_twice(void)
{
    setenv("MR_JOB_PATH", MR_TEST_JOB_DIR, 1);
    mr_registry *reg = mr_registry_new();
    char *err = NULL;
    const struct mr_job *j = mr_registry_find(reg, "skew", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_STRING_EQUAL(j->name, "skew");
    CU_ASSERT_PTR_NOT_NULL(j->split);
    CU_ASSERT_PTR_NULL(j->fold);
    /* found again: the same registration, not a second load */
    CU_ASSERT_PTR_EQUAL(mr_registry_find(reg, "skew", &err), j);
    /* the same job from a second file is refused */
    char *path = g_strdup_printf("%s/skew.so", MR_TEST_JOB_DIR);
    CU_ASSERT_EQUAL(mr_registry_load_file(reg, path, &err), MR_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "already registered"));
    free(err);
    err = NULL;
    CU_ASSERT_PTR_NULL(mr_registry_find(reg, "no_such_job", &err));
    CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "unknown job 'no_such_job'"));
    free(err);
    err = NULL;
    CU_ASSERT_PTR_NULL(mr_registry_find(reg, "../etc/x", &err));
    free(err);
    mr_registry_load_all(reg, NULL);
    CU_ASSERT(mr_registry_count(reg) >= 3); /* skew, skewfold, skewcomb */
    for (size_t i = 1; i < mr_registry_count(reg); i++)
        CU_ASSERT(strcmp(mr_registry_at(reg, i - 1)->name,
                         mr_registry_at(reg, i)->name) < 0);
    g_free(path);
    mr_registry_free(reg);
}

static CU_TestInfo tests[] = {
    {"refuses bad plugins, naming file and reason", test_refusals},
    {"refuses a file that is not a module", test_not_a_module},
    {"a job built for an older minor loads", test_older_minor_loads},
    {"finds jobs on MR_JOB_PATH, once", test_find_and_twice},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"registry", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
