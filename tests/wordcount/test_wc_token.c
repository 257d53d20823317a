/* test_wc_token.c -- unit tests of the word count tokenizer (wc_token.c).
 *
 * Both tokenizations on hand-made cases, tokens cut across chunks as the
 * reader cuts them, long tokens (the same key whether seen whole or in
 * pieces, never equal to a real token), and a random comparison with a
 * plain reference tokenizer.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <glib.h>
#include <string.h>

#include "mr_test.h"
#include "wc_token.h"

static int collect(void *arg, const unsigned char *w, size_t n)
{
    GString *s = arg;
    g_string_append_len(s, (const char *)w, (gssize)n);
    g_string_append_c(s, '|');
    return 0;
}

/* Tokenizes text (copied, as the tokenizer writes) in one chunk. */
static char *tok1(wc_mode mode, int cs, const char *text, size_t n)
{
    wc_tok t;
    wc_tok_init(&t, mode, cs);
    GString *s = g_string_new(NULL);
    unsigned char *d = g_memdup2(text, n);
    CU_ASSERT_EQUAL(wc_tok_feed(&t, d, n, 0, collect, s), 0);
    g_free(d);
    wc_tok_fini(&t);
    return g_string_free(s, FALSE);
}

static void check(wc_mode mode, int cs, const char *text, const char *want)
{
    char *got = tok1(mode, cs, text, strlen(text));
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n  input '%s'\n  got  '%s'\n  want '%s'\n", text, got,
                want);
    g_free(got);
}

static void test_words(void)
{
    check(WC_WORDS, 0, "Hello, World! It's 2024.", "hello|world|it|s|2024|");
    check(WC_WORDS, 0, "  x  ", "x|");
    check(WC_WORDS, 0, "", "");
    check(WC_WORDS, 0, "-- ...", "");
    check(WC_WORDS, 0, "snake_case e-mail", "snake|case|e|mail|");
    /* UTF-8 stays whole; only ASCII is lowercased. */
    check(WC_WORDS, 0, "Caf\xc3\xa9 \xc3\x89T\xc3\x89",
          "caf\xc3\xa9|\xc3\x89t\xc3\x89|");
    check(WC_WORDS, 1, "Hello HELLO hello", "Hello|HELLO|hello|");
    check(WC_WORDS, 0, "@[`{AZaz09", "azaz09|");
}

static void test_whitespace(void)
{
    check(WC_WHITESPACE, 0, "a\tb\vc\fd\re\nf g", "a|b|c|d|e|f|g|");
    check(WC_WHITESPACE, 0, "Hello, World!", "Hello,|World!|");
    check(WC_WHITESPACE, 1, "   ", "");
    /* NUL is a word byte. */
    char *got = tok1(WC_WHITESPACE, 0, "a\0b c", 5);
    CU_ASSERT(memcmp(got, "a\0b|c|", 6) == 0);
    g_free(got);
}

/* Feeds text cut after the given byte counts, as chunks that continue
 * (cont[i]) or not. */
static char *feed_pieces(wc_mode mode, const char *text, const size_t *cuts,
                         const int *cont, size_t n)
{
    wc_tok t;
    wc_tok_init(&t, mode, 0);
    GString *s = g_string_new(NULL);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char *d = g_memdup2(text + at, cuts[i]);
        CU_ASSERT_EQUAL(wc_tok_feed(&t, d, cuts[i], cont[i], collect, s), 0);
        g_free(d);
        at += cuts[i];
    }
    wc_tok_fini(&t);
    return g_string_free(s, FALSE);
}

static void test_continues(void)
{
    /* "abcdefgh ij": pieces "abc" "def" + "gh ij" */
    size_t c1[] = {3, 3, 5};
    int k1[] = {1, 1, 0};
    char *got = feed_pieces(WC_WORDS, "abcdefgh ij", c1, k1, 3);
    CU_ASSERT_STRING_EQUAL(got, "abcdefgh|ij|");
    g_free(got);
    /* A token ended by an empty chunk. */
    size_t c2[] = {2, 3, 0};
    int k2[] = {0, 1, 0};
    got = feed_pieces(WC_WORDS, "x ABC", c2, k2, 3);
    CU_ASSERT_STRING_EQUAL(got, "x|abc|");
    g_free(got);
    /* A continued token followed by a separator right away. */
    size_t c3[] = {3, 4};
    int k3[] = {1, 0};
    got = feed_pieces(WC_WHITESPACE, "Abc de\n", c3, k3, 2);
    CU_ASSERT_STRING_EQUAL(got, "Abc|de|");
    g_free(got);
    /* reset forgets a token left in pieces */
    wc_tok t;
    wc_tok_init(&t, WC_WORDS, 0);
    GString *s = g_string_new(NULL);
    unsigned char a[] = "abc", b[] = "xyz";
    wc_tok_feed(&t, a, 3, 1, collect, s);
    wc_tok_reset(&t);
    wc_tok_feed(&t, b, 3, 0, collect, s);
    CU_ASSERT_STRING_EQUAL(s->str, "xyz|");
    g_string_free(s, TRUE);
    wc_tok_fini(&t);
}

static int stop_at_second(void *arg, const unsigned char *w, size_t n)
{
    int *calls = arg;
    (void)w;
    (void)n;
    return ++*calls == 2 ? -7 : 0;
}

static void test_emit_error(void)
{
    wc_tok t;
    wc_tok_init(&t, WC_WORDS, 0);
    unsigned char d[] = "a b c d";
    int calls = 0;
    CU_ASSERT_EQUAL(wc_tok_feed(&t, d, 7, 0, stop_at_second, &calls), -7);
    CU_ASSERT_EQUAL(calls, 2);
    wc_tok_fini(&t);
}

/* The key of a long token, seen whole in one chunk and in pieces. */
static void test_long_tokens(void)
{
    size_t n = WC_WORD_MAX + 1000;
    char *big = g_malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        big[i] = (char)('A' + i % 26);
    big[n] = ' ';
    /* whole */
    char *whole = tok1(WC_WORDS, 0, big, n + 1);
    CU_ASSERT(g_str_has_suffix(whole, ")|"));
    CU_ASSERT(strncmp(whole,
                      "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcd"
                      "efghijkl ... (",
                      69) == 0);
    char *len = g_strdup_printf("(%zu bytes, hash ", n);
    CU_ASSERT(strstr(whole, len) != NULL);
    CU_ASSERT(strlen(whole) <= WC_LONG_KEY_MAX + 1);
    /* in pieces of 1000 bytes */
    size_t np = (n + 1 + 999) / 1000;
    size_t *cuts = g_new(size_t, np);
    int *cont = g_new(int, np);
    for (size_t i = 0; i < np; i++) {
        cuts[i] = i + 1 < np ? 1000 : n + 1 - 1000 * (np - 1);
        cont[i] = i + 1 < np;
    }
    char *pieces = feed_pieces(WC_WORDS, big, cuts, cont, np);
    CU_ASSERT_STRING_EQUAL(pieces, whole);
    /* one byte different, same length: another key */
    big[n / 2] = big[n / 2] == 'Q' ? 'R' : 'Q';
    char *other = tok1(WC_WORDS, 0, big, n + 1);
    CU_ASSERT_STRING_NOT_EQUAL(other, whole);
    /* exactly WC_WORD_MAX bytes: itself */
    char *edge = tok1(WC_WHITESPACE, 0, big, WC_WORD_MAX);
    CU_ASSERT_EQUAL(strlen(edge), WC_WORD_MAX + 1);
    CU_ASSERT(memcmp(edge, big, WC_WORD_MAX) == 0);
    /* a token of WC_WORD_MAX bytes in pieces is itself too */
    size_t c2[] = {100, WC_WORD_MAX - 100, 0};
    int k2[] = {1, 1, 0};
    char *edge2 = feed_pieces(WC_WHITESPACE, big, c2, k2, 3);
    CU_ASSERT_STRING_EQUAL(edge2, edge);
    g_free(edge);
    g_free(edge2);
    g_free(other);
    g_free(pieces);
    g_free(cuts);
    g_free(cont);
    g_free(len);
    g_free(whole);
    g_free(big);
}

static void test_hash_split(void)
{
    unsigned char d[1000];
    for (int i = 0; i < 1000; i++)
        d[i] = (unsigned char)(i * 7 + 3);
    uint64_t a1, a2, b1, b2;
    wc_hash_init(&a1, &a2);
    wc_hash_update(&a1, &a2, d, 1000);
    wc_hash_init(&b1, &b2);
    wc_hash_update(&b1, &b2, d, 1);
    wc_hash_update(&b1, &b2, d + 1, 500);
    wc_hash_update(&b1, &b2, d + 501, 499);
    CU_ASSERT(a1 == b1 && a2 == b2);
}

/* Random bytes, random chunking at separators (as the reader hands them
 * out) and inside tokens (continues), against a plain tokenizer. */
static void test_random(void)
{
    GRand *g = g_rand_new_with_seed(1234);
    for (int round = 0; round < 400; round++) {
        wc_mode mode = round % 2 ? WC_WHITESPACE : WC_WORDS;
        size_t n = (size_t)g_rand_int_range(g, 0, 3000);
        unsigned char *d = g_malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            int r = g_rand_int_range(g, 0, 10);
            d[i] = r < 2 ? (unsigned char)" \n,.\t"[g_rand_int_range(g, 0, 5)]
                         : (unsigned char)g_rand_int_range(g, 0, 256);
        }
        wc_tok ref;
        wc_tok_init(&ref, mode, 0);
        GString *want = g_string_new(NULL);
        size_t i = 0;
        while (i < n) { /* reference: byte by byte, lowercase by hand */
            while (i < n && ref.sep[d[i]])
                i++;
            if (i == n)
                break;
            while (i < n && !ref.sep[d[i]]) {
                unsigned char c = d[i++];
                if (mode == WC_WORDS && c >= 'A' && c <= 'Z')
                    c = (unsigned char)(c + 32);
                g_string_append_c(want, (char)c);
            }
            g_string_append_c(want, '|');
        }
        /* chunks: cut anywhere; a cut inside a token continues */
        wc_tok t;
        wc_tok_init(&t, mode, 0);
        GString *got = g_string_new(NULL);
        unsigned char *copy = g_memdup2(d, n + 1);
        size_t at = 0;
        while (at < n) {
            size_t len = (size_t)g_rand_int_range(g, 1, 200);
            if (len > n - at)
                len = n - at;
            int cont = at + len < n && !ref.sep[copy[at + len - 1]] &&
                       !ref.sep[copy[at + len]];
            CU_ASSERT_EQUAL(wc_tok_feed(&t, copy + at, len, cont, collect, got),
                            0);
            at += len;
        }
        unsigned char none = 0;
        wc_tok_feed(&t, &none, 0, 0, collect, got); /* end of input */
        CU_ASSERT_EQUAL(got->len, want->len);
        CU_ASSERT(got->len == want->len &&
                  memcmp(got->str, want->str, got->len) == 0);
        g_free(copy);
        g_string_free(got, TRUE);
        g_string_free(want, TRUE);
        wc_tok_fini(&t);
        wc_tok_fini(&ref);
        g_free(d);
    }
    g_rand_free(g);
}

/* The output order: count descending, then word bytewise (a prefix
 * first). */
static int out_order(uint64_t ca, const char *a, uint64_t cb, const char *b)
{
    if (ca != cb)
        return ca > cb ? -1 : 1;
    return strcmp(a, b);
}

/* wc_count_key's one rule: a smaller key means earlier in the output
 * order. Counts of every bit length, words that share long prefixes. */
static void test_count_key(void)
{
    static const uint64_t counts[] = {0, 1, 2, 3, 7, 8, 14, 255, 256, 2047,
                                      2048, 0xffffff, 0x1000000,
                                      (1ULL << 39) + 5, 1ULL << 40,
                                      (1ULL << 40) + 1, UINT64_MAX / 3,
                                      UINT64_MAX};
    static const char *words[] = {"", "a", "ab", "sode", "sodedaro",
                                  "sodeerro", "sodedarp", "sodedaroo",
                                  "\xff\xff", "zz", "sodedar"};
    size_t nc = sizeof counts / sizeof *counts;
    size_t nw = sizeof words / sizeof *words;
    int wrong = 0;
    for (size_t i = 0; i < nc * nw; i++)
        for (size_t j = 0; j < nc * nw; j++) {
            uint64_t ca = counts[i / nw], cb = counts[j / nw];
            const char *a = words[i % nw], *b = words[j % nw];
            uint64_t ka = wc_count_key(ca, a, strlen(a));
            uint64_t kb = wc_count_key(cb, b, strlen(b));
            if (ka < kb && out_order(ca, a, cb, b) >= 0)
                wrong++;
        }
    CU_ASSERT_EQUAL(wrong, 0);
    /* Small counts leave room for more of the word: 6 bytes under a
     * count of 14 (these differ in the fifth), 7 under a count of 1
     * (these in the seventh), so their keys tell them apart. */
    CU_ASSERT(wc_count_key(14, "sodedaro", 8) < wc_count_key(14, "sodeerro", 8));
    CU_ASSERT(wc_count_key(1, "sodedaxo", 8) < wc_count_key(1, "sodedayo", 8));
}

/* The order on words with their lengths (they may hold NUL bytes). */
static int out_order_n(uint64_t ca, const char *a, size_t la, uint64_t cb,
                       const char *b, size_t lb)
{
    if (ca != cb)
        return ca > cb ? -1 : 1;
    int c = memcmp(a, b, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* The first level (0 to 8) where the two keys differ, or -1; *less: the
 * first's key is the smaller there. */
static int first_level(uint64_t ca, const char *a, size_t la, uint64_t cb,
                       const char *b, size_t lb, int *less)
{
    *less = 0;
    for (unsigned lv = 0; lv <= 8; lv++) {
        uint64_t ka = lv ? wc_count_key_at(ca, a, la, lv)
                         : wc_count_key(ca, a, la);
        uint64_t kb = lv ? wc_count_key_at(cb, b, lb, lv)
                         : wc_count_key(cb, b, lb);
        if (ka != kb) {
            *less = ka < kb;
            return (int)lv;
        }
    }
    return -1;
}

/* wc_count_key_at's rule: among words whose keys are equal at every level
 * below, a smaller key at a level means earlier in the order. Words that
 * share 8, 15, 16 or 25 bytes, counts of every size. */
static void test_count_key_at(void)
{
    static const uint64_t counts[] = {0, 1, 2, 14, 2047, 0xffffff,
                                      (1ULL << 39) + 5, 1ULL << 40,
                                      (1ULL << 41) + 3, UINT64_MAX};
    static const struct {
        const char *s;
        size_t n;
    } words[] = {{"", 0},
                 {"a", 1},
                 {"sodedaro", 8},
                 {"sodedaroo", 9},
                 {"sodedarp", 8},
                 {"CONFIG_SND_SOC_", 15},
                 {"CONFIG_SND_SOC_A", 16},
                 {"CONFIG_SND_SOC_B", 16},
                 {"CONFIG_SND_SOC_AB", 17},
                 {"CONFIG_SND_SOC_A\0", 17},
                 {"CONFIG_SND_SOC_A\0\0", 18},
                 {"struct snd_soc_component_driver", 31},
                 {"struct snd_soc_component_drivers", 32},
                 {"struct snd_soc_compress_ops", 27},
                 {"\xff\xff\xff\xff\xff\xff\xff\xff\xff", 9},
                 {"\xff\xff\xff\xff\xff\xff\xff\xff", 8}};
    size_t nc = sizeof counts / sizeof *counts;
    size_t nw = sizeof words / sizeof *words;
    int wrong = 0, apart = 0, pairs = 0;
    for (size_t i = 0; i < nc * nw; i++)
        for (size_t j = 0; j < nc * nw; j++) {
            uint64_t ca = counts[i / nw], cb = counts[j / nw];
            const char *a = words[i % nw].s, *b = words[j % nw].s;
            size_t la = words[i % nw].n, lb = words[j % nw].n;
            int less = 0, lv = first_level(ca, a, la, cb, b, lb, &less);
            int o = out_order_n(ca, a, la, cb, b, lb);
            if (lv >= 0 && (less ? o >= 0 : o <= 0))
                wrong++;
            if (i != j && ca != 0 && cb != 0) {
                pairs++;
                apart += lv >= 0;
            }
        }
    CU_ASSERT_EQUAL(wrong, 0);
    /* Every pair of distinct (count, word) is told apart by some level
     * but those that differ only by trailing NUL bytes (zero-padded
     * alike): "CONFIG_SND_SOC_A" and its two NUL-ended forms, three
     * pairs each way under each of the nine non-zero counts. */
    CU_ASSERT_EQUAL(pairs - apart, 9 * 6);
    /* Under a count of 1 the first level holds 7 bytes: these two differ
     * in the sixteenth and are apart at level 2, not compared. */
    int less = 0;
    CU_ASSERT_EQUAL(first_level(1, "CONFIG_SND_SOC_A", 16, 1,
                                "CONFIG_SND_SOC_B", 16, &less), 2);
    CU_ASSERT(less);
    /* A huge count: level 0 keeps its length only, level 1 the count. */
    CU_ASSERT_EQUAL(first_level((1ULL << 41) + 3, "ab", 2, (1ULL << 41) + 4,
                                "ab", 2, &less), 1);
    CU_ASSERT(!less);
}

static CU_TestInfo tests[] = {
    {"order key", test_count_key},
    {"order key levels", test_count_key_at},
    {"words", test_words},
    {"whitespace", test_whitespace},
    {"tokens across chunks", test_continues},
    {"emit error stops", test_emit_error},
    {"long tokens", test_long_tokens},
    {"hash of pieces", test_hash_split},
    {"random against a reference", test_random},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"wc_token", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
