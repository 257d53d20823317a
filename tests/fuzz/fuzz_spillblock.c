/* fuzz_spillblock.c -- libFuzzer target: spill run-file blocks
 * (mr_spill.c).
 *
 * The first input byte picks the codec (low two bits) and the mode. Decode
 * mode: the rest is a block, which must decode to records that parse to
 * exactly its raw length, or fail with a message; never crash. Round-trip
 * mode (bit 2): the rest is cut into records (key and value lengths from
 * the bytes themselves), encoded as one block and decoded again, which
 * must give back the same bytes.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mr_spill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(mr_codec c, const uint8_t *p, size_t n)
{
    unsigned char *raw = NULL;
    size_t rawlen = 0, nrec = 0;
    char *err = NULL;
    int rc = mr__spill_block_decode(c, p, n, &raw, &rawlen, &nrec, &err);
    if (rc == MR_OK) {
        size_t off = 0, k = 0;
        while (off < rawlen) {
            mr_rec r;
            off += mr__rec_read(raw + off, &r);
            k++;
        }
        if (off != rawlen || k != nrec || err)
            abort();
        g_free(raw);
    } else if (rc != MR_EINVAL || !err || raw) {
        abort();
    }
    g_free(err);
}

static void round_trip(mr_codec c, const uint8_t *p, size_t n)
{
    /* Records [klen][vlen][task][key][value] with lengths taken mod 64
     * from the input, the bytes themselves as keys and values. */
    GByteArray *b = g_byte_array_new();
    size_t nrec = 0;
    for (size_t i = 0; i + 2 <= n;) {
        size_t kl = p[i] % 64, vl = p[i + 1] % 64, rest = n - i - 2;
        uint32_t h[3] = {0, 0, (uint32_t)i};
        i += 2;
        kl = kl < rest ? kl : rest;
        vl = vl < rest - kl ? vl : rest - kl;
        h[0] = (uint32_t)kl;
        h[1] = (uint32_t)vl;
        g_byte_array_append(b, (const guint8 *)h, sizeof h);
        if (kl + vl)
            g_byte_array_append(b, p + i, (guint)(kl + vl));
        i += kl + vl;
        nrec++;
    }
    if (nrec == 0) {
        g_byte_array_free(b, TRUE);
        return;
    }
    mr_spill_codec *cx = mr__spill_codec_new(c);
    unsigned char *blk = g_malloc(mr__spill_block_bound(c, b->len));
    size_t len = mr__spill_block_encode(cx, b->data, b->len, nrec, blk);
    unsigned char *raw = NULL;
    size_t rawlen, got;
    char *err = NULL;
    if (mr__spill_block_decode(c, blk, len, &raw, &rawlen, &got, &err) != MR_OK ||
        rawlen != b->len || got != nrec || memcmp(raw, b->data, rawlen) != 0)
        abort();
    g_free(raw);
    g_free(blk);
    mr__spill_codec_free(cx);
    g_byte_array_free(b, TRUE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    mr_codec c = (mr_codec)(data[0] & 3);
    if (data[0] & 4)
        round_trip(c, data + 1, size - 1);
    else
        decode(c, data + 1, size - 1);
    return 0;
}
