/* gencorpus.c -- mr-gencorpus: a deterministic corpus of any size.
 *
 *   mr-gencorpus [--size BYTES] [--seed N] [--files N] [--gzip]
 *                [--level L] [--vocab N] [--zipf S] OUT
 *
 * Writes about BYTES bytes of text (k/M/G suffixes, powers of 1024) to the
 * file OUT, or, with --files N > 1, to N files under the folder OUT
 * (OUT/d000/f000000.txt, 100 files per folder, sizes spread between 0.5
 * and 1.5 times the mean so that grouping has work to do). --gzip writes
 * .gz files (zlib level L, default 6). The same options give the same
 * bytes, on any machine.
 *
 * The text: words drawn from a vocabulary of N synthetic words (default
 * 1,000,000) with Zipf frequencies (the k-th most frequent has weight
 * 1/k^S, S = 1 by default, as in natural language), sampled in O(1) with
 * Walker's alias method. Word k is spelt from two-letter syllables in a
 * fixed-length code of k (so words are distinct and frequent words short);
 * about 1 word in 50 carries a UTF-8 syllable, sentences start with a
 * capital and end with '.', some words carry ',' -- so the `words` and
 * `whitespace` tokenizations differ. Lines are at most ~72 bytes, with a
 * blank line between paragraphs.
 */
/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

/* xoshiro256** seeded through splitmix64: fast and the same everywhere. */
typedef struct rng {
    uint64_t s[4];
} rng;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

static double rng_unit(rng *r) /* [0, 1) */
{
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- vocabulary ---- */

#define NSYL 64
static const char *const syl_ascii[NSYL] = {
    "ba", "be", "bi", "bo", "da", "de", "di", "do", "fa", "fe", "fi",
    "fo", "ga", "ge", "gi", "go", "ka", "ke", "ki", "ko", "la", "le",
    "li", "lo", "ma", "me", "mi", "mo", "na", "ne", "ni", "no", "pa",
    "pe", "pi", "po", "ra", "re", "ri", "ro", "sa", "se", "si", "so",
    "ta", "te", "ti", "to", "va", "ve", "vi", "vo", "za", "ze", "zi",
    "zo", "th", "st", "nd", "er", "an", "in", "on", "en",
};

typedef struct vocab {
    char **word;
    unsigned char *len;
    /* alias table */
    double *prob;
    uint32_t *alias;
    uint32_t n;
} vocab;

static void vocab_build(vocab *v, uint32_t n, double s, rng *r)
{
    v->n = n;
    v->word = malloc(sizeof *v->word * n);
    v->len = malloc(n);
    v->prob = malloc(sizeof *v->prob * n);
    v->alias = malloc(sizeof *v->alias * n);
    uint32_t *small = malloc(sizeof *small * n),
             *large = malloc(sizeof *large * n);
    if (!v->word || !v->len || !v->prob || !v->alias || !small || !large) {
        fprintf(stderr, "mr-gencorpus: out of memory\n");
        exit(1);
    }
    /* A seed-dependent order of syllables, so seeds differ in spelling. */
    int perm[NSYL];
    for (int i = 0; i < NSYL; i++)
        perm[i] = i;
    for (int i = NSYL - 1; i > 0; i--) {
        int j = (int)(rng_next(r) % (uint64_t)(i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (uint32_t k = 0; k < n; k++) {
        /* k in base 64, at least one syllable: distinct words (the code
         * has a fixed length per digit), and the most frequent ones
         * (small k) are the shortest. */
        char buf[64];
        size_t bl = 0;
        uint32_t x = k;
        do {
            const char *sy = syl_ascii[perm[x % NSYL]];
            buf[bl++] = sy[0];
            buf[bl++] = sy[1];
            x /= NSYL;
        } while (x);
        if (k % 50 == 49) { /* UTF-8: an e with acute accent */
            buf[bl++] = (char)0xc3;
            buf[bl++] = (char)0xa9;
        }
        v->word[k] = malloc(bl + 1);
        memcpy(v->word[k], buf, bl);
        v->word[k][bl] = 0;
        v->len[k] = (unsigned char)bl;
    }
    /* Walker's alias method over weights 1/(k+1)^s. */
    double sum = 0;
    for (uint32_t k = 0; k < n; k++)
        sum += pow((double)k + 1, -s);
    uint32_t ns = 0, nl = 0;
    for (uint32_t k = 0; k < n; k++) {
        v->prob[k] = pow((double)k + 1, -s) / sum * n;
        if (v->prob[k] < 1)
            small[ns++] = k;
        else
            large[nl++] = k;
    }
    while (ns && nl) {
        uint32_t a = small[--ns], b = large[--nl];
        v->alias[a] = b;
        v->prob[b] -= 1 - v->prob[a];
        if (v->prob[b] < 1)
            small[ns++] = b;
        else
            large[nl++] = b;
    }
    while (nl)
        v->prob[large[--nl]] = 1;
    while (ns)
        v->prob[small[--ns]] = 1;
    free(small);
    free(large);
}

static uint32_t vocab_draw(const vocab *v, rng *r)
{
    uint64_t x = rng_next(r);
    uint32_t k = (uint32_t)((x >> 32) * v->n >> 32);
    double u = (double)(x & 0xffffffffu) * 0x1.0p-32;
    return u < v->prob[k] ? k : v->alias[k];
}

/* ---- text ---- */

typedef struct writer {
    FILE *f;
    gzFile gz;
    const char *path;
} writer;

static void w_write(writer *w, const char *p, size_t n)
{
    if (w->gz ? gzwrite(w->gz, p, (unsigned)n) != (int)n
              : fwrite(p, 1, n, w->f) != n) {
        fprintf(stderr, "mr-gencorpus: %s: write failed\n", w->path);
        exit(1);
    }
}

/* Writes about `target` bytes of text, ending with a newline. */
static void write_text(writer *w, uint64_t target, const vocab *v, rng *r)
{
    char line[256];
    size_t ll = 0;
    uint64_t done = 0;
    int sentence_start = 1, lines = 0;
    while (done < target) {
        uint32_t k = vocab_draw(v, r);
        const char *word = v->word[k];
        size_t wl = v->len[k];
        uint64_t x = rng_next(r);
        if (ll + wl + 3 > 72) {
            line[ll++] = '\n';
            if (++lines % 12 == 0 && (x & 3) == 0)
                line[ll++] = '\n'; /* paragraph */
            w_write(w, line, ll);
            done += ll;
            ll = 0;
            if (done >= target)
                break;
        }
        if (ll)
            line[ll++] = ' ';
        memcpy(line + ll, word, wl);
        if (sentence_start && line[ll] >= 'a' && line[ll] <= 'z')
            line[ll] = (char)(line[ll] - 32);
        ll += wl;
        sentence_start = 0;
        unsigned p = (unsigned)(x >> 8) % 100;
        if (p < 8) {
            line[ll++] = '.';
            sentence_start = 1;
        } else if (p < 15) {
            line[ll++] = ',';
        }
    }
    if (ll) {
        line[ll++] = '\n';
        w_write(w, line, ll);
    }
}

static void write_file(const char *path, uint64_t size, int gzip, int level,
                       const vocab *v, rng *r)
{
    writer w = {.path = path};
    if (gzip) {
        char mode[8];
        snprintf(mode, sizeof mode, "wb%d", level);
        w.gz = gzopen(path, mode);
        if (w.gz)
            gzbuffer(w.gz, 1 << 18);
    } else {
        w.f = fopen(path, "wb");
        if (w.f)
            setvbuf(w.f, NULL, _IOFBF, 1 << 20);
    }
    if (!w.gz && !w.f) {
        fprintf(stderr, "mr-gencorpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
    write_text(&w, size, v, r);
    if (w.gz ? gzclose(w.gz) != Z_OK : fclose(w.f) != 0) {
        fprintf(stderr, "mr-gencorpus: %s: write failed\n", path);
        exit(1);
    }
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || end == s || x < 0)
        return -1;
    switch (*end) {
    case 'k':
    case 'K':
        x *= 1024;
        end++;
        break;
    case 'm':
    case 'M':
        x *= 1048576;
        end++;
        break;
    case 'g':
    case 'G':
        x *= 1073741824;
        end++;
        break;
    }
    if (*end)
        return -1;
    *out = (uint64_t)x;
    return 0;
}

static void usage(void)
{
    fprintf(stderr, "usage: mr-gencorpus [--size BYTES] [--seed N] [--files N] "
                    "[--gzip] [--level L]\n"
                    "                    [--vocab N] [--zipf S] OUT\n");
    exit(2);
}

int main(int argc, char **argv)
{
    uint64_t size = 10 << 20, seed = 1, files = 1, nvocab = 1000000;
    double zipf = 1.0;
    int gzip = 0, level = 6;
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--gzip") == 0) {
            gzip = 1;
            continue;
        }
        if (a[0] == '-' && a[1] == '-' && !val)
            usage();
        if (strcmp(a, "--size") == 0) {
            if (parse_size(val, &size))
                usage();
        } else if (strcmp(a, "--seed") == 0) {
            seed = strtoull(val, NULL, 10);
        } else if (strcmp(a, "--files") == 0) {
            if (parse_size(val, &files) || files == 0)
                usage();
        } else if (strcmp(a, "--vocab") == 0) {
            if (parse_size(val, &nvocab) || nvocab == 0 || nvocab > 100000000)
                usage();
        } else if (strcmp(a, "--zipf") == 0) {
            zipf = atof(val);
        } else if (strcmp(a, "--level") == 0) {
            level = atoi(val);
            if (level < 0 || level > 9)
                usage();
        } else if (a[0] == '-' && a[1]) {
            usage();
        } else {
            if (out)
                usage();
            out = a;
            continue;
        }
        i++;
    }
    if (!out)
        usage();

    rng r;
    rng_seed(&r, seed);
    vocab v;
    vocab_build(&v, (uint32_t)nvocab, zipf, &r);
    if (files == 1)
        write_file(out, size, gzip, level, &v, &r);
    else if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "mr-gencorpus: %s: %s\n", out, strerror(errno));
        return 1;
    }
    double mean = (double)size / (double)files;
    for (uint64_t j = 0; files > 1 && j < files; j++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/d%03llu", out,
                 (unsigned long long)(j / 100));
        if (j % 100 == 0 && mkdir(path, 0777) != 0 && errno != EEXIST) {
            fprintf(stderr, "mr-gencorpus: %s: %s\n", path, strerror(errno));
            return 1;
        }
        snprintf(path, sizeof path, "%s/d%03llu/f%06llu.txt%s", out,
                 (unsigned long long)(j / 100), (unsigned long long)j,
                 gzip ? ".gz" : "");
        uint64_t fsize = (uint64_t)(mean * (0.5 + rng_unit(&r)));
        write_file(path, fsize, gzip, level, &v, &r);
    }
    for (uint32_t k = 0; k < v.n; k++)
        free(v.word[k]);
    free(v.word);
    free(v.len);
    free(v.prob);
    free(v.alias);
    return 0;
}
