/* wc_token.c -- the word count tokenizer (see wc_token.h).
 *
 * The hot loop is two table-driven scans per token (skip separators, then
 * take word bytes) over a chunk that was lowercased beforehand in one
 * branch-free pass the compiler vectorises; tokens are handed to emit as
 * pointers into the chunk, with no copy. Only a token cut by the end of a
 * chunk (longer than the reader's buffer) is copied, into pbuf.
 */
/* SPDX-License-Identifier: MIT */
#include "wc_token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mr/mr_job.h>

#define P1 0x100000001b3ull      /* FNV-1a 64 prime */
#define P2 0x9e3779b97f4a7c15ull /* golden ratio, odd */

void wc_hash_init(uint64_t *h1, uint64_t *h2)
{
    *h1 = 0xcbf29ce484222325ull;
    *h2 = 0x243f6a8885a308d3ull;
}

void wc_hash_update(uint64_t *h1, uint64_t *h2, const unsigned char *p,
                    size_t n)
{
    uint64_t a = *h1, b = *h2;
    for (size_t i = 0; i < n; i++) {
        a = (a ^ p[i]) * P1;
        b = ((b ^ p[i]) * P2);
        b ^= b >> 29;
    }
    *h1 = a;
    *h2 = b;
}

static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ull;
    k ^= k >> 33;
    return k;
}

size_t wc_tok_long_key(unsigned char *out, const unsigned char *prefix,
                       uint64_t len, uint64_t h1, uint64_t h2)
{
    size_t np = len < WC_LONG_PREFIX ? (size_t)len : WC_LONG_PREFIX;
    memcpy(out, prefix, np);
    uint64_t a = fmix64(h1 ^ len), b = fmix64(h2 + len * P2);
    int n = snprintf((char *)out + np, WC_LONG_KEY_MAX - np,
                     " ... (%llu bytes, hash %016llx%016llx)",
                     (unsigned long long)len, (unsigned long long)a,
                     (unsigned long long)b);
    return np + (size_t)n;
}

void wc_tok_init(wc_tok *t, wc_mode mode, int case_sensitive)
{
    memset(t, 0, sizeof *t);
    for (int b = 0; b < 256; b++) {
        if (mode == WC_WHITESPACE)
            t->sep[b] = b == ' ' || b == '\t' || b == '\n' || b == '\v' ||
                        b == '\f' || b == '\r';
        else
            t->sep[b] = !((b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                          (b >= '0' && b <= '9') || b >= 0x80);
    }
    t->lower = mode == WC_WORDS && !case_sensitive;
}

void wc_tok_fini(wc_tok *t)
{
    free(t->pbuf);
    t->pbuf = NULL;
}

void wc_tok_reset(wc_tok *t)
{
    t->pending = 0;
}

/* OPTIMIZATION: branch-free, so it vectorises. */
static void lower_ascii(unsigned char *d, size_t n)
{
    for (size_t i = 0; i < n; i++)
        d[i] = (unsigned char)(d[i] + (((unsigned)(d[i] - 'A') < 26u) << 5));
}

static int emit_long(const unsigned char *w, size_t n, wc_emit_fn *emit,
                     void *arg)
{
    uint64_t h1, h2;
    unsigned char key[WC_LONG_KEY_MAX];
    wc_hash_init(&h1, &h2);
    wc_hash_update(&h1, &h2, w, n);
    size_t kn = wc_tok_long_key(key, w, n, h1, h2);
    return emit(arg, key, kn);
}

static void pend_add(wc_tok *t, const unsigned char *p, size_t n)
{
    if (n == 0)
        return;
    if (t->plen < WC_WORD_MAX) {
        size_t room = WC_WORD_MAX - (size_t)t->plen;
        memcpy(t->pbuf + t->plen, p, n < room ? n : room);
    }
    wc_hash_update(&t->h1, &t->h2, p, n);
    t->plen += n;
}

static int pend_finish(wc_tok *t, wc_emit_fn *emit, void *arg)
{
    t->pending = 0;
    if (t->plen <= WC_WORD_MAX)
        return t->plen ? emit(arg, t->pbuf, (size_t)t->plen) : 0;
    unsigned char key[WC_LONG_KEY_MAX];
    size_t kn = wc_tok_long_key(key, t->pbuf, t->plen, t->h1, t->h2);
    return emit(arg, key, kn);
}

int wc_tok_feed(wc_tok *t, unsigned char *d, size_t n, int cont,
                wc_emit_fn *emit, void *arg)
{
    const unsigned char *sep = t->sep;
    size_t i = 0;
    int rc;
    if (t->lower)
        lower_ascii(d, n);
    if (t->pending) {
        while (i < n && !sep[d[i]])
            i++;
        pend_add(t, d, i);
        if (i == n && cont)
            return 0;
        if ((rc = pend_finish(t, emit, arg)) != 0)
            return rc;
    }
    for (;;) {
        while (i < n && sep[d[i]])
            i++;
        if (i == n)
            return 0;
        size_t s = i;
        while (i < n && !sep[d[i]])
            i++;
        if (i == n && cont) { /* the token goes on in the next chunk */
            if (!t->pbuf)
                t->pbuf = malloc(WC_WORD_MAX);
            if (!t->pbuf)
                abort(); /* out of memory is fatal, as everywhere */
            t->pending = 1;
            t->plen = 0;
            wc_hash_init(&t->h1, &t->h2);
            pend_add(t, d + s, n - s);
            return 0;
        }
        rc = i - s <= WC_WORD_MAX ? emit(arg, d + s, i - s)
                                  : emit_long(d + s, i - s, emit, arg);
        if (rc)
            return rc;
    }
}

uint64_t wc_count_key(uint64_t count, const void *word, size_t len)
{
    if (count == 0) /* does not occur in a table; sorts last, coarsely */
        return UINT64_MAX;
    /* count = 2^(L-1) + m, m < 2^(L-1); L = bit length, 1 to 64 */
    unsigned L = 64 - (unsigned)__builtin_clzll(count);
    uint64_t head = (uint64_t)(64 - L) << 58; /* longer counts first */
    if (L > 40)
        return head; /* huge counts: the full comparison decides */
    unsigned mbits = L - 1, wbits = 58 - mbits;
    uint64_t m = count - ((uint64_t)1 << mbits);
    uint64_t mdesc = (((uint64_t)1 << mbits) - 1) - m; /* larger m first */
    return head | mdesc << wbits | mr_prefix64(word, len) >> (64 - wbits);
}

uint64_t wc_count_key_at(uint64_t count, const void *word, size_t len,
                         unsigned level)
{
    if (count == 0) /* last at every level, as at level 0 */
        return UINT64_MAX;
    unsigned L = 64 - (unsigned)__builtin_clzll(count);
    size_t off; /* the word's bytes this level starts at */
    if (L > 40) { /* level 0 held the bit length only: the count, then */
        if (level == 1)
            return ~count;
        off = (size_t)(level - 2) * 8;
    } else { /* level 0 held 59 - L bits of the word; whole bytes go again */
        off = (59 - L) / 8 + (size_t)(level - 1) * 8;
    }
    return off < len ? mr_prefix64((const unsigned char *)word + off, len - off)
                     : 0;
}
