/* test_fold.c -- the fold-at-emit table. */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include <glib.h>

#include "mr_bigmem.h"
#include "mr_fold.h"
#include "mr_kvbuf.h"
#include "mr_test.h"

#include <stdio.h>
#include <stdlib.h>

static void add_u64(void *acc, const void *v)
{
    uint64_t a, x;
    memcpy(&a, acc, 8);
    memcpy(&x, v, 8);
    a += x;
    memcpy(acc, &a, 8);
}

/* The job's own fold (a call per repeated key), or the engine's
 * mr_fold_sum_u64 (added in line): the same table either way. */
static void check_fold(mr_fold_fn *fold)
{
    mr_fold f;
    mr__fold_init(&f, 8, fold);
    CU_ASSERT_EQUAL(f.sum_u64, fold == mr_fold_sum_u64);
    /* Key i is added i % 13 + 1 times, with value i each time; enough keys
     * to make the table grow several times. */
    enum { N = 50000 };
    for (int rep = 0; rep < 13; rep++)
        for (uint64_t i = 0; i < N; i++)
            if ((int)(i % 13) >= rep) {
                char k[24];
                int kl = snprintf(k, sizeof k, "w%llu", (unsigned long long)i);
                mr__fold_add(&f, mr_mem(k, (size_t)kl), &i);
            }
    mr__fold_flush(&f);
    CU_ASSERT_EQUAL(f.count, N);
    size_t pos = 0, seen = 0;
    mr_bytes key;
    void *acc;
    int all_ok = 1;
    while (mr__fold_next(&f, &pos, &key, &acc)) {
        char k[24];
        memcpy(k, key.ptr, key.len);
        k[key.len] = '\0';
        uint64_t i = strtoull(k + 1, NULL, 10), a;
        CU_ASSERT_EQUAL(((uintptr_t)acc) % 8, 0);
        memcpy(&a, acc, 8);
        if (a != i * (i % 13 + 1))
            all_ok = 0;
        /* insertion order: the first pass inserts keys in order */
        if (i != seen)
            all_ok = 0;
        seen++;
    }
    CU_ASSERT(all_ok);
    CU_ASSERT_EQUAL(seen, N);
    mr__fold_fini(&f);
}

static void test_fold(void)
{
    check_fold(add_u64);
}

static void test_fold_sum_u64(void)
{
    check_fold(mr_fold_sum_u64);
    uint64_t a = 40, v = 2;
    mr_fold_sum_u64(&a, &v); /* also callable, as a job's own fold */
    CU_ASSERT_EQUAL(a, 42);
}

static void test_fold_odd_value_size(void)
{
    /* A 3-byte accumulator: the stride rounds up, keys of every length. */
    mr_fold f;
    mr__fold_init(&f, 3, NULL); /* distinct keys: fold never runs */
    CU_ASSERT_EQUAL(f.vstride, 8);
    const char *keys[] = {"", "a", "abcdefgh", "abcdefghi", "abcdefghijklmnopq"};
    for (int i = 0; i < 5; i++)
        mr__fold_add(&f, mr_str(keys[i]), "xyz");
    mr__fold_flush(&f);
    size_t pos = 0;
    mr_bytes key;
    void *acc;
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(mr__fold_next(&f, &pos, &key, &acc));
        CU_ASSERT_EQUAL(key.len, strlen(keys[i]));
        CU_ASSERT(memcmp(acc, "xyz", 3) == 0);
    }
    CU_ASSERT_FALSE(mr__fold_next(&f, &pos, &key, &acc));
    mr__fold_fini(&f);
}

/* The number in a key "k<digits>" (keys in the table are not
 * NUL-terminated). */
static int key_num(mr_bytes key)
{
    int v = 0;
    for (size_t i = 1; i < key.len; i++)
        v = v * 10 + (((const char *)key.ptr)[i] - '0');
    return v;
}

/* Combine at P > 1 drops the entries of other ranks' keys and keeps
 * folding into the rest: dropped entries are skipped by iteration, match
 * no add, and are not carried over when the slots grow. */
static void test_fold_drop(void)
{
    mr_fold f;
    mr__fold_init(&f, 8, mr_fold_sum_u64);
    enum { N = 3000 };
    uint64_t one = 1;
    char k[24];
    for (int i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof k, "k%d", i);
        mr__fold_add(&f, mr_mem(k, (size_t)kl), &one);
    }
    mr__fold_flush(&f);
    size_t pos = 0, kept = 0;
    mr_bytes key;
    void *acc;
    while (mr__fold_next(&f, &pos, &key, &acc))
        if (key_num(key) % 3 == 0) /* "another rank's" */
            mr__fold_drop(&f, key);
    /* Fold more into the kept keys, and enough new keys (k3000..) that the
     * slots grow over the dropped entries. */
    for (int i = 0; i < 4 * N; i++) {
        if (i < N && i % 3 == 0)
            continue;
        int kl = snprintf(k, sizeof k, "k%d", i);
        mr__fold_add(&f, mr_mem(k, (size_t)kl), &one);
    }
    mr__fold_flush(&f);
    pos = 0;
    int ok = 1;
    while (mr__fold_next(&f, &pos, &key, &acc)) {
        int i = key_num(key);
        uint64_t a;
        memcpy(&a, acc, 8);
        if (i < N && i % 3 == 0)
            ok = 0; /* a dropped key came back */
        if (a != (i < N ? 2u : 1u))
            ok = 0;
        kept++;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(kept, 4 * N - N / 3);
    CU_ASSERT_EQUAL(f.count, 4 * N - N / 3); /* dropped slots not carried */
    mr__fold_fini(&f);
}

/* The number after a key's 3-byte prefix ("big", "tk_"). */
static uint64_t num3(mr_bytes key)
{
    char s[24];
    memcpy(s, key.ptr, key.len);
    s[key.len] = '\0';
    return strtoull(s + 3, NULL, 10);
}

/* Big enough that the arena passes MR_BIGMEM_MIN and grows by mremap
 * (pages moved, not copied) and the slots are rebuilt from the arena
 * several times: every sum is kept, the slots never pass 3/4 full, and a
 * key dropped before a growth and added again after it is a new entry. */
static void test_fold_big(void)
{
    mr_fold f;
    mr__fold_init(&f, 8, mr_fold_sum_u64);
    enum { N = 300000 };
    char k[24];
    int load_ok = 1;
    for (uint64_t i = 0; i < N; i++) {
        int kl = snprintf(k, sizeof k, "big%llu", (unsigned long long)i);
        mr__fold_add(&f, mr_mem(k, (size_t)kl), &i);
        if (f.count * 4 > (f.mask + 1) * 3)
            load_ok = 0;
    }
    mr__fold_flush(&f);
    CU_ASSERT(load_ok);
    CU_ASSERT(f.acap >= MR_BIGMEM_MIN * 2);
    size_t pos = 0;
    mr_bytes key;
    void *acc;
    while (mr__fold_next(&f, &pos, &key, &acc))
        if (key.len == 4 && memcmp(key.ptr, "big7", 4) == 0)
            mr__fold_drop(&f, key);
    uint64_t v = 1000;
    mr__fold_add(&f, mr_str("big7"), &v); /* a new entry: 1000, not 1007 */
    for (uint64_t i = 0; i < N; i++) { /* doubles every sum, grows again */
        int kl = snprintf(k, sizeof k, "big%llu", (unsigned long long)i);
        if (i != 7)
            mr__fold_add(&f, mr_mem(k, (size_t)kl), &i);
    }
    for (uint64_t i = N; i < 2 * N; i++) {
        int kl = snprintf(k, sizeof k, "big%llu", (unsigned long long)i);
        mr__fold_add(&f, mr_mem(k, (size_t)kl), &i);
    }
    mr__fold_flush(&f);
    CU_ASSERT_EQUAL(f.count, 2 * N);
    pos = 0;
    size_t seen = 0;
    int ok = 1;
    while (mr__fold_next(&f, &pos, &key, &acc)) {
        uint64_t i = num3(key), a;
        memcpy(&a, acc, 8);
        if (a != (i == 7 ? 1000 : i < N ? 2 * i : i))
            ok = 0;
        seen++;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(seen, 2 * N);
    mr__fold_fini(&f);
}

/* mr__fold_take over a table big enough that its arena is a mapping given
 * back as the pass goes: the taken entries reach take() in insertion
 * order with their sums, the kept ones stay in order with theirs (moved
 * down over freed pages), and the table is a table again afterwards. */
typedef struct take_log {
    size_t n;
    int ok;
} take_log;

static int take_thirds(void *arg, mr_bytes key, const void *acc, int *taken)
{
    take_log *t = arg;
    uint64_t i = num3(key), a;
    memcpy(&a, acc, 8);
    *taken = i % 3 != 0;
    if (*taken) {
        if (a != 2 * i || i / 3 * 2 + i % 3 - 1 != t->n)
            t->ok = 0; /* a wrong sum, or out of insertion order */
        t->n++;
    }
    return MR_OK;
}

static void test_fold_take(void)
{
    mr_fold f;
    mr__fold_init(&f, 8, mr_fold_sum_u64);
    enum { N = 1000000 }; /* 25 MB of entries: several releases */
    char k[24];
    for (int round = 0; round < 2; round++)
        for (uint64_t i = 0; i < N; i++) {
            int kl = snprintf(k, sizeof k, "tk_%llu", (unsigned long long)i);
            mr__fold_add(&f, mr_mem(k, (size_t)kl), &i);
        }
    CU_ASSERT(f.acap >= MR_BIGMEM_MIN * 4);
    take_log t = {0, 1};
    CU_ASSERT_EQUAL(mr__fold_take(&f, take_thirds, &t), MR_OK);
    CU_ASSERT(t.ok);
    CU_ASSERT_EQUAL(t.n, N - (N + 2) / 3);
    CU_ASSERT_EQUAL(f.count, (size_t)(N + 2) / 3);
    uint64_t one = 1; /* the kept keys are found again; a taken one is new */
    mr__fold_add(&f, mr_str("tk_3"), &one);
    mr__fold_add(&f, mr_str("tk_4"), &one);
    mr__fold_flush(&f);
    size_t pos = 0, seen = 0;
    uint64_t prev = 0;
    int ok = 1;
    mr_bytes key;
    void *acc;
    while (mr__fold_next(&f, &pos, &key, &acc)) {
        uint64_t i = num3(key), a;
        memcpy(&a, acc, 8);
        if (seen + 1 == f.count) { /* the new tk_4, last */
            ok &= i == 4 && a == 1;
        } else {
            ok &= i % 3 == 0 && a == 2 * i + (i == 3) && (seen == 0 || i > prev);
        }
        prev = i;
        seen++;
    }
    CU_ASSERT(ok);
    CU_ASSERT_EQUAL(seen, (size_t)(N + 2) / 3 + 1);
    mr__fold_fini(&f);
}

/* mr_bigmem_grow keeps the bytes when it moves or extends a mapping. */
static void test_bigmem_grow(void)
{
    size_t n = MR_BIGMEM_MIN;
    unsigned char *p = mr_bigmem_zalloc(n);
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(i * 7);
    void *block = mr_bigmem_zalloc(n); /* likely right after p: a move */
    p = mr_bigmem_grow(p, n, 4 * n);
    int ok = 1;
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7))
            ok = 0;
    p[4 * n - 1] = 1;
    CU_ASSERT(ok);
    mr_bigmem_free(block, n);
    mr_bigmem_free(p, 4 * n);
}

static CU_TestInfo tests[] = {
    {"big: mremap growth, slots from the arena, load <= 3/4", test_fold_big},
    {"mr_bigmem_grow keeps the bytes", test_bigmem_grow},
    {"dropped entries: skipped, never matched, not regrown", test_fold_drop},
    {"take: entries out in order, the rest compacted", test_fold_take},
    {"sums, growth, insertion order", test_fold},
    {"the same with mr_fold_sum_u64, in line", test_fold_sum_u64},
    {"odd value size, keys of every length", test_fold_odd_value_size},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"combine", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
