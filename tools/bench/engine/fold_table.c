/* fold_table.c -- the fold-at-emit table against GHashTable, on the word
 * count hot path: N Zipf-distributed tokens from a vocabulary of V words,
 * each folded into a u64 count. Prints Mtokens/s for both (best of 3),
 * the table with a job's fold (a call per hit) and with mr_fold_sum_u64
 * (word count's, added in line). This measurement is why mr_fold.c is a
 * specialised table.
 *
 * It also prints the table's memory per distinct key over the key bytes:
 * what it holds at the end (entries and slots) and its peak resident
 * growth while it was built (VmHWM, reset through /proc/self/clear_refs),
 * which includes any moment where old and new arrays were both held.
 * A third argument --no-ghash skips GHashTable (for rounds of the table
 * alone). */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_fold.h"
#include "mr_kvbuf.h"

#include <math.h>
#include <fcntl.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void add_u64(void *acc, const void *v)
{
    uint64_t a, b;
    memcpy(&a, acc, 8);
    memcpy(&b, v, 8);
    a += b;
    memcpy(acc, &a, 8);
}

typedef struct gkey {
    size_t len;
    uint64_t count;
    char s[];
} gkey;

static guint gk_hash(gconstpointer p)
{
    const gkey *k = p;
    return (guint)mr__hash(k->s, k->len);
}

static gboolean gk_eq(gconstpointer a, gconstpointer b)
{
    const gkey *x = a, *y = b;
    return x->len == y->len && memcmp(x->s, y->s, x->len) == 0;
}

/* kB of the field (VmRSS, VmHWM) in /proc/self/status; 0 if unknown. */
static long status_kb(const char *field)
{
    FILE *fp = fopen("/proc/self/status", "r");
    char line[256];
    long kb = 0;
    size_t n = strlen(field);
    while (fp && fgets(line, sizeof line, fp))
        if (strncmp(line, field, n) == 0 && line[n] == ':')
            kb = atol(line + n + 1);
    if (fp)
        fclose(fp);
    return kb;
}

static void reset_peak(void)
{
    int fd = open("/proc/self/clear_refs", O_WRONLY);
    if (fd >= 0) {
        if (write(fd, "5", 1) != 1)
            fprintf(stderr, "bench-fold_table: cannot reset VmHWM\n");
        close(fd);
    }
}

int main(int argc, char **argv)
{
    long N = argc > 1 ? atol(argv[1]) : 20000000;
    long V = argc > 2 ? atol(argv[2]) : 1000000;
    int ghash = !(argc > 3 && strcmp(argv[3], "--no-ghash") == 0);
    /* Vocabulary and a Zipf(1) stream of word indices. */
    char **words = g_new(char *, V);
    size_t *lens = g_new(size_t, V);
    for (long i = 0; i < V; i++) {
        words[i] = g_strdup_printf("w%lxq%ld", (unsigned long)(i * 2654435761u), i % 97);
        lens[i] = strlen(words[i]);
    }
    double *cdf = g_new(double, V), acc = 0;
    for (long i = 0; i < V; i++)
        cdf[i] = acc += 1.0 / (double)(i + 1);
    uint32_t *stream = g_new(uint32_t, N);
    uint64_t x = 88172645463325252ULL;
    for (long i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0 * acc;
        long lo = 0, hi = V - 1;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            if (cdf[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        stream[i] = (uint32_t)lo;
    }
    uint64_t one = 1;
    double best_f = 1e30, best_s = 1e30, best_g = 1e30;
    size_t distinct_f = 0, distinct_g = 0;
    double mem_end = 0, mem_peak = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (int sum = 0; sum < 2; sum++) {
            int measure = rep == 0 && sum == 1;
            long rss0 = 0;
            if (measure) {
                reset_peak();
                rss0 = status_kb("VmRSS");
            }
            double t = now();
            mr_fold f;
            mr__fold_init(&f, 8, sum ? mr_fold_sum_u64 : add_u64);
            for (long i = 0; i < N; i++)
                mr__fold_add(&f, mr_mem(words[stream[i]], lens[stream[i]]),
                             &one);
            mr__fold_flush(&f);
            t = now() - t;
            double *best = sum ? &best_s : &best_f;
            *best = t < *best ? t : *best;
            distinct_f = f.count;
            if (measure) {
                double kbytes = 0;
                size_t pos = 0;
                mr_bytes key;
                void *a;
                while (mr__fold_next(&f, &pos, &key, &a))
                    kbytes += (double)key.len;
                double held = (double)f.alen +
                              (double)(f.mask + 1) * sizeof(uint64_t);
                mem_end = (held - kbytes) / (double)f.count;
                mem_peak = ((double)(status_kb("VmHWM") - rss0) * 1024 -
                            kbytes) / (double)f.count;
            }
            mr__fold_fini(&f);
        }

        if (!ghash)
            continue;
        double t = now();
        /* The best use of GHashTable for this: the key struct carries its
         * count, so a hit is one lookup and an increment in place. */
        GHashTable *h = g_hash_table_new_full(gk_hash, gk_eq, g_free, NULL);
        gkey *probe = g_malloc(sizeof(gkey) + 64);
        for (long i = 0; i < N; i++) {
            probe->len = lens[stream[i]];
            memcpy(probe->s, words[stream[i]], probe->len);
            gkey *k = g_hash_table_lookup(h, probe);
            if (k) {
                k->count++;
                continue;
            }
            k = g_malloc(sizeof(gkey) + probe->len);
            k->len = probe->len;
            k->count = 1;
            memcpy(k->s, probe->s, probe->len);
            g_hash_table_add(h, k);
        }
        t = now() - t;
        best_g = t < best_g ? t : best_g;
        distinct_g = g_hash_table_size(h);
        g_free(probe);
        g_hash_table_destroy(h);
    }
    printf("%ld tokens, %zu distinct (GHashTable: %zu)\n", N, distinct_f, distinct_g);
    printf("mr fold table, job's fold:  %7.1f Mtokens/s\n", N / best_f / 1e6);
    printf("mr fold table, sum_u64:     %7.1f Mtokens/s\n", N / best_s / 1e6);
    if (ghash) {
        printf("GHashTable:                 %7.1f Mtokens/s\n", N / best_g / 1e6);
        printf("ratio (job's fold): %.2f\n", best_g / best_f);
    }
    printf("table bytes per key over the key bytes: %.1f held at the end, "
           "%.1f peak resident growth\n", mem_end, mem_peak);
    for (long i = 0; i < V; i++)
        g_free(words[i]);
    g_free(words);
    g_free(lens);
    g_free(cdf);
    g_free(stream);
    return 0;
}
