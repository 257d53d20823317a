/* test_group.c -- grouping by key: order of keys, and of values by task. */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_group.h"
#include "mr_test.h"

#include <stdio.h>

static void test_group_order(void)
{
    /* Records arrive as they would from several ranks: task 5's pairs
     * before task 2's, interleaved keys, one key a prefix of another and
     * keys longer than the 8-byte prefix the sort uses. */
    mr_kvbuf b;
    mr__kvbuf_init(&b);
    const char *keys[] = {"banana", "apple", "apple\0x", "applesauce-long-key",
                          "applesauce-long-kez", "banana"};
    size_t klen[] = {6, 5, 7, 19, 19, 6};
    for (int task = 5; task >= 2; task -= 3)
        for (int i = 0; i < 6; i++) {
            char v[16];
            int vl = snprintf(v, sizeof v, "%d.%d", task, i);
            mr__kvbuf_append(&b, mr_mem(keys[i], klen[i]),
                             mr_mem(v, (size_t)vl), (uint32_t)task);
        }
    mr_group g;
    mr__group_build(&g, &b, 1);
    CU_ASSERT_EQUAL_FATAL(g.n, 12);
    const char *want[] = {"apple", "apple", "apple\0x", "apple\0x",
                          "applesauce-long-key", "applesauce-long-key",
                          "applesauce-long-kez", "applesauce-long-kez",
                          "banana", "banana", "banana", "banana"};
    size_t wlen[] = {5, 5, 7, 7, 19, 19, 19, 19, 6, 6, 6, 6};
    const char *wval[] = {"2.1", "5.1", "2.2", "5.2", "2.3", "5.3",
                          "2.4", "5.4", "2.0", "2.5", "5.0", "5.5"};
    for (size_t i = 0; i < g.n; i++) {
        mr_rec r;
        mr__rec_read(g.recs[i], &r);
        CU_ASSERT_EQUAL(r.key.len, wlen[i]);
        CU_ASSERT(memcmp(r.key.ptr, want[i], wlen[i]) == 0);
        CU_ASSERT_EQUAL(r.value.len, strlen(wval[i]));
        CU_ASSERT(memcmp(r.value.ptr, wval[i], r.value.len) == 0);
    }
    mr__group_fini(&g);
    mr__kvbuf_fini(&b);
}

static void test_values_iterator(void)
{
    mr_kvbuf b;
    mr__kvbuf_init(&b);
    for (uint32_t i = 0; i < 3; i++)
        mr__kvbuf_append(&b, mr_str("k"), mr_mem(&i, 4), 9 - i);
    mr_group g;
    mr__group_build(&g, &b, 1);
    mr_values v = {.recs = g.recs, .i = 0, .end = g.n};
    mr_bytes x;
    uint32_t got[3], n = 0;
    while (mr_values_next(&v, &x) && n < 3)
        memcpy(&got[n++], x.ptr, 4);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT(got[0] == 2 && got[1] == 1 && got[2] == 0); /* task order */
    CU_ASSERT_FALSE(mr_values_next(&v, &x));
    mr_values one = {.one = mr_str("x"), .one_left = 1};
    CU_ASSERT(mr_values_next(&one, &x));
    CU_ASSERT_FALSE(mr_values_next(&one, &x));
    mr__group_fini(&g);
    mr__kvbuf_fini(&b);
}

/* After the shuffle a rank groups two runs: its own pairs and what the
 * others sent. A key's values still come in task order, and within a task
 * in emission order, whichever run holds them. */
static void test_group_two_runs(void)
{
    mr_kvbuf b[2];
    mr__kvbuf_init(&b[0]);
    mr__kvbuf_init(&b[1]);
    uint32_t task_of_run[2][2] = {{7, 7}, {9, 3}};
    for (int k = 0; k < 2; k++)
        for (int t = 0; t < 2; t++)
            for (uint32_t i = 0; i < 3; i++) {
                uint32_t v = task_of_run[k][t] * 10 + i;
                mr__kvbuf_append(&b[k], mr_str(i == 1 ? "b" : "a"),
                                 mr_mem(&v, 4), task_of_run[k][t]);
            }
    mr_group g;
    mr__group_build(&g, b, 2);
    CU_ASSERT_EQUAL_FATAL(g.n, 12);
    /* key a: tasks 3, 7 (twice over: two blocks of the same task), 9 */
    uint32_t want[] = {30, 32, 70, 72, 70, 72, 90, 92, 31, 71, 71, 91};
    for (size_t i = 0; i < g.n; i++) {
        mr_rec r;
        uint32_t v;
        mr__rec_read(g.recs[i], &r);
        memcpy(&v, r.value.ptr, 4);
        CU_ASSERT_EQUAL(v, want[i]);
        CU_ASSERT_EQUAL(((const char *)r.key.ptr)[0], i < 8 ? 'a' : 'b');
    }
    mr__group_fini(&g);
    mr__kvbuf_fini(&b[0]);
    mr__kvbuf_fini(&b[1]);
}

static CU_TestInfo tests[] = {
    {"two runs: values in task order across runs", test_group_two_runs},
    {"keys bytewise, values in task order", test_group_order},
    {"values iterator", test_values_iterator},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"group", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
