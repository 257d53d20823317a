/* fuzz_token.c -- libFuzzer target: wordcount's tokenizer.
 *
 * The first input byte picks the mode (words or whitespace, case folding)
 * and the size of the pieces the rest is fed in, with the reader's
 * "continues" flag set on pieces that do not end at a separator. Every
 * emitted token must be non-empty and free of separator bytes (or be one
 * of the long-token keys, which are longer than WC_LONG_PREFIX), and the
 * token bytes can never exceed the input bytes.
 */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wc_token.h"

typedef struct seen {
    const wc_tok *t;
    size_t bytes;
} seen;

static int on_token(void *arg, const unsigned char *w, size_t n)
{
    seen *s = arg;
    if (n == 0)
        abort();
    if (n <= WC_LONG_PREFIX)
        for (size_t i = 0; i < n; i++)
            if (s->t->sep[w[i]])
                abort();
    s->bytes += n;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    unsigned mode = data[0];
    size_t piece = 1 + (mode >> 3); /* 1..32 bytes */
    unsigned char *buf = malloc(size);
    memcpy(buf, data + 1, size - 1);
    size_t n = size - 1;
    wc_tok t;
    wc_tok_init(&t, (mode & 1) ? WC_WHITESPACE : WC_WORDS, (mode & 2) != 0);
    seen s = {&t, 0};
    for (size_t off = 0; off < n;) {
        size_t len = n - off < piece ? n - off : piece;
        int continues = off + len < n && !t.sep[buf[off + len - 1]];
        if (wc_tok_feed(&t, buf + off, len, continues, on_token, &s) != 0)
            abort();
        off += len;
    }
    wc_tok_feed(&t, buf, 0, 0, on_token, &s); /* end of input */
    wc_tok_fini(&t);
    if (s.bytes > n + 80 * (n / 64 + 1)) /* long keys add a fixed suffix */
        abort();
    free(buf);
    return 0;
}
