/* mm_tool.c -- test helper for matmul: makes .npy inputs, checks products.
 *
 *   mm_tool write PATH ROWS COLS SEED c|f 1|2   a seeded matrix, C or
 *                                               Fortran order, v1.0 or v2.0
 *   mm_tool raw PATH VERSION DICT NBYTES        magic + DICT as the header
 *                                               (padded) + NBYTES zeros
 *   mm_tool check C.npy A.npy B.npy             C against a naive product
 *   mm_tool check-gen C.npy M K N SEED          the same, A and B made as
 *                                               matmul makes them
 *
 * The naive product sums in long double, i then j then l, and the check
 * is the one a correct float64 product of any summation order passes:
 * |C_ij - N_ij| <= k * 2^-52 * (|A||B|)_ij (twice the classical bound
 * k * u with u = 2^-53). Exit 0 if it holds, 1 with the worst element if
 * not, 2 on a usage or file error.
 */
/* SPDX-License-Identifier: MIT */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "npy.h"

static double *load(const char *path, uint64_t *rows, uint64_t *cols)
{
    npy_file f;
    char err[512];
    if (npy_open(&f, path, err, sizeof err) != 0) {
        fprintf(stderr, "mm_tool: %s\n", err);
        exit(2);
    }
    *rows = f.info.rows;
    *cols = f.info.cols;
    double *d = malloc(*rows * *cols * 8);
    if (!d || npy_read_block(&f, 0, *rows, 0, *cols, d, *cols, err,
                             sizeof err) != 0) {
        fprintf(stderr, "mm_tool: %s\n", err);
        exit(2);
    }
    npy_close(&f);
    return d;
}

static int check(const double *c, const double *a, const double *b, uint64_t m,
                 uint64_t k, uint64_t n)
{
    double worst = 0;
    uint64_t wi = 0, wj = 0;
    for (uint64_t i = 0; i < m; i++)
        for (uint64_t j = 0; j < n; j++) {
            long double s = 0, d = 0;
            for (uint64_t l = 0; l < k; l++) {
                s += (long double)a[i * k + l] * b[l * n + j];
                d += fabsl((long double)a[i * k + l] * b[l * n + j]);
            }
            long double diff = fabsl((long double)c[i * n + j] - s);
            double e = diff == 0 ? 0 : d > 0 ? (double)(diff / d) : INFINITY;
            if (!(e <= worst)) {
                worst = isnan(e) ? INFINITY : e;
                wi = i;
                wj = j;
            }
        }
    double limit = (double)k * 0x1p-52;
    printf("mm_tool: %" PRIu64 "x%" PRIu64 " * %" PRIu64 "x%" PRIu64
           ": worst error %.3g at (%" PRIu64 ", %" PRIu64 "), limit %.3g\n",
           m, k, k, n, worst, wi, wj, limit);
    return worst <= limit ? 0 : 1;
}

static int raw(const char *path, int version, const char *dict, long nbytes)
{
    size_t prefix = version == 1 ? 10 : 12, dlen = strlen(dict);
    size_t hlen = dlen + 1, pad = 64 - (prefix + hlen) % 64;
    size_t h = hlen + pad;
    unsigned char head[12] = {
        0x93, 'N', 'U', 'M', 'P', 'Y', (unsigned char)version, 0};
    for (size_t i = 0; i < prefix - 8; i++)
        head[8 + i] = (unsigned char)(h >> (8 * i));
    FILE *fp = fopen(path, "wb");
    if (!fp)
        return 2;
    fwrite(head, 1, prefix, fp);
    fwrite(dict, 1, dlen, fp);
    for (size_t i = 0; i < pad; i++)
        fputc(' ', fp);
    fputc('\n', fp);
    for (long i = 0; i < nbytes; i++)
        fputc(0, fp);
    return fclose(fp) == 0 ? 0 : 2;
}

int main(int argc, char **argv)
{
    char err[512];
    if (argc == 8 && strcmp(argv[1], "write") == 0) {
        uint64_t r = strtoull(argv[3], NULL, 10),
                 c = strtoull(argv[4], NULL, 10);
        double *d = malloc(r * c * 8);
        mm_gen_block(strtoull(argv[5], NULL, 10), 3, 0, r, 0, c, d, c);
        int rc = npy_save(argv[2], d, r, c, argv[6][0] == 'f', atoi(argv[7]),
                          err, sizeof err);
        free(d);
        if (rc != 0)
            fprintf(stderr, "mm_tool: %s\n", err);
        return rc ? 2 : 0;
    }
    if (argc == 6 && strcmp(argv[1], "raw") == 0)
        return raw(argv[2], atoi(argv[3]), argv[4], atol(argv[5]));
    if (argc == 5 && strcmp(argv[1], "check") == 0) {
        uint64_t m, k, k2, n, cm, cn;
        double *a = load(argv[3], &m, &k), *b = load(argv[4], &k2, &n);
        double *c = load(argv[2], &cm, &cn);
        if (k != k2 || cm != m || cn != n) {
            fprintf(stderr, "mm_tool: shapes do not match\n");
            return 1;
        }
        int rc = check(c, a, b, m, k, n);
        free(a);
        free(b);
        free(c);
        return rc;
    }
    if (argc == 7 && strcmp(argv[1], "check-gen") == 0) {
        uint64_t m = strtoull(argv[3], NULL, 10),
                 k = strtoull(argv[4], NULL, 10);
        uint64_t n = strtoull(argv[5], NULL, 10),
                 seed = strtoull(argv[6], NULL, 10);
        uint64_t cm, cn;
        double *c = load(argv[2], &cm, &cn);
        if (cm != m || cn != n) {
            fprintf(stderr, "mm_tool: C is %" PRIu64 "x%" PRIu64 "\n", cm, cn);
            return 1;
        }
        double *a = malloc(m * k * 8), *b = malloc(k * n * 8);
        mm_gen_block(seed, MM_GEN_A, 0, m, 0, k, a, k);
        mm_gen_block(seed, MM_GEN_B, 0, k, 0, n, b, n);
        int rc = check(c, a, b, m, k, n);
        free(a);
        free(b);
        free(c);
        return rc;
    }
    fprintf(stderr,
            "usage: mm_tool write|raw|check|check-gen ... (see source)\n");
    return 2;
}
