/* test_kvbuf.c -- serialised records in arenas. */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_kvbuf.h"
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

/* Runs travel to rank 0 in chunks of whole records (the output phase). */
static void test_rec_cut(void)
{
    mr_kvbuf b;
    mr__kvbuf_init(&b);
    char big[1000];
    memset(big, 'x', sizeof big);
    for (int i = 0; i < 10; i++) /* records of 12 + 2 + 8 = 22 bytes */
        mr__kvbuf_append(&b, mr_str("kk"), mr_str("vvvvvvvv"), 0);
    mr__kvbuf_append(&b, mr_str("big"), mr_mem(big, sizeof big), 0);
    CU_ASSERT_EQUAL(mr__rec_cut(b.data, b.len, 50), 44); /* two records */
    CU_ASSERT_EQUAL(mr__rec_cut(b.data, b.len, 44), 44);
    /* at least one record, even over the limit */
    CU_ASSERT_EQUAL(mr__rec_cut(b.data, b.len, 21), 22);
    size_t off = 220;
    CU_ASSERT_EQUAL(mr__rec_cut(b.data + off, b.len - off, 64), 12 + 3 + 1000);
    CU_ASSERT_EQUAL(mr__rec_cut(b.data, 0, 64), 0);
    /* Cutting the whole run in small limits visits every record once. */
    size_t total = 0, recs = 0;
    while (total < b.len) {
        size_t n = mr__rec_cut(b.data + total, b.len - total, 30);
        for (size_t k = 0; k < n; k += mr__rec_size(b.data + total + k))
            recs++;
        total += n;
    }
    CU_ASSERT_EQUAL(total, b.len);
    CU_ASSERT_EQUAL(recs, 11);
    mr__kvbuf_fini(&b);
}

static CU_TestInfo tests[] = {
    {"append and read back", test_append_read},
    {"cuts runs at record boundaries", test_rec_cut},
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
