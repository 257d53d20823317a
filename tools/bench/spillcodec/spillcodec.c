/* spillcodec.c -- the spill codecs (mr_spill.c) on spill data made from a
 * text file: raw and stored bytes, compress and decompress speed of one
 * core, median of interleaved rounds.
 *
 *   bench-spillcodec [--kind wc|tokens|lines] [--mb N] [--rounds N]
 *                    [--block BYTES] FILE
 *
 * The records are what a rank would spill (mr_kvbuf.h format, sorted by
 * key bytewise, as a run is):
 *   wc      word count's fold table: each distinct whitespace token once,
 *           value its u64 count (the engine folds at emit time);
 *   tokens  one record per whitespace token, value u64 1 (a job without a
 *           fold: the general group-and-reduce path);
 *   lines   stream-like: key the line's first word, value the rest.
 * Only the first --mb MB of FILE are read (default: all of it).
 *
 * Timing goes through the module's own block functions (so it includes
 * the crc32 of each block and the record check on decode: what the engine
 * pays), blocks cut at --block raw bytes (default 64 KiB) at record
 * boundaries. Each round runs every codec once, in an order that rotates
 * from round to round, so load from elsewhere falls on all alike.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_spill.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
           c == '\f';
}

typedef struct item {
    const unsigned char *k, *v;
    uint32_t kl, vl;
    uint64_t count;
} item;

static int item_cmp(const void *a, const void *b)
{
    const item *x = a, *y = b;
    return mr__bytes_cmp(mr_mem(x->k, x->kl), mr_mem(y->k, y->kl));
}

static guint bytes_hash(gconstpointer p)
{
    const item *it = p;
    guint h = 2166136261u;
    for (uint32_t i = 0; i < it->kl; i++)
        h = (h ^ it->k[i]) * 16777619u;
    return h;
}

static gboolean bytes_eq(gconstpointer a, gconstpointer b)
{
    const item *x = a, *y = b;
    return x->kl == y->kl && memcmp(x->k, y->k, x->kl) == 0;
}

/* The items of the text, unsorted; keys and values point into text. */
static GArray *items(const char *kind, const unsigned char *t, size_t n)
{
    GArray *a = g_array_new(FALSE, FALSE, sizeof(item));
    if (strcmp(kind, "lines") == 0) {
        for (size_t i = 0; i < n;) {
            size_t e = i;
            while (e < n && t[e] != '\n')
                e++;
            size_t k = i;
            while (k < e && !is_space(t[k]))
                k++;
            size_t v = k < e ? k + 1 : e;
            item it = {t + i, t + v, (uint32_t)(k - i), (uint32_t)(e - v), 0};
            g_array_append_val(a, it);
            i = e + 1;
        }
        return a;
    }
    int fold = strcmp(kind, "wc") == 0;
    GHashTable *h = fold ? g_hash_table_new(bytes_hash, bytes_eq) : NULL;
    item *pool = NULL;
    for (size_t i = 0; i < n;) {
        while (i < n && is_space(t[i]))
            i++;
        size_t s = i;
        while (i < n && !is_space(t[i]))
            i++;
        if (i == s)
            continue;
        item it = {t + s, NULL, (uint32_t)(i - s), 8, 1};
        if (!fold) {
            g_array_append_val(a, it);
            continue;
        }
        item *old = g_hash_table_lookup(h, &it);
        if (old) {
            old->count++;
            continue;
        }
        pool = g_new(item, 1);
        *pool = it;
        g_hash_table_add(h, pool);
    }
    if (fold) {
        GHashTableIter hi;
        gpointer key;
        g_hash_table_iter_init(&hi, h);
        while (g_hash_table_iter_next(&hi, &key, NULL))
            g_array_append_val(a, *(item *)key);
        g_hash_table_destroy(h); /* leaks the items: a one-shot tool */
    }
    return a;
}

/* Decodes the pos bytes of blocks; compares with run if not NULL. */
static int decode_all(mr_spill_codec *cx, const unsigned char *blocks,
                      size_t pos, unsigned char *raw, size_t rawcap,
                      const mr_kvbuf *run)
{
    size_t back = 0;
    for (size_t p = 0; p < pos;) {
        uint32_t h[4];
        memcpy(h, blocks + p, sizeof h);
        size_t rl, nr, len = MR_SPILL_HDR + h[0];
        char *err = NULL;
        if (mr__spill_block_decode_cx(cx, blocks + p, len, raw, rawcap, &rl,
                                      &nr, &err) != MR_OK) {
            fprintf(stderr, "bench-spillcodec: %s\n", err);
            return 1;
        }
        if (run && memcmp(raw, run->data + back, rl) != 0) {
            fprintf(stderr, "bench-spillcodec: decoded bytes differ\n");
            return 1;
        }
        back += rl;
        p += len;
    }
    if (run && back != run->len) {
        fprintf(stderr, "bench-spillcodec: decoded %zu of %zu bytes\n", back,
                run->len);
        return 1;
    }
    return 0;
}

static int dcmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    const char *kind = "wc", *file = NULL;
    size_t mb = 0, block = MR_SPILL_BLOCK_DEFAULT;
    int rounds = 5;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--kind") == 0 && i + 1 < argc)
            kind = argv[++i];
        else if (strcmp(argv[i], "--mb") == 0 && i + 1 < argc)
            mb = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--rounds") == 0 && i + 1 < argc)
            rounds = atoi(argv[++i]);
        else if (strcmp(argv[i], "--block") == 0 && i + 1 < argc)
            block = strtoul(argv[++i], NULL, 10);
        else if (argv[i][0] != '-' && !file)
            file = argv[i];
        else {
            fprintf(stderr, "usage: bench-spillcodec [--kind wc|tokens|lines] "
                            "[--mb N] [--rounds N] [--block BYTES] FILE\n");
            return 2;
        }
    }
    if (!file || rounds < 1 ||
        (strcmp(kind, "wc") && strcmp(kind, "tokens") && strcmp(kind, "lines"))) {
        fprintf(stderr, "bench-spillcodec: need a FILE and a known --kind\n");
        return 2;
    }
    gchar *text;
    gsize tlen;
    GError *ge = NULL;
    if (!g_file_get_contents(file, &text, &tlen, &ge)) {
        fprintf(stderr, "bench-spillcodec: %s\n", ge->message);
        return 1;
    }
    if (mb && tlen > mb << 20)
        tlen = mb << 20;

    /* The run: sorted records in one buffer. */
    double t0 = now();
    GArray *a = items(kind, (const unsigned char *)text, tlen);
    qsort(a->data, a->len, sizeof(item), item_cmp);
    mr_kvbuf run;
    mr__kvbuf_init(&run);
    for (guint i = 0; i < a->len; i++) {
        item *it = &g_array_index(a, item, i);
        mr_bytes v = it->v ? mr_mem(it->v, it->vl) : mr_mem(&it->count, 8);
        mr__kvbuf_append(&run, mr_mem(it->k, it->kl), v, 0);
    }
    fprintf(stderr, "bench-spillcodec: %s of %.1f MB of %s: %zu records, "
                    "%.1f MB, made in %.1f s\n",
            kind, tlen / 1e6, file, run.nrec, run.len / 1e6, now() - t0);

    /* Blocks: cut once, at record boundaries. */
    GArray *cut = g_array_new(FALSE, FALSE, sizeof(size_t) * 2);
    for (size_t off = 0; off < run.len;) {
        size_t n = mr__rec_cut(run.data + off, run.len - off, block), k = 0;
        for (size_t o = 0; o < n; o += mr__rec_size(run.data + off + o))
            k++;
        size_t c[2] = {n, k};
        g_array_append_val(cut, c);
        off += n;
    }
    enum { NC = 4 };
    double ct[NC][64], dt[NC][64];
    size_t stored[NC] = {0};
    /* A block is never bigger than its raw bytes plus the header: one that
     * compression would grow is stored raw. */
    size_t bound = 0, rawcap = 0;
    for (guint b = 0; b < cut->len; b++) {
        size_t n = ((size_t *)cut->data)[2 * b];
        bound += MR_SPILL_HDR + n;
        rawcap = n > rawcap ? n : rawcap;
    }
    unsigned char *blocks = g_malloc(bound), *raw = g_malloc(rawcap);
    if (rounds > 64)
        rounds = 64;
    for (int r = 0; r < rounds; r++) {
        for (int j = 0; j < NC; j++) {
            mr_codec c = (mr_codec)((j + r) % NC);
            mr_spill_codec *cx = mr__spill_codec_new(c);
            size_t off = 0, pos = 0;
            double s = now();
            for (guint b = 0; b < cut->len; b++) {
                size_t *cb = &((size_t *)cut->data)[2 * b];
                pos += mr__spill_block_encode(cx, run.data + off, cb[0], cb[1],
                                              blocks + pos);
                off += cb[0];
            }
            ct[c][r] = now() - s;
            stored[c] = pos;
            if (r == 0 && decode_all(cx, blocks, pos, raw, rawcap, &run) != 0)
                return 1; /* checked once, outside the figures */
            s = now();
            if (decode_all(cx, blocks, pos, raw, rawcap, NULL) != 0)
                return 1;
            dt[c][r] = now() - s;
            mr__spill_codec_free(cx);
        }
    }
    /* End to end, per GB of raw records: compress + write + read +
     * decompress, for a local disk of 200 and 1000 MB/s. */
    double mbraw = run.len / 1e6;
    printf("# %s: %zu records, %.1f MB raw, %u blocks of <= %zu bytes, "
           "median of %d rounds\n",
           kind, run.nrec, mbraw, cut->len, block, rounds);
    printf("%-5s %9s %9s %6s %10s %10s %10s %10s\n", "codec", "raw MB",
           "stored MB", "ratio", "comp MB/s", "dec MB/s", "s/GB@200",
           "s/GB@1000");
    for (int c = 0; c < NC; c++) {
        qsort(ct[c], (size_t)rounds, sizeof(double), dcmp);
        qsort(dt[c], (size_t)rounds, sizeof(double), dcmp);
        double cm = ct[c][rounds / 2], dm = dt[c][rounds / 2];
        double ratio = (double)run.len / (double)stored[c];
        double cs = mbraw / cm, ds = mbraw / dm;
        double e200 = 1000 / cs + 1000 / ds + 2 * 1000 / ratio / 200;
        double e1000 = 1000 / cs + 1000 / ds + 2 * 1000 / ratio / 1000;
        printf("%-5s %9.1f %9.1f %6.2f %10.0f %10.0f %10.2f %10.2f\n",
               mr__codec_name((mr_codec)c), mbraw, stored[c] / 1e6, ratio,
               cs, ds, e200, e1000);
    }
    g_free(blocks);
    g_free(raw);
    g_array_free(cut, TRUE);
    g_array_free(a, TRUE);
    mr__kvbuf_fini(&run);
    g_free(text);
    return 0;
}
