/* wc_baseline.c -- mr-wc-baseline: word count in one process, no MPI.
 *
 *   mr-wc-baseline [--top K] [--out FILE] [--tokens words|whitespace]
 *                  [--case-sensitive] INPUT...
 *
 * The ceiling that tools/bench/wordcount.sh measures `mr-run wordcount`
 * against: the same input layer (mr_input: files, folders, .gz, stdin),
 * the same tokenizer (wc_token.c) and byte-identical output (top K on
 * stdout, the full table in --out, synced as mr's is; the summary line on
 * stderr, with the seconds of its output phase added), but none
 * of the engine: one open-addressing table (a 64-bit slot per key: 32 bits
 * of hash and the entry's place in an arena; linear probing; load <= 1/2;
 * a hash of its own, one multiply per 8 bytes, that reads a key with the
 * engine's fixed-size loads, and the engine's short-key compare, both from
 * framework/mr_small.h; adds parked in a ring while their slot and entry
 * are prefetched, as the engine's fold table does), then one sort of the
 * entries by count descending, word ascending, with the engine's own sort
 * (framework/mr_keysort.h: radix on a 64-bit key, then comparisons among
 * equal keys).
 * Written to be simple and fast, not general.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mr/mr_input.h>
#include <mr/mr_job.h>

#include "mr_bigmem.h"
#include "mr_keysort.h"
#include "mr_small.h"

#include "wc_token.h"

typedef struct table {
    uint64_t *slot;
    size_t mask, count;
    unsigned char *arena; /* entries: [u64 count][u32 len][key][pad to 8] */
    size_t alen, acap;
} table;

static void *xrealloc(void *p, size_t n)
{
    p = realloc(p, n);
    if (!p) {
        fprintf(stderr, "mr-wc-baseline: out of memory\n");
        exit(1);
    }
    return p;
}

static uint64_t hash(const unsigned char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    while (n >= 8) {
        h = (h ^ mr__load64(p)) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    h = (h ^ mr__load_tail(p, n)) * 0xc4ceb9fe1a85ec53ull;
    return h ^ (h >> 29);
}

static size_t esize(size_t len)
{
    return (12 + len + 7) & ~(size_t)7;
}

static void grow(table *t)
{
    size_t nmask = t->mask * 2 + 1;
    uint64_t *ns = mr_bigmem_zalloc((nmask + 1) * 8);
    for (size_t i = 0; i <= t->mask; i++) {
        uint64_t s = t->slot[i];
        if (!s)
            continue;
        unsigned char *e = t->arena + ((s & 0xffffffffu) - 1) * 8;
        uint32_t len;
        memcpy(&len, e + 8, 4);
        size_t j = hash(e + 12, len) & nmask;
        while (ns[j])
            j = (j + 1) & nmask;
        ns[j] = s;
    }
    mr_bigmem_free(t->slot, (t->mask + 1) * 8);
    t->slot = ns;
    t->mask = nmask;
}

static void add_hashed(table *t, const unsigned char *w, size_t n, uint64_t h)
{
    uint64_t tag = h & 0xffffffff00000000ull;
    size_t i = h & t->mask;
    for (uint64_t s; (s = t->slot[i]) != 0; i = (i + 1) & t->mask) {
        if ((s & 0xffffffff00000000ull) != tag)
            continue;
        unsigned char *e = t->arena + ((s & 0xffffffffu) - 1) * 8;
        uint32_t len;
        memcpy(&len, e + 8, 4);
        if (len == n && mr__small_eq(e + 12, w, n)) {
            (*(uint64_t *)e)++;
            return;
        }
    }
    size_t need = esize(n);
    if (t->acap - t->alen < need) {
        size_t old = t->acap;
        while (t->acap - t->alen < need)
            t->acap = t->acap ? t->acap * 2 : 1 << 20;
        t->arena = mr_bigmem_grow(t->arena, old, t->acap);
    }
    unsigned char *e = t->arena + t->alen;
    uint64_t one = 1;
    uint32_t len = (uint32_t)n;
    memcpy(e, &one, 8);
    memcpy(e + 8, &len, 4);
    memcpy(e + 12, w, n);
    t->slot[i] = tag | (t->alen / 8 + 1);
    t->alen += need;
    if (++t->count * 2 > t->mask)
        grow(t);
}

/* OPTIMIZATION: the table is far bigger than the caches, so a lookup is
 * two cache misses (slot, then entry). Tokens wait in a small ring while
 * their slots are prefetched, so the misses of several tokens overlap.
 * The tokens point into the current chunk: drain before it changes. */
#define RING 16
typedef struct pending {
    const unsigned char *w;
    size_t n;
    uint64_t h;
} pending;

typedef struct batch {
    table *t;
    pending ring[RING];
    unsigned head, len;
    const unsigned char *lo, *hi; /* the chunk the tokens point into */
} batch;

static void drain(batch *b);

static int add(void *arg, const unsigned char *w, size_t n)
{
    batch *b = arg;
    if (w < b->lo || w >= b->hi) { /* a long token's key: not kept */
        drain(b);
        add_hashed(b->t, w, n, hash(w, n));
        return 0;
    }
    if (b->len >= RING / 2) { /* half way: the slot is in cache */
        pending *q = &b->ring[(b->head + b->len - RING / 2) % RING];
        uint64_t s = b->t->slot[q->h & b->t->mask];
        if (s) { /* both ends: an entry may straddle two cache lines */
            unsigned char *e = b->t->arena + ((s & 0xffffffffu) - 1) * 8;
            __builtin_prefetch(e);
            __builtin_prefetch(e + 12 + q->n - 1);
        }
    }
    if (b->len == RING) {
        pending *p = &b->ring[b->head];
        add_hashed(b->t, p->w, p->n, p->h);
        b->head = (b->head + 1) % RING;
        b->len--;
    }
    pending *p = &b->ring[(b->head + b->len) % RING];
    p->w = w;
    p->n = n;
    p->h = hash(w, n);
    __builtin_prefetch(&b->t->slot[p->h & b->t->mask]);
    b->len++;
    return 0;
}

static void drain(batch *b)
{
    while (b->len) {
        pending *p = &b->ring[b->head];
        add_hashed(b->t, p->w, p->n, p->h);
        b->head = (b->head + 1) % RING;
        b->len--;
    }
}

/* Count descending, then word ascending: entries are count (8 bytes),
 * length (4), word. */
static const void *arena_at(uint64_t ref, void *arena)
{
    return (const unsigned char *)arena + ref;
}

static int by_count(const mr_keyed *x, const mr_keyed *y, void *arena)
{
    size_t oa = x->ref, ob = y->ref;
    const unsigned char *a = (const unsigned char *)arena + oa;
    const unsigned char *b = (const unsigned char *)arena + ob;
    uint64_t ca, cb;
    uint32_t la, lb;
    memcpy(&ca, a, 8);
    memcpy(&cb, b, 8);
    if (ca != cb)
        return ca > cb ? -1 : 1;
    memcpy(&la, a + 8, 4);
    memcpy(&lb, b + 8, 4);
    int c = memcmp(a + 12, b + 12, la < lb ? la : lb);
    return c ? c : (la > lb) - (la < lb);
}

/* The entry's key at `level`, as the job's order_key_at gives it. */
static uint64_t level_key(uint64_t ref, unsigned level, void *arg)
{
    const unsigned char *e = (const unsigned char *)arg + ref;
    uint32_t len;
    uint64_t count;
    memcpy(&count, e, 8);
    memcpy(&len, e + 8, 4);
    return wc_count_key_at(count, e + 12, len, level);
}

static void put_line(FILE *f, const unsigned char *e)
{
    uint64_t count;
    uint32_t len;
    memcpy(&count, e, 8);
    memcpy(&len, e + 8, 4);
    char num[24], *p = num + sizeof num;
    *--p = '\n';
    do
        *--p = (char)('0' + count % 10);
    while (count /= 10);
    *--p = '\t';
    fwrite_unlocked(e + 12, 1, len, f);
    fwrite_unlocked(p, 1, (size_t)(num + sizeof num - p), f);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: mr-wc-baseline [--top K] [--out FILE] "
                    "[--tokens words|whitespace] [--case-sensitive] "
                    "INPUT...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    double t0 = now();
    long top = 10;
    const char *out = NULL;
    wc_mode mode = WC_WORDS;
    int cs = 0, ninputs = 0;
    mr_input_plan *plan = mr_input_plan_new();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--case-sensitive") == 0) {
            cs = 1;
        } else if (strcmp(a, "--top") == 0 && i + 1 < argc) {
            top = atol(argv[++i]);
            if (top <= 0)
                usage();
        } else if (strcmp(a, "--out") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(a, "--tokens") == 0 && i + 1 < argc) {
            a = argv[++i];
            if (strcmp(a, "words") == 0)
                mode = WC_WORDS;
            else if (strcmp(a, "whitespace") == 0)
                mode = WC_WHITESPACE;
            else
                usage();
        } else if (a[0] == '-' && a[1] == '-') {
            usage();
        } else {
            ninputs++;
            if (mr_input_plan_add(plan, a) != MR_OK) {
                fprintf(stderr, "mr-wc-baseline: %s\n",
                        mr_input_plan_error(plan));
                return 1;
            }
        }
    }
    if (!ninputs)
        usage();
    /* One task per file (a huge min_task): no ranges to cut. */
    mr_input_plan_cut(plan, 1, UINT64_MAX / 4);

    wc_tok tok;
    wc_tok_init(&tok, mode, cs);
    table t = {.mask = 1023};
    t.slot = mr_bigmem_zalloc((t.mask + 1) * 8);
    mr_input_reader *r = mr_input_reader_new(tok.sep, 0);
    batch b = {.t = &t};
    uint64_t bytes = 0;
    for (size_t i = 0; i < mr_input_plan_ntasks(plan); i++) {
        mr_input_chunk c;
        int rc = mr_input_reader_open(r, mr_input_plan_task(plan, i, NULL));
        while (rc == MR_OK && (rc = mr_input_reader_next(r, &c)) == 1) {
            bytes += c.len;
            b.lo = c.data;
            b.hi = c.data + c.len;
            wc_tok_feed(&tok, c.data, c.len,
                        (c.flags & MR_INPUT_CONTINUES) != 0, add, &b);
            drain(&b);
            rc = MR_OK;
        }
        if (rc < 0) {
            fprintf(stderr, "mr-wc-baseline: %s\n", mr_input_reader_error(r));
            return 1;
        }
    }

    double t_out = now(); /* what mr calls the output phase starts here */
    mr_keyed *order = xrealloc(NULL, (t.count + 1) * sizeof *order);
    size_t n = 0;
    uint64_t words = 0;
    for (size_t pos = 0; pos < t.alen; n++) {
        uint32_t len;
        uint64_t count;
        memcpy(&count, t.arena + pos, 8);
        memcpy(&len, t.arena + pos + 8, 4);
        words += count;
        order[n].key = wc_count_key(count, t.arena + pos + 12, len);
        order[n].ref = pos;
        pos += esize(len);
    }
    mr_keysort_lv(order, n, by_count, arena_at, level_key, t.arena);
    for (size_t i = 0; i < n && i < (size_t)top; i++)
        put_line(stdout, t.arena + order[i].ref);
    fflush(stdout);
    if (out) {
        FILE *f = fopen(out, "w");
        if (!f) {
            perror(out);
            return 1;
        }
        setvbuf(f, NULL, _IOFBF, 1 << 20);
        for (size_t i = 0; i < n; i++)
            put_line(f, t.arena + order[i].ref);
        /* Durable, as mr's table is before it is renamed into place. */
        if (fflush(f) != 0 || fsync(fileno(f)) != 0 || fclose(f) != 0) {
            perror(out);
            return 1;
        }
    }
    double t_end = now(), secs = t_end - t0;
    fprintf(stderr,
            "wordcount: %" PRIu64 " bytes, %" PRIu64 " words, %zu distinct, "
            "%.3f s, %.1f MB/s, output %.3f s\n",
            bytes, words, n, secs, secs > 0 ? (double)bytes / 1e6 / secs : 0,
            t_end - t_out);
    free(order);
    mr_bigmem_free(t.slot, (t.mask + 1) * 8);
    mr_bigmem_free(t.arena, t.acap);
    wc_tok_fini(&tok);
    mr_input_reader_free(r);
    mr_input_plan_free(plan);
    return 0;
}
