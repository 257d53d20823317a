/* test_keysort.c -- mr_keysort: radix on a 64-bit key, then comparisons. */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_kvbuf.h"
#include "mr_keysort.h"
#include "mr_test.h"

#include <stdlib.h>

/* Records are indices into vals; the full order is by value, then index.
 * The key is a coarse summary of the value (value >> shift), so runs of
 * equal keys are long and the comparison really decides. */
static const uint64_t *vals;
static int calls;

static int by_value(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    (void)arg;
    calls++;
    uint64_t a = vals[x->ref], b = vals[y->ref];
    if (a != b)
        return a < b ? -1 : 1;
    return (x->ref > y->ref) - (x->ref < y->ref);
}

static int by_value_q(const void *a, const void *b)
{
    return by_value(a, b, NULL);
}

/* Keys are base | value >> shift: a constant base puts every key in one
 * range of the in-place first pass's buckets. */
static void check_base(size_t n, uint64_t range, int shift, unsigned seed,
                       uint64_t base)
{
    uint64_t *v = malloc((n + 1) * sizeof *v);
    mr_keyed *a = malloc((n + 1) * sizeof *a);
    mr_keyed *want = malloc((n + 1) * sizeof *want);
    srand(seed);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)rand() << 33 ^ (uint64_t)rand() << 11 ^
                     (uint64_t)rand();
        v[i] = range ? x % range : x;
        a[i].key = base | (shift >= 64 ? 0 : v[i] >> shift);
        a[i].ref = i;
    }
    vals = v;
    memcpy(want, a, n * sizeof *a);
    qsort(want, n, sizeof *want, by_value_q);
    mr_keysort(a, n, by_value, NULL);
    int same = 1;
    for (size_t i = 0; i < n; i++)
        same &= a[i].ref == want[i].ref && a[i].key == want[i].key;
    if (!same)
        fprintf(stderr, "keysort differs: n %zu range %llu shift %d base "
                "%llx\n", n, (unsigned long long)range, shift,
                (unsigned long long)base);
    CU_ASSERT(same);
    free(v);
    free(a);
    free(want);
}

static void check(size_t n, uint64_t range, int shift, unsigned seed)
{
    check_base(n, range, shift, seed, 0);
}

static void test_orders(void)
{
    /* From 65536 on, the first pass is the in-place one. */
    size_t sizes[] = {0, 1, 2, 15, 16, 17, 31, 32, 1000, 65535, 65536,
                      200000};
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        check(sizes[s], 0, 0, 1);    /* distinct keys: radix alone */
        check(sizes[s], 0, 40, 2);   /* coarse keys: long runs */
        check(sizes[s], 50, 0, 3);   /* many equal values: ties by ref */
        check(sizes[s], 1000, 64, 4); /* no key at all: merge sort only */
        check(sizes[s], 1u << 20, 12, 5);
        check(sizes[s], 1000, 0, 6); /* few bits: the buckets decide */
        /* word count's shape: high bits shared, then a prefix */
        check_base(sizes[s], 0, 6, 7, 0xfc00000000000000ULL);
        check_base(sizes[s], 1u << 30, 0, 8, 0xabcdef0000000000ULL);
    }
}

/* Most keys in one bucket of the first pass, with 42 bits left to sort
 * below it (not a whole number of bytes), one key in ten elsewhere. */
static void test_one_big_bucket(void)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    mr_keyed *a = malloc(N * sizeof *a);
    srand(9);
    for (size_t i = 0; i < N; i++) {
        uint64_t x = (uint64_t)rand() << 31 ^ (uint64_t)rand();
        v[i] = (i % 10 ? 0 : (uint64_t)1 << 57) | (x & (((uint64_t)1 << 42) - 1));
        a[i] = (mr_keyed){v[i], i};
    }
    vals = v;
    mr_keysort(a, N, by_value, NULL);
    int sorted = 1;
    for (size_t i = 1; i < N; i++)
        sorted &= by_value(&a[i - 1], &a[i], NULL) < 0;
    CU_ASSERT(sorted);
    free(v);
    free(a);
}

static void test_skips_constant_bytes(void)
{
    /* Keys that differ only in their low byte, and exact ones: the
     * comparison is never needed. */
    enum { N = 5000 };
    uint64_t v[N];
    mr_keyed a[N];
    for (size_t i = 0; i < N; i++) {
        v[i] = 0xabcdef0000000000ULL | ((i * 7919) % N);
        a[i] = (mr_keyed){v[i], i};
    }
    vals = v;
    calls = 0;
    mr_keysort(a, N, by_value, NULL);
    CU_ASSERT_EQUAL(calls, 0);
    int sorted = 1;
    for (size_t i = 1; i < N; i++)
        sorted &= a[i - 1].key < a[i].key;
    CU_ASSERT(sorted);
}

static void test_prefix64(void)
{
    CU_ASSERT_EQUAL(mr_prefix64("", 0), 0);
    CU_ASSERT_EQUAL(mr_prefix64("a", 1), 0x6100000000000000ULL);
    CU_ASSERT_EQUAL(mr_prefix64("abcdefghij", 10), 0x6162636465666768ULL);
    /* a prefix sorts first, and the order is memcmp's */
    CU_ASSERT(mr_prefix64("ab", 2) < mr_prefix64("ab\x01", 3));
    CU_ASSERT(mr_prefix64("ab\xff", 3) < mr_prefix64("ac", 2));
}

/* Records are strings (refs index strs); the order is bytewise, then by
 * ref. Level k's key is bytes 8k.. of the string, as the engine gives
 * for the default order. */
static const GString **strs;

static int by_string(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    (void)arg;
    calls++;
    const GString *a = strs[x->ref], *b = strs[y->ref];
    size_t n = a->len < b->len ? a->len : b->len;
    int c = memcmp(a->str, b->str, n);
    if (!c)
        c = (a->len > b->len) - (a->len < b->len);
    return c ? c : (x->ref > y->ref) - (x->ref < y->ref);
}

static int by_string_q(const void *a, const void *b)
{
    return by_string(a, b, NULL);
}

static uint64_t string_level(uint64_t ref, unsigned level, void *arg)
{
    (void)arg;
    const GString *s = strs[ref];
    size_t off = (size_t)level * 8;
    return off < s->len ? mr_prefix64(s->str + off, s->len - off) : 0;
}

static uint64_t flat_level(uint64_t ref, unsigned level, void *arg)
{
    (void)ref, (void)level, (void)arg;
    return 42; /* says nothing: the comparison must decide */
}

/* n strings over few letters that share a long prefix (shared bytes,
 * then spread / 2 to spread varying ones, some strings a prefix of
 * others, some repeated), sorted with level keys, with flat ones, and without: each
 * as qsort does. Returns the comparisons the level keys needed. */
static int check_levels(size_t n, size_t shared, size_t spread,
                        unsigned seed)
{
    GString **v = g_new(GString *, n + 1);
    mr_keyed *a = g_new(mr_keyed, n + 1), *want = g_new(mr_keyed, n + 1);
    GRand *g = g_rand_new_with_seed(seed);
    for (size_t i = 0; i < n; i++) {
        v[i] = g_string_new(NULL);
        for (size_t k = 0; k < shared; k++)
            g_string_append_c(v[i], (char)('A' + k % 26));
        size_t len = (size_t)g_rand_int_range(g, (gint32)spread / 2,
                                              (gint32)spread + 1);
        for (size_t k = 0; k < len; k++)
            g_string_append_c(v[i], "ab\0z"[g_rand_int_range(g, 0, 4)]);
        if (i % 97 == 1) { /* a repeat */
            g_string_truncate(v[i], 0);
            g_string_append_len(v[i], v[i - 1]->str, (gssize)v[i - 1]->len);
        }
    }
    strs = (const GString **)v;
    for (size_t i = 0; i < n; i++)
        want[i] = (mr_keyed){mr_prefix64(v[i]->str, v[i]->len), i};
    qsort(want, n, sizeof *want, by_string_q);
    int levels_calls = 0;
    mr_keysort_level *fns[] = {string_level, flat_level, NULL};
    for (int f = 0; f < 3; f++) {
        for (size_t i = 0; i < n; i++)
            a[i] = (mr_keyed){mr_prefix64(v[i]->str, v[i]->len), i};
        calls = 0;
        mr_keysort_lv(a, n, by_string, NULL, fns[f], NULL);
        if (f == 0)
            levels_calls = calls;
        int same = 1;
        for (size_t i = 0; i < n; i++)
            same &= a[i].ref == want[i].ref;
        if (!same)
            fprintf(stderr, "keysort with levels (%d) differs: n %zu shared "
                    "%zu spread %zu\n", f, n, shared, spread);
        CU_ASSERT(same);
    }
    for (size_t i = 0; i < n; i++)
        g_string_free(v[i], TRUE);
    g_free(v);
    g_free(a);
    g_free(want);
    g_rand_free(g);
    return levels_calls;
}

static void test_levels(void)
{
    size_t sizes[] = {2, 31, 40, 1000};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        check_levels(sizes[i], 0, 12, 11);
        check_levels(sizes[i], 7, 20, 12);   /* the first key says little */
        check_levels(sizes[i], 30, 40, 13);  /* apart only at levels 3-8 */
        check_levels(sizes[i], 70, 20, 14);  /* past the last level */
    }
    /* Past 65536 (the in-place first pass): strings apart within the
     * levels, compared only where repeated (one string in 97), where
     * without levels nearly every string is compared with others. */
    int with = check_levels(70000, 20, 30, 15);
    CU_ASSERT(with > 0 && with < 70000 / 50);
}

static CU_TestInfo tests[] = {
    {"levels below the key, as qsort", test_levels},
    {"same order as qsort, with and without ties", test_orders},
    {"one bucket with most keys", test_one_big_bucket},
    {"bytes every key shares cost nothing", test_skips_constant_bytes},
    {"mr_prefix64 orders as memcmp", test_prefix64},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"keysort", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
