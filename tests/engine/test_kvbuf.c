/* test_kvbuf.c -- serialised records in arenas. */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"
#include "mr_test.h"

#include <stdio.h>
#include <stdlib.h>

static void test_append_read(void)
{
    mr_kvbuf b;
    mr__kvbuf_init(&b);
    for (int i = 0; i < 1000; i++) {
        char k[16], v[16];
        int kl = snprintf(k, sizeof k, "key%d", i);
        int vl = snprintf(v, sizeof v, "%d", i * 7);
        mr__kvbuf_append(&b, mr_mem(k, (size_t)kl), mr_mem(v, (size_t)vl),
                         (uint32_t)i);
    }
    mr__kvbuf_append(&b, mr_mem("", 0), mr_mem("", 0), 5); /* empty pair */
    CU_ASSERT_EQUAL(b.nrec, 1001);
    size_t off = 0;
    for (int i = 0; i < 1000; i++) {
        mr_rec r;
        char k[16], v[16];
        int kl = snprintf(k, sizeof k, "key%d", i);
        int vl = snprintf(v, sizeof v, "%d", i * 7);
        off += mr__rec_read(b.data + off, &r);
        CU_ASSERT_EQUAL(r.key.len, (size_t)kl);
        CU_ASSERT_EQUAL(r.value.len, (size_t)vl);
        CU_ASSERT(memcmp(r.key.ptr, k, (size_t)kl) == 0);
        CU_ASSERT(memcmp(r.value.ptr, v, (size_t)vl) == 0);
        CU_ASSERT_EQUAL(r.task, (uint32_t)i);
    }
    mr_rec r;
    off += mr__rec_read(b.data + off, &r);
    CU_ASSERT_EQUAL(r.key.len, 0);
    CU_ASSERT_EQUAL(r.task, 5);
    CU_ASSERT_EQUAL(off, b.len);
    mr__kvbuf_fini(&b);
    CU_ASSERT_PTR_NULL(b.data);
}

static CU_TestInfo tests[] = {
    {"append and read back", test_append_read},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"kvbuf", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
