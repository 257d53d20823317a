/* test_matmul_block.c -- unit tests of matmul's generator, plan, block
 * products, panel caches and verification.
 *
 * The products are checked against a naive triple loop in long double on
 * small odd shapes (1x1, 7x5*5x3, 33x65*65x17) and block sizes that do not
 * divide them, with and without a split k, from generated operands and
 * from .npy files in both orders; the bound is the one any correct float64
 * product meets: |C - N| <= k * 2^-52 * (|A||B|) element by element.
 */
/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block.h"
#include "gen.h"
#include "mem.h"
#include "mr/mr_job.h"
#include "mr_test.h"
#include "npy.h"
#include "plan.h"
#include "verify.h"

static char err[512];
static char dir[] = "/tmp/test_matmul_block.XXXXXX";
static char apath[256], bpath[256];

static int suite_init(void)
{
    if (!mkdtemp(dir))
        return -1;
    snprintf(apath, sizeof apath, "%s/a.npy", dir);
    snprintf(bpath, sizeof bpath, "%s/b.npy", dir);
    return 0;
}

static int suite_clean(void)
{
    unlink(apath);
    unlink(bpath);
    return rmdir(dir);
}

/* ---------------- generator ---------------- */

static void test_gen(void)
{
    enum { R = 37, C = 29 };
    double full[R * C], part[5 * 7];
    mm_gen_block(42, MM_GEN_A, 0, R, 0, C, full, C);

    int same = 1, in_range = 1;
    double sum = 0;
    for (size_t r = 0; r < R; r++)
        for (size_t c = 0; c < C; c++) {
            double v = full[r * C + c];
            same &= v == mm_gen_value(42, MM_GEN_A, r, c);
            in_range &= v >= -1.0 && v < 1.0;
            sum += v;
        }
    CU_ASSERT(same);
    CU_ASSERT(in_range);
    CU_ASSERT(fabs(sum / (R * C)) < 0.1);

    /* A block made on its own equals the same part of the whole. */
    mm_gen_block(42, MM_GEN_A, 11, 5, 20, 7, part, 7);
    same = 1;
    for (size_t r = 0; r < 5; r++)
        for (size_t c = 0; c < 7; c++)
            same &= part[r * 7 + c] == full[(11 + r) * C + 20 + c];
    CU_ASSERT(same);

    /* Wide rows at odd offsets (the AVX-512 path's eight-column steps and
     * its tail, where the CPU has it) equal the one-value function, and
     * the scalar path (MR_MATMUL_NO_AVX512) makes the same bits. */
    enum { W = 203 };
    static double wide[3 * W], narrow[3 * W];
    mm_gen_block(99, MM_GEN_B, 1000003, 3, 13, W, wide, W);
    setenv("MR_MATMUL_NO_AVX512", "1", 1);
    mm_gen_block(99, MM_GEN_B, 1000003, 3, 13, W, narrow, W);
    unsetenv("MR_MATMUL_NO_AVX512");
    same = 1;
    for (size_t r = 0; r < 3; r++)
        for (size_t c = 0; c < W; c++)
            same &= wide[r * W + c] ==
                        mm_gen_value(99, MM_GEN_B, 1000003 + r, 13 + c) &&
                    memcmp(&wide[r * W + c], &narrow[r * W + c], 8) == 0;
    CU_ASSERT(same);

    /* Seed, matrix and position all matter. */
    CU_ASSERT(mm_gen_value(42, MM_GEN_A, 3, 4) !=
              mm_gen_value(43, MM_GEN_A, 3, 4));
    CU_ASSERT(mm_gen_value(42, MM_GEN_A, 3, 4) !=
              mm_gen_value(42, MM_GEN_B, 3, 4));
    CU_ASSERT(mm_gen_value(42, MM_GEN_A, 3, 4) !=
              mm_gen_value(42, MM_GEN_A, 4, 3));

    /* Mean and variance of many values: uniform on [-1, 1) has mean 0
     * and variance 1/3. */
    double s = 0, q = 0;
    const int n = 200000;
    for (int i = 0; i < n; i++) {
        double v =
            mm_gen_value(7, MM_GEN_B, (uint64_t)i / 500, (uint64_t)i % 500);
        s += v;
        q += v * v;
    }
    CU_ASSERT(fabs(s / n) < 0.01);
    CU_ASSERT(fabs(q / n - 1.0 / 3) < 0.01);
}

/* ---------------- plan ---------------- */

static void test_plan(void)
{
    mm_plan p;
    CU_ASSERT_EQUAL(mm_plan_init(&p, 0, 5, 5, 0, 0, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "must be positive"));
    CU_ASSERT_EQUAL(mm_plan_init(&p, 5, -1, 5, 0, 0, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_EQUAL(mm_plan_init(&p, 5, 5, 3000000000L, 0, 0, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "BLAS"));
    CU_ASSERT_EQUAL(mm_plan_init(&p, 7, 5, 3, 8, 0, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "larger than the matrix"));
    CU_ASSERT_EQUAL(mm_plan_init(&p, 7, 5, 3, -2, 0, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_EQUAL(mm_plan_init(&p, 7, 5, 3, 2, 6, err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "--split-k 6"));
    CU_ASSERT_EQUAL(
        mm_plan_init(&p, 100000, 5, 100000, 6000, 0, err, sizeof err),
        MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "values under 256 MiB"));

    /* Default block: clamped to the matrix, or the default. */
    CU_ASSERT_EQUAL_FATAL(mm_plan_init(&p, 7, 5, 3, 0, 0, err, sizeof err),
                          MR_OK);
    CU_ASSERT_EQUAL(p.block, 7);
    CU_ASSERT_EQUAL(p.nbi, 1);
    CU_ASSERT_EQUAL(p.nbj, 1);
    CU_ASSERT_EQUAL(mm_plan_rows(&p, 0), 7);
    CU_ASSERT_EQUAL(mm_plan_cols(&p, 0), 3);
    static const long defaults[][3] = {
        {4096, 4096, 2048}, {2048, 2048, 1024}, {1024, 1024, 512},
        {512, 512, 256},    {256, 256, 256},    {200, 300, 256},
        {100, 30, 100},     {5000, 3, 1024},    {4096, 256, 1024},
        {100000, 1, 2048},
    };
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++) {
        CU_ASSERT_EQUAL_FATAL(mm_plan_init(&p, defaults[i][0], 77,
                                           defaults[i][1], 0, 0, err,
                                           sizeof err),
                              MR_OK);
        CU_ASSERT_EQUAL(p.block, (uint64_t)defaults[i][2]);
    }

    /* Edges, task order, descriptors, flops. */
    CU_ASSERT_EQUAL_FATAL(mm_plan_init(&p, 33, 65, 17, 8, 3, err, sizeof err),
                          MR_OK);
    CU_ASSERT_EQUAL(p.nbi, 5);
    CU_ASSERT_EQUAL(p.nbj, 3);
    CU_ASSERT_EQUAL(p.kchunk, 22);
    CU_ASSERT_EQUAL(p.nkc, 3);
    CU_ASSERT_EQUAL(mm_plan_rows(&p, 4), 1);
    CU_ASSERT_EQUAL(mm_plan_cols(&p, 2), 1);
    CU_ASSERT_EQUAL(mm_plan_depth(&p, 2), 21);
    CU_ASSERT_EQUAL(mm_plan_ntasks(&p), 45);
    double flops = 0;
    int ordered = 1, round = 1;
    mm_task prev = {0, 0, 0};
    for (uint64_t t = 0; t < mm_plan_ntasks(&p); t++) {
        mm_task x = mm_plan_task(&p, t), y;
        unsigned char d[MM_TASK_BYTES];
        flops += mm_plan_flops(&p, x);
        if (t > 0)
            ordered &= (uint64_t)prev.i * 1000000 + prev.j * 1000 + prev.kc <
                       (uint64_t)x.i * 1000000 + x.j * 1000 + x.kc;
        prev = x;
        mm_task_encode(x, d);
        round &= mm_task_decode(&p, mr_mem(d, sizeof d), &y) == MR_OK &&
                 y.i == x.i && y.j == x.j && y.kc == x.kc;
    }
    CU_ASSERT(ordered);
    CU_ASSERT(round);
    CU_ASSERT_DOUBLE_EQUAL(flops, 2.0 * 33 * 65 * 17, 0.5);
    unsigned char d[MM_TASK_BYTES];
    mm_task y;
    mm_task_encode((mm_task){5, 0, 0}, d);
    CU_ASSERT_EQUAL(mm_task_decode(&p, mr_mem(d, sizeof d), &y), MR_EINVAL);
    CU_ASSERT_EQUAL(mm_task_decode(&p, mr_mem(d, 8), &y), MR_EINVAL);
}

static void test_memory(void)
{
    mm_plan p;
    CU_ASSERT_EQUAL_FATAL(
        mm_plan_init(&p, 4096, 4096, 4096, 1024, 0, err, sizeof err), MR_OK);
    double c = 8.0 * 4096 * 4096;
    mm_memory keep = mm_plan_memory(&p, 2, MM_KEEP_ROW_B, 0, 0);
    mm_memory gather = mm_plan_memory(&p, 2, MM_KEEP_ROW_B, 1, 0);
    mm_memory verify = mm_plan_memory(&p, 2, MM_KEEP_ROW_B, 1, 1);
    mm_memory lean = mm_plan_memory(&p, 2, MM_KEEP_ROW, 0, 0);
    mm_memory gen = mm_plan_memory(&p, 2, MM_KEEP_LAST, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(keep.c, c, 1);
    CU_ASSERT_DOUBLE_EQUAL(keep.matrices, 2 * c, 1);
    /* Not gathered: a block-row of A, all of B, one C block; and on
     * every rank the task list (16 tasks, 48 bytes each) and the table of
     * the 16 block checksums (16 bytes each) with its sum's buffer. */
    double tasks = 48.0 * 16, sums = 2 * 16.0 * 16;
    CU_ASSERT_DOUBLE_EQUAL(keep.root,
                           8.0 * (1024 * 4096 + 4096 * 4096 + 1024 * 1024) +
                               tasks + sums,
                           1);
    CU_ASSERT_DOUBLE_EQUAL(keep.other, keep.root, 1);
    /* Gathered: no rank holds all of C, each about 3 times its half. */
    CU_ASSERT(gather.root >= keep.root + 3 * c / 2);
    CU_ASSERT(gather.root < keep.root + 4 * c);
    CU_ASSERT_DOUBLE_EQUAL(gather.other, gather.root, 1);
    /* Verify: two copies of B (each the size of C here) and its half of
     * C, next to the reference bands. */
    CU_ASSERT(verify.root >= gather.root + 2.5 * c);
    CU_ASSERT(lean.root < keep.root);
    /* Generated: one tile of A, one of B, one C block. */
    CU_ASSERT_DOUBLE_EQUAL(
        gen.root, 8.0 * (1024 * MM_KSTEP * 2 + 1024 * 1024) + tasks + sums, 1);
    /* A plan of more than MM_TASKS_MAX tasks is refused, whatever fits. */
    CU_ASSERT_EQUAL(mm_plan_init(&p, 1000000000, 1000000000, 1000000000, 0, 0,
                                 err, sizeof err),
                    MR_EUSAGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "map tasks; at most"));
    char buf[32];
    CU_ASSERT_STRING_EQUAL(mm_format_bytes(c, buf, sizeof buf), "128.0 MiB");
    CU_ASSERT_STRING_EQUAL(mm_format_bytes(100, buf, sizeof buf), "100 bytes");
}

/* ---------------- products ---------------- */

/* Largest |C - N| / (|A||B|) against a naive long double product. */
static double naive_error(const double *c, const double *a, const double *b,
                          size_t m, size_t k, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            long double s = 0, d = 0;
            for (size_t l = 0; l < k; l++) {
                s += (long double)a[i * k + l] * b[l * n + j];
                d += fabsl((long double)a[i * k + l] * b[l * n + j]);
            }
            long double diff = fabsl(c[i * n + j] - s);
            double e = diff == 0 ? 0 : d > 0 ? (double)(diff / d) : INFINITY;
            if (!(e <= worst))
                worst = isnan(e) ? INFINITY : e;
        }
    return worst;
}

/* C by blocks, as the job computes it: one mm_block_product per task over
 * tiles kt deep along k, partial blocks added in k chunk order. */
static double *blocked_product(const mm_plan *p, const mm_source *a,
                               const mm_source *b, uint64_t kt, mm_cache ca,
                               mm_cache cb)
{
    mm_panels pa, pb;
    size_t m = p->m, n = p->n;
    double *c = calloc(m * n, sizeof *c);
    double *blk = malloc(p->block * p->block * sizeof *blk);
    double secs = 0;

    mm_panels_init(&pa, a, p->block, kt, ca);
    mm_panels_init(&pb, b, kt, p->block, cb);
    for (uint64_t t = 0; t < mm_plan_ntasks(p); t++) {
        mm_task x = mm_plan_task(p, t);
        size_t rows = mm_plan_rows(p, x.i), cols = mm_plan_cols(p, x.j);
        CU_ASSERT_EQUAL_FATAL(mm_block_product(&pa, &pb, x.i, x.j,
                                               mm_plan_k0(p, x.kc),
                                               mm_plan_depth(p, x.kc), blk,
                                               &secs, err, sizeof err),
                              MR_OK);
        for (size_t r = 0; r < rows; r++)
            for (size_t q = 0; q < cols; q++) {
                double *dst = &c[(x.i * p->block + r) * n + x.j * p->block + q];
                *dst = x.kc == 0 ? blk[r * cols + q] : *dst + blk[r * cols + q];
            }
    }
    mm_panels_fini(&pa);
    mm_panels_fini(&pb);
    free(blk);
    return c;
}

static const struct {
    long m, k, n, block, split;
} shapes[] = {
    {1, 1, 1, 1, 0},    {7, 5, 3, 2, 0},      {7, 5, 3, 7, 0},
    {7, 5, 3, 3, 2},    {33, 65, 17, 8, 0},   {33, 65, 17, 33, 0},
    {33, 65, 17, 5, 4}, {33, 65, 17, 16, 65},
};

static void test_products_generated(void)
{
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        mm_plan p;
        mm_source a, b;
        CU_ASSERT_EQUAL_FATAL(mm_plan_init(&p, shapes[s].m, shapes[s].k,
                                           shapes[s].n, shapes[s].block,
                                           shapes[s].split, err, sizeof err),
                              MR_OK);
        mm_source_gen(&a, 9, MM_GEN_A, p.m, p.k);
        mm_source_gen(&b, 9, MM_GEN_B, p.k, p.n);
        double *A = malloc(p.m * p.k * 8), *B = malloc(p.k * p.n * 8);
        mm_gen_block(9, MM_GEN_A, 0, p.m, 0, p.k, A, p.k);
        mm_gen_block(9, MM_GEN_B, 0, p.k, 0, p.n, B, p.n);

        /* Right at the job's tile depth and at depths that cut k into
         * many tiles, whose edges fall inside --split-k chunks. */
        static const uint64_t depths[] = {MM_KSTEP, 1, 4, 7};
        double *c = NULL;
        for (size_t d = 0; d < sizeof depths / sizeof depths[0]; d++) {
            free(c);
            c = blocked_product(&p, &a, &b, depths[d], MM_CACHE_ROW,
                                MM_CACHE_ALL);
            double e = naive_error(c, A, B, p.m, p.k, p.n);
            CU_ASSERT(e <= (double)p.k * 0x1p-52);
            if (!(e <= (double)p.k * 0x1p-52))
                fprintf(stderr, "\n  shape %zu, depth %zu: error %g\n", s,
                        (size_t)depths[d], e);
        }

        /* Every cache policy gives the same bits (depth 7, the last). */
        double *c1 = blocked_product(&p, &a, &b, 7, MM_CACHE_ONE, MM_CACHE_ONE);
        double *c2 = blocked_product(&p, &a, &b, 7, MM_CACHE_ALL, MM_CACHE_ROW);
        CU_ASSERT_EQUAL(memcmp(c, c1, p.m * p.n * 8), 0);
        CU_ASSERT_EQUAL(memcmp(c, c2, p.m * p.n * 8), 0);

        /* And verify agrees that it is right. */
        double maxerr = -1;
        CU_ASSERT_EQUAL(mm_verify(&a, &b, c, &maxerr, err, sizeof err), MR_OK);
        CU_ASSERT(maxerr >= 0 && maxerr <= (double)p.k * 0x1p-52);
        free(c);
        free(c1);
        free(c2);
        free(A);
        free(B);
    }
}

/* The same matrices through .npy files, in both orders and both header
 * versions, give bit for bit the product of the generated ones. */
static void test_products_files(void)
{
    mm_plan p;
    mm_source ga, gb;
    CU_ASSERT_EQUAL_FATAL(mm_plan_init(&p, 33, 65, 17, 8, 0, err, sizeof err),
                          MR_OK);
    mm_source_gen(&ga, 3, MM_GEN_A, p.m, p.k);
    mm_source_gen(&gb, 3, MM_GEN_B, p.k, p.n);
    double *A = malloc(p.m * p.k * 8), *B = malloc(p.k * p.n * 8);
    mm_gen_block(3, MM_GEN_A, 0, p.m, 0, p.k, A, p.k);
    mm_gen_block(3, MM_GEN_B, 0, p.k, 0, p.n, B, p.n);
    double *ref = blocked_product(&p, &ga, &gb, 7, MM_CACHE_ONE, MM_CACHE_ONE);

    for (int variant = 0; variant < 4; variant++) {
        int fa = variant & 1, fb = (variant >> 1) & 1;
        mm_source fa_src, fb_src;
        CU_ASSERT_EQUAL_FATAL(
            npy_save(apath, A, p.m, p.k, fa, 1 + fb, err, sizeof err), MR_OK);
        CU_ASSERT_EQUAL_FATAL(
            npy_save(bpath, B, p.k, p.n, fb, 2 - fa, err, sizeof err), MR_OK);
        CU_ASSERT_EQUAL_FATAL(mm_source_open(&fa_src, apath, err, sizeof err),
                              MR_OK);
        CU_ASSERT_EQUAL_FATAL(mm_source_open(&fb_src, bpath, err, sizeof err),
                              MR_OK);
        double *c = blocked_product(&p, &fa_src, &fb_src, 7, MM_CACHE_ROW,
                                    MM_CACHE_ALL);
        CU_ASSERT_EQUAL(memcmp(c, ref, p.m * p.n * 8), 0);
        double maxerr = -1;
        CU_ASSERT_EQUAL(
            mm_verify(&fa_src, &fb_src, c, &maxerr, err, sizeof err), MR_OK);
        CU_ASSERT(maxerr >= 0 && maxerr <= 65 * 0x1p-52);
        free(c);
        mm_source_fini(&fa_src);
        mm_source_fini(&fb_src);
    }
    free(ref);
    free(A);
    free(B);
}

/* Panel caches make each tile as often as their policy says. */
static void test_caches(void)
{
    mm_source s;
    mm_panels all, row, one;
    const double *t;
    size_t r, c;
    mm_source_gen(&s, 1, MM_GEN_A, 10, 10);
    mm_panels_init(&all, &s, 4, 4, MM_CACHE_ALL);
    mm_panels_init(&row, &s, 4, 4, MM_CACHE_ROW);
    mm_panels_init(&one, &s, 4, 4, MM_CACHE_ONE);
    /* Visit (0,0) (0,1) (0,2) (0,0) (1,0) (0,0), twice. */
    static const size_t seq[][2] = {{0, 0}, {0, 1}, {0, 2},
                                    {0, 0}, {1, 0}, {0, 0}};
    for (int round = 0; round < 2; round++)
        for (size_t i = 0; i < 6; i++) {
            CU_ASSERT_EQUAL(mm_panels_get(&all, seq[i][0], seq[i][1], &t, &r,
                                          &c, err, sizeof err),
                            MR_OK);
            CU_ASSERT_EQUAL(mm_panels_get(&row, seq[i][0], seq[i][1], &t, &r,
                                          &c, err, sizeof err),
                            MR_OK);
            CU_ASSERT_EQUAL(mm_panels_get(&one, seq[i][0], seq[i][1], &t, &r,
                                          &c, err, sizeof err),
                            MR_OK);
            CU_ASSERT_EQUAL(r, 4);
            CU_ASSERT_EQUAL(c, seq[i][1] == 2 ? 2 : 4);
            CU_ASSERT_EQUAL(
                t[0], mm_gen_value(1, MM_GEN_A, seq[i][0] * 4, seq[i][1] * 4));
            CU_ASSERT_EQUAL(t[r * c - 1],
                            mm_gen_value(1, MM_GEN_A, seq[i][0] * 4 + r - 1,
                                         seq[i][1] * 4 + c - 1));
        }
    CU_ASSERT_EQUAL(all.made, 4);
    /* One slot per tile column: (1,0) evicts (0,0) only. */
    CU_ASSERT_EQUAL(row.made, 5 + 2);
    CU_ASSERT_EQUAL(one.made, 6 + 5); /* every change of tile */
    mm_panels_fini(&all);
    mm_panels_fini(&row);
    mm_panels_fini(&one);
}

static void test_verify_detects(void)
{
    mm_source a, b;
    mm_source_gen(&a, 5, MM_GEN_A, 6, 4);
    mm_source_gen(&b, 5, MM_GEN_B, 4, 3);
    double A[24], B[12], C[18];
    mm_gen_block(5, MM_GEN_A, 0, 6, 0, 4, A, 4);
    mm_gen_block(5, MM_GEN_B, 0, 4, 0, 3, B, 3);
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 3; j++) {
            double s = 0;
            for (int l = 0; l < 4; l++)
                s += A[i * 4 + l] * B[l * 3 + j];
            C[i * 3 + j] = s;
        }
    double e;
    CU_ASSERT_EQUAL(mm_verify(&a, &b, C, &e, err, sizeof err), MR_OK);
    CU_ASSERT(e <= 4 * 0x1p-52);
    C[7] *= 1 + 1e-9;
    CU_ASSERT_EQUAL(mm_verify(&a, &b, C, &e, err, sizeof err), MR_OK);
    CU_ASSERT(e > 1e-12 * 4);
    C[7] = NAN;
    CU_ASSERT_EQUAL(mm_verify(&a, &b, C, &e, err, sizeof err), MR_OK);
    CU_ASSERT(isinf(e));
}

static void test_checksum(void)
{
    double dense[6] = {1, 2, 3, 4, 5, 6};
    double strided[2 * 5] = {1, 2, 3, -1, -1, 4, 5, 6, -1, -1};
    double s1, q1, s2, q2;
    mm_block_checksum(dense, 2, 3, 3, &s1, &q1);
    mm_block_checksum(strided, 2, 3, 5, &s2, &q2);
    CU_ASSERT_EQUAL(s1, 21);
    CU_ASSERT_EQUAL(q1, 91);
    CU_ASSERT_EQUAL(s1, s2);
    CU_ASSERT_EQUAL(q1, q2);
}

static void test_alloc_big(void)
{
    size_t mib3 = (size_t)3 << 20;
    double *small = mm_alloc_big(100, MM_PAGES_SMALL);
    double *big = mm_alloc_big(mib3, MM_PAGES_SMALL);
    double *huge = mm_alloc_big(mib3, MM_PAGES_HUGE);
    small[11] = 1;
    big[mib3 / 8 - 1] = 2;
    CU_ASSERT_EQUAL(big[0], 0); /* mapped pages come zeroed */
    CU_ASSERT_EQUAL(((uintptr_t)big) % 16, 0);
    CU_ASSERT_EQUAL(((uintptr_t)small) % 16, 0);
    /* A huge-page buffer: zeroed, every byte writable up to its end (its
     * mapping is rounded up to 2 MiB pages and trimmed on both sides), and
     * its data starts on a 2 MiB boundary. */
    CU_ASSERT_EQUAL(huge[0], 0);
    CU_ASSERT_EQUAL(huge[mib3 / 8 - 1], 0);
    for (size_t i = 0; i < mib3 / 8; i += 512)
        huge[i] = (double)i;
    huge[mib3 / 8 - 1] = 3;
    CU_ASSERT_EQUAL(huge[512], 512);
    CU_ASSERT_EQUAL(((uintptr_t)huge) % ((size_t)2 << 20), 0);
    CU_ASSERT_EQUAL(((uintptr_t)big) % 64, 0);
    /* Without the hint it is an ordinary mapping, as a small-page one. */
    setenv("MR_MATMUL_NO_THP", "1", 1);
    double *plain = mm_alloc_big(mib3, MM_PAGES_HUGE);
    unsetenv("MR_MATMUL_NO_THP");
    plain[mib3 / 8 - 1] = 4;
    CU_ASSERT_EQUAL(plain[0], 0);
    mm_free_big(small);
    mm_free_big(big);
    mm_free_big(huge);
    mm_free_big(plain);
    mm_free_big(NULL);
}

static CU_TestInfo block_tests[] = {
    {"generator", test_gen},
    {"plan", test_plan},
    {"memory estimate", test_memory},
    {"products of generated matrices", test_products_generated},
    {"products of .npy matrices", test_products_files},
    {"panel caches", test_caches},
    {"verify detects errors", test_verify_detects},
    {"block checksum", test_checksum},
    {"big buffers", test_alloc_big},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"matmul blocks", suite_init, suite_clean, NULL, NULL, block_tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    openblas_set_num_threads(1);
    return mr_test_run(suites);
}
