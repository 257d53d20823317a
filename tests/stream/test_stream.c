/* test_stream.c -- unit tests of the stream job's parts: child processes
 * on pipes (st_proc.c) and the combiner's sorted pairs (st_pairs.c).
 *
 * Real processes through /bin/sh: line splitting (a last line without
 * '\n', empty lines, lines cut across reads), tens of megabytes both ways
 * (a child that echoes while it reads, one that writes everything before
 * reading anything), a child that stops reading (EPIPE, not SIGPIPE),
 * exit statuses and signals, stderr kept and bounded, a callback that
 * stops the exchange, and the child's clean signal state.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <glib.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr_test.h"
#include "st_pairs.h"
#include "st_proc.h"

typedef struct sink {
    GString *s; /* lines joined by '|', when kept */
    uint64_t n; /* lines seen */
    uint64_t bytes;
    uint64_t stop_at; /* return 42 at this line (1-based); 0: never */
} sink;

static int on_line(void *arg, const char *line, size_t len)
{
    sink *k = arg;
    k->n++;
    k->bytes += len;
    if (k->s) {
        g_string_append_len(k->s, line, (gssize)len);
        g_string_append_c(k->s, '|');
    }
    return k->stop_at && k->n == k->stop_at ? 42 : 0;
}

/* Runs cmd with `in` as input; returns the finish status. */
static int run(st_proc *p, const char *cmd, const char *in, size_t n, sink *k)
{
    CU_ASSERT_EQUAL_FATAL(st_proc_start(p, cmd), 0);
    int rc = st_proc_write(p, in, n, on_line, k);
    if (rc == 0)
        rc = st_proc_finish(p, on_line, k);
    return rc;
}

static void test_lines(void)
{
    st_proc p;
    sink k = {.s = g_string_new(NULL)};
    const char *in = "a\tb\n\nc\td\nlast";
    CU_ASSERT_EQUAL(run(&p, "cat", in, strlen(in), &k), 0);
    CU_ASSERT_STRING_EQUAL(k.s->str, "a\tb||c\td|last|");
    CU_ASSERT_EQUAL(p.lines, 4);
    CU_ASSERT_FALSE(st_proc_failed(&p));
    CU_ASSERT_FALSE(p.input_dropped);
    st_proc_kill(&p);
    st_proc_kill(&p); /* twice is fine */

    /* A line far longer than the read buffer, then a short one. */
    g_string_truncate(k.s, 0);
    k.n = 0;
    CU_ASSERT_EQUAL(run(&p,
                        "head -c 3000000 /dev/zero | tr '\\0' x; "
                        "echo; echo end",
                        "", 0, &k),
                    0);
    CU_ASSERT_EQUAL(k.n, 2);
    CU_ASSERT_EQUAL(k.s->len, 3000000 + 1 + 3 + 1);
    CU_ASSERT(g_str_has_suffix(k.s->str, "x|end|"));
    st_proc_kill(&p);
    g_string_free(k.s, TRUE);
}

/* 40 MB through `cat`: it writes while we write. */
static void test_big_echo(void)
{
    size_t n = 40u << 20;
    char *in = g_malloc(n);
    for (size_t i = 0; i < n; i++)
        in[i] = (i % 64 == 63) ? '\n' : 'a' + (char)(i % 26);
    st_proc p;
    sink k = {0};
    CU_ASSERT_EQUAL(run(&p, "cat", in, n, &k), 0);
    CU_ASSERT_EQUAL(k.n, n / 64);
    CU_ASSERT_EQUAL(k.bytes, n - n / 64);
    st_proc_kill(&p);
    g_free(in);
}

/* The child writes 50 MB before it reads its 8 MB of input. */
static void test_write_before_read(void)
{
    size_t n = 8u << 20;
    char *in = g_malloc(n);
    memset(in, 'z', n);
    st_proc p;
    sink k = {0};
    CU_ASSERT_EQUAL(run(&p,
                        "yes 0123456789012345678901234567890123456789"
                        " | head -n 1250000; wc -c",
                        in, n, &k),
                    0);
    CU_ASSERT_EQUAL(k.n, 1250000 + 1);
    CU_ASSERT_FALSE(st_proc_failed(&p));
    st_proc_kill(&p);
    g_free(in);
}

/* A child that reads one line and leaves: EPIPE, the input is dropped,
 * exit status 0 decides. SIGPIPE is ignored as the job ignores it. */
static void test_stops_reading(void)
{
    size_t n = 16u << 20;
    char *in = g_malloc(n);
    memset(in, '\n', n);
    st_proc p;
    sink k = {.s = g_string_new(NULL)};
    CU_ASSERT_EQUAL(run(&p, "head -n 1 >/dev/null; echo done", in, n, &k), 0);
    CU_ASSERT_TRUE(p.input_dropped);
    CU_ASSERT_FALSE(st_proc_failed(&p));
    CU_ASSERT_STRING_EQUAL(k.s->str, "done|");
    st_proc_kill(&p);
    g_string_free(k.s, TRUE);
    g_free(in);
}

static void test_status(void)
{
    st_proc p;
    sink k = {0};
    char d[128];
    CU_ASSERT_EQUAL(run(&p, "exit 3", "x\n", 2, &k), 0);
    CU_ASSERT_TRUE(st_proc_failed(&p));
    st_proc_describe(&p, d, sizeof d);
    CU_ASSERT_STRING_EQUAL(d, "exit status 3");
    st_proc_kill(&p);

    CU_ASSERT_EQUAL(run(&p, "kill -SEGV $$", "", 0, &k), 0);
    CU_ASSERT_TRUE(st_proc_failed(&p));
    st_proc_describe(&p, d, sizeof d);
    CU_ASSERT(g_str_has_prefix(d, "killed by signal 11 ("));
    st_proc_kill(&p);

    CU_ASSERT_EQUAL(run(&p, "no_such_program_xyz", "", 0, &k), 0);
    st_proc_describe(&p, d, sizeof d);
    CU_ASSERT_STRING_EQUAL(d, "exit status 127");
    char e[256];
    st_proc_stderr_head(&p, 3, e, sizeof e);
    CU_ASSERT_PTR_NOT_NULL(strstr(e, "no_such_program_xyz"));
    st_proc_kill(&p);
}

static void test_stderr(void)
{
    st_proc p;
    sink k = {0};
    char e[64];
    CU_ASSERT_EQUAL(
        run(&p, "printf 'one\\ntwo\\tx\\nthree\\n' >&2; exit 1", "", 0, &k), 0);
    st_proc_stderr_head(&p, 2, e, sizeof e);
    CU_ASSERT_STRING_EQUAL(e, "\n    one\n    two?x");
    st_proc_stderr_head(&p, 9, e, 12); /* cut to fit */
    CU_ASSERT_STRING_EQUAL(e, "\n    one");
    st_proc_kill(&p);

    /* 10 MB of stderr: read to the end, the first ST_ERR_KEEP bytes kept. */
    CU_ASSERT_EQUAL(
        run(&p, "head -c 10000000 /dev/zero >&2; echo out\tok", "", 0, &k), 0);
    CU_ASSERT_EQUAL(p.errlen, ST_ERR_KEEP);
    CU_ASSERT_FALSE(st_proc_failed(&p));
    st_proc_kill(&p);

    CU_ASSERT_EQUAL(run(&p, "true", "", 0, &k), 0);
    st_proc_stderr_head(&p, 5, e, sizeof e);
    CU_ASSERT_STRING_EQUAL(e, "");
    st_proc_kill(&p);
}

/* A callback's non-zero status stops the exchange and comes back; kill
 * then ends a child that would run for ever. */
static void test_callback_stops(void)
{
    st_proc p;
    sink k = {.stop_at = 3};
    CU_ASSERT_EQUAL_FATAL(st_proc_start(&p, "yes"), 0);
    CU_ASSERT_EQUAL(st_proc_finish(&p, on_line, &k), 42);
    CU_ASSERT_EQUAL(k.n, 3);
    CU_ASSERT_TRUE(p.pid > 0);
    st_proc_kill(&p);
    CU_ASSERT_EQUAL(p.pid, 0);
}

/* Bits of signals 1..31 in a /proc/self/status mask line "Name:\tHEX"
 * (glibc keeps its internal signals 32 and 33 ignored in a spawned child;
 * a program that uses them installs its handlers anyway). */
static unsigned long long std_signals(const char *line)
{
    const char *tab = strchr(line, '\t');
    return tab ? strtoull(tab + 1, NULL, 16) & 0x7fffffffull : ~0ull;
}

/* The child starts with no blocked and no ignored signals, although we
 * ignore SIGPIPE and block SIGUSR1. */
static void test_signal_state(void)
{
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, &old);
    st_proc p;
    sink k = {.s = g_string_new(NULL)};
    CU_ASSERT_EQUAL(
        run(&p, "exec grep -E '^Sig(Blk|Ign)' /proc/self/status", "", 0, &k),
        0);
    char **v = g_strsplit(k.s->str, "|", -1);
    CU_ASSERT_EQUAL_FATAL(g_strv_length(v), 3);
    CU_ASSERT(g_str_has_prefix(v[0], "SigBlk:"));
    CU_ASSERT_EQUAL(std_signals(v[0]), 0);
    CU_ASSERT(g_str_has_prefix(v[1], "SigIgn:"));
    CU_ASSERT_EQUAL(std_signals(v[1]), 0);
    g_strfreev(v);
    st_proc_kill(&p);
    sigprocmask(SIG_SETMASK, &old, NULL);
    g_string_free(k.s, TRUE);
}

/* A descriptor we opened without close-on-exec does not reach the child
 * (glibc >= 2.34 closes everything above 2). */
static void test_no_fd_leak(void)
{
    int fd = open("/dev/null", O_RDONLY);
    CU_ASSERT_FATAL(fd > 2);
    char cmd[128];
    snprintf(cmd, sizeof cmd,
             "if [ -e /proc/self/fd/%d ]; then echo open; else echo closed; fi",
             fd);
    st_proc p;
    sink k = {.s = g_string_new(NULL)};
    CU_ASSERT_EQUAL(run(&p, cmd, "", 0, &k), 0);
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 34)
    CU_ASSERT_STRING_EQUAL(k.s->str, "closed|");
#endif
    st_proc_kill(&p);
    close(fd);
    g_string_free(k.s, TRUE);
}

static void test_zeroed_kill(void)
{
    st_proc p;
    memset(&p, 0, sizeof p);
    st_proc_kill(&p); /* never started: no fd 0 closed, nothing waited */
    CU_ASSERT_EQUAL(p.pid, 0);
}

static void test_pairs(void)
{
    st_pairs ps = {0};
    const char *lines[] = {"b\t1",  "a\t2", "b\t0", "\tempty",
                           "ab\tx", "a\t1", "b\t3"};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        st_pairs_add(&ps, lines[i], strcspn(lines[i], "\t"), strlen(lines[i]));
    st_pairs_sort(&ps);
    GString *s = g_string_new(NULL);
    for (size_t i = 0; i < ps.n; i++) {
        mr_bytes l = st_pairs_line(&ps, i);
        g_string_append_len(s, l.ptr, (gssize)l.len);
        g_string_append_c(s, '|');
    }
    /* By key bytewise, a prefix first; equal keys in the order added. */
    CU_ASSERT_STRING_EQUAL(s->str, "\tempty|a\t2|a\t1|ab\tx|b\t1|b\t0|b\t3|");
    st_pairs_clear(&ps);
    CU_ASSERT_EQUAL(ps.n, 0);
    st_pairs_sort(&ps);
    st_pairs_free(&ps);
    g_string_free(s, TRUE);
}

/* Many equal keys: stable whatever qsort does. */
static void test_pairs_stable(void)
{
    st_pairs ps = {0};
    char line[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(line, sizeof line, "%c\t%d", 'a' + (i * 7) % 3, i);
        st_pairs_add(&ps, line, 1, (size_t)n);
    }
    st_pairs_sort(&ps);
    int ok = 1, last = -1;
    char key = 'a';
    for (size_t i = 0; i < ps.n; i++) {
        mr_bytes l = st_pairs_line(&ps, i);
        const char *p = l.ptr;
        char num[16] = ""; /* lines are not NUL-terminated */
        memcpy(num, p + 2, l.len - 2);
        int v = atoi(num);
        if (p[0] != key) {
            ok &= p[0] == key + 1;
            key = p[0];
            last = -1;
        }
        ok &= v > last;
        last = v;
    }
    CU_ASSERT_TRUE(ok);
    CU_ASSERT_EQUAL(key, 'c');
    st_pairs_free(&ps);
}

/* Random keys over {a, b, \0}, 0..12 bytes (so prefixes often tie and
 * NUL bytes meet the zero padding), against a plain stable sort. */
static int ref_less(const char *a, size_t al, const char *b, size_t bl)
{
    size_t n = al < bl ? al : bl;
    int c = n ? memcmp(a, b, n) : 0;
    return c ? c < 0 : al < bl;
}

static void test_pairs_random(void)
{
    enum { N = 3000 };
    static char keys[N][16];
    static size_t klen[N];
    static int order[N];
    GRand *rnd = g_rand_new_with_seed(7);
    st_pairs ps = {0};
    for (int i = 0; i < N; i++) {
        klen[i] = (size_t)g_rand_int_range(rnd, 0, 13);
        for (size_t j = 0; j < klen[i]; j++)
            keys[i][j] = "ab\0"[g_rand_int_range(rnd, 0, 3)];
        char line[40];
        memcpy(line, keys[i], klen[i]);
        int n = snprintf(line + klen[i], sizeof line - klen[i], "\t%d", i);
        st_pairs_add(&ps, line, klen[i], klen[i] + (size_t)n);
        order[i] = i;
    }
    for (int i = 1; i < N; i++) /* insertion sort: stable */
        for (int j = i;
             j > 0 && ref_less(keys[order[j]], klen[order[j]],
                               keys[order[j - 1]], klen[order[j - 1]]);
             j--) {
            int t = order[j];
            order[j] = order[j - 1];
            order[j - 1] = t;
        }
    st_pairs_sort(&ps);
    int same = 1;
    for (int i = 0; i < N; i++) {
        mr_bytes l = st_pairs_line(&ps, (size_t)i);
        const char *tab = memchr(l.ptr, '\t', l.len);
        char num[16] = ""; /* lines are not NUL-terminated */
        if (tab)
            memcpy(num, tab + 1,
                   (size_t)((const char *)l.ptr + l.len - tab - 1));
        same &= tab && atoi(num) == order[i];
    }
    CU_ASSERT_TRUE(same);
    st_pairs_free(&ps);
    g_rand_free(rnd);
}

static CU_TestInfo proc_tests[] = {
    {"lines", test_lines},
    {"40 MB echoed", test_big_echo},
    {"50 MB written before reading", test_write_before_read},
    {"child stops reading: EPIPE", test_stops_reading},
    {"exit status, signal, not found", test_status},
    {"stderr kept and bounded", test_stderr},
    {"callback stops the exchange", test_callback_stops},
    {"child signal state", test_signal_state},
    {"no descriptor leaks into the child", test_no_fd_leak},
    {"kill of a zeroed st_proc", test_zeroed_kill},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo pairs_tests[] = {
    {"sorted by key", test_pairs},
    {"stable", test_pairs_stable},
    {"random keys with NUL bytes", test_pairs_random},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"st_proc", NULL, NULL, NULL, NULL, proc_tests},
    {"st_pairs", NULL, NULL, NULL, NULL, pairs_tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as stream_setup does */
    return mr_test_run(suites);
}
