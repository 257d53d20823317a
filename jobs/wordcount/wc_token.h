/* wc_token.h -- the word count tokenizer: words or whitespace tokens.
 *
 * Two tokenizations:
 *   WC_WORDS       maximal runs of ASCII letters, digits and bytes >= 0x80
 *                  (UTF-8 words stay whole); ASCII letters lowercased
 *                  unless case-sensitive.
 *   WC_WHITESPACE  maximal runs of bytes other than space \t \n \v \f \r,
 *                  case kept. NUL is a word byte, so `tr | sort | uniq -c`
 *                  agrees with us only on input without NUL bytes (tr and
 *                  sort handle NUL in their own ways).
 *
 * Chunks come from mr_input_reader: they end at a separator unless marked
 * "continues", in which case the last token goes on in the next chunk.
 *
 * Long tokens. A token of at most WC_WORD_MAX (64 KiB) bytes is counted
 * under itself. A longer one (binary data, a 100 MB line of base64) is
 * counted under a key made of its first WC_LONG_PREFIX bytes and a suffix
 * "... (N bytes, hash H)", H a 128-bit hash of all its bytes. Memory stays
 * bounded (only the first 64 KiB of a token in pieces is kept), the count
 * stays exact up to a 128-bit hash collision, and the suffix holds spaces,
 * which no token can, so such a key never equals a real token.
 */
/* SPDX-License-Identifier: MIT */
#ifndef WC_TOKEN_H
#define WC_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#define WC_WORD_MAX ((size_t)64 << 10)
#define WC_LONG_PREFIX 64
/* Longest key of a long token: prefix + " ... (" + 20 digits +
 * " bytes, hash " + 32 hex + ")". */
#define WC_LONG_KEY_MAX (WC_LONG_PREFIX + 80)

typedef enum wc_mode { WC_WORDS, WC_WHITESPACE } wc_mode;

/* Called once per token; a non-zero return stops the chunk and is
 * returned by wc_tok_feed(). */
typedef int wc_emit_fn(void *arg, const unsigned char *word, size_t len);

typedef struct wc_tok {
    unsigned char sep[256]; /* 1: separator byte */
    int lower;              /* fold ASCII A-Z to a-z */
    /* A token handed in pieces (private). */
    int pending;
    uint64_t plen;       /* its bytes so far */
    uint64_t h1, h2;     /* hash of them */
    unsigned char *pbuf; /* its first WC_WORD_MAX bytes */
} wc_tok;

void wc_tok_init(wc_tok *t, wc_mode mode, int case_sensitive);
void wc_tok_fini(wc_tok *t);
/* Forgets a token left in pieces (a new task starts). */
void wc_tok_reset(wc_tok *t);

/* Tokenizes data[0..len) and calls emit for each token. data is modified
 * in place (lowercased). continues: the last token goes on in the next
 * call. Returns 0 or emit's first non-zero return. */
int wc_tok_feed(wc_tok *t, unsigned char *data, size_t len, int continues,
                wc_emit_fn *emit, void *arg);

/* Writes the key of a long token of `len` bytes whose first
 * min(len, WC_LONG_PREFIX) bytes are `prefix`, into out (at least
 * WC_LONG_KEY_MAX bytes); returns its length. Exposed for tests and for
 * the baseline, which must produce the same keys. */
size_t wc_tok_long_key(unsigned char *out, const unsigned char *prefix,
                       uint64_t len, uint64_t h1, uint64_t h2);

/* The 128-bit hash used for long tokens: start with wc_hash_init, feed
 * bytes with wc_hash_update, any split of the bytes gives the same. */
void wc_hash_init(uint64_t *h1, uint64_t *h2);
void wc_hash_update(uint64_t *h1, uint64_t *h2, const unsigned char *p,
                    size_t n);

/* The output order (count descending, then word bytewise) in 64 bits,
 * for mr_keysort. The count takes few bits when it is small, as most are:
 * 6 bits of its bit length L, then its L - 1 bits below the top one (both
 * inverted, so larger counts come first); the word's first bytes fill the
 * rest (58 - (L - 1) bits: 7 bytes for a count of 1, 6 for counts under
 * 8, 5 for counts under 2^11). Counts of 2^40 and more keep only their
 * length: equal keys are then ordered by the full comparison. Shared by
 * the job (order_key) and the baseline.
 * (Before: 24 bits of count, then 5 bytes of word. On the 4 M distinct
 * whitespace tokens of the 1 GB benchmark, 58% of records shared their
 * key with another and went through the comparison sort.) */
uint64_t wc_count_key(uint64_t count, const void *word, size_t len);
/* The order's next 64 bits at `level` >= 1 among words whose keys at the
 * levels below are equal (mr_job's order_key_at): the count where level 0
 * held only its bit length, then the word's next bytes. */
uint64_t wc_count_key_at(uint64_t count, const void *word, size_t len,
                         unsigned level);

#endif /* WC_TOKEN_H */
