/* test_mandel_kernel.c -- the escape-count kernels against each other and
 * against counts worked out by hand.
 *
 * Every vector kernel this CPU runs must give exactly the scalar loop's
 * counts: on a dense grid over the default view, on random points near the
 * boundary of the set (where orbits are long and rounding matters most), on
 * points exactly on |c| = 2 and other special points, for row lengths that
 * are not multiples of the lane count, and for max_iter from 1 up.
 */
/* SPDX-License-Identifier: MIT */
#include "mandel_kernel.h"
#include "mr_test.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int32_t scalar1(double x, double y, int32_t max_iter)
{
    int32_t n;
    mandel_kernel_scalar(&x, y, 1, max_iter, &n);
    return n;
}

static void test_hand_counts(void)
{
    /* z: 0 -> -2 (|z| = 2 is not < 2): one iteration. */
    CU_ASSERT_EQUAL(scalar1(-2.0, 0.0, 100), 1);
    CU_ASSERT_EQUAL(scalar1(2.0, 0.0, 100), 1);
    /* c = 1: 0 -> 1 -> 2: two iterations. */
    CU_ASSERT_EQUAL(scalar1(1.0, 0.0, 100), 2);
    /* c = 0.5: 0, .5, .75, 1.0625, 1.62890625, 3.15...: five. */
    CU_ASSERT_EQUAL(scalar1(0.5, 0.0, 100), 5);
    /* Inside: 0, -1 (period 2), i (pre-periodic), 0.25 (the cusp). */
    CU_ASSERT_EQUAL(scalar1(0.0, 0.0, 1000), 1000);
    CU_ASSERT_EQUAL(scalar1(-1.0, 0.0, 1000), 1000);
    CU_ASSERT_EQUAL(scalar1(0.0, 1.0, 1000), 1000);
    CU_ASSERT_EQUAL(scalar1(0.25, 0.0, 1000), 1000);
    /* The count never passes max_iter, and max_iter 1 gives 1 to all. */
    CU_ASSERT_EQUAL(scalar1(0.0, 0.0, 1), 1);
    CU_ASSERT_EQUAL(scalar1(5.0, 5.0, 1), 1);
    CU_ASSERT_EQUAL(scalar1(0.5, 0.0, 3), 3);
}

static void test_view(void)
{
    mandel_view v = {-2.0, 1.0, -1.0, 1.0, 150, 100, 127};
    CU_ASSERT_EQUAL(mandel_view_x(&v, 0), -2.0);
    CU_ASSERT_EQUAL(mandel_view_y(&v, 0), -1.0);
    CU_ASSERT_EQUAL(mandel_view_x(&v, 50), -2.0 + 50.0 * 3.0 / 150.0);
    CU_ASSERT_EQUAL(mandel_view_y(&v, 99), -1.0 + 99.0 * 2.0 / 100.0);
    /* The right and bottom edges are not sampled (x1, y1 excluded). */
    CU_ASSERT(mandel_view_x(&v, 149) < 1.0);
}

static void test_lookup(void)
{
    CU_ASSERT_PTR_NOT_NULL(mandel_kernel_get("auto"));
    CU_ASSERT_PTR_NOT_NULL(mandel_kernel_get("scalar"));
    CU_ASSERT_PTR_NULL(mandel_kernel_get("avx1024"));
    CU_ASSERT_PTR_NULL(mandel_kernel_get(""));
#if defined(__x86_64__)
    /* x86-64 always has SSE2, so auto is never the scalar loop there. */
    CU_ASSERT_STRING_NOT_EQUAL(mandel_kernel_get("auto")->name, "scalar");
    CU_ASSERT_PTR_NOT_NULL(mandel_kernel_get("sse2"));
#endif
}

/* Runs every kernel the CPU supports on (cx[], cy) and compares with the
 * scalar loop; returns the number of differing counts. */
static size_t compare_all(const double *cx, double cy, size_t n,
                          int32_t max_iter, int *kernels_run)
{
    int32_t *want = malloc((n + 1) * sizeof *want);
    int32_t *got = malloc((n + 2) * sizeof *got);
    size_t nk, bad = 0;
    const mandel_kernel *ks = mandel_kernel_list(&nk);

    mandel_kernel_scalar(cx, cy, n, max_iter, want);
    *kernels_run = 0;
    for (size_t k = 0; k < nk; k++) {
        const mandel_kernel *kern = mandel_kernel_get(ks[k].name);
        if (!kern)
            continue;
        (*kernels_run)++;
        got[n] = got[n + 1] = -7; /* guard: no write past n */
        kern->fn(cx, cy, n, max_iter, got);
        for (size_t i = 0; i < n; i++)
            bad += got[i] != want[i];
        bad += got[n] != -7 || got[n + 1] != -7;
    }
    free(want);
    free(got);
    return bad;
}

static void test_grid(void)
{
    /* 301 columns: no lane count divides it, so every tail path runs. */
    mandel_view v = {-2.0, 1.0, -1.0, 1.0, 301, 200, 500};
    double *cx = malloc(v.width * sizeof *cx);
    size_t bad = 0;
    int nk = 0;

    for (int32_t j = 0; j < v.width; j++)
        cx[j] = mandel_view_x(&v, j);
    for (int32_t k = 0; k < v.height; k++)
        bad += compare_all(cx, mandel_view_y(&v, k), (size_t)v.width,
                           v.max_iter, &nk);
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT(nk >= 1);
    free(cx);
}

static void test_boundary_points(void)
{
    /* Random points within 1e-3 of the boundary of the main cardioid and
     * of the period-2 disc: long orbits, where any rounding difference
     * would show. */
    enum { N = 4001 };
    double *cx = malloc(N * sizeof *cx);
    size_t bad = 0;
    int nk = 0;
    unsigned s = 12345;

    for (int row = 0; row < 16; row++) {
        double t = 2 * M_PI * row / 16.0, cy;
        for (int i = 0; i < N; i++) {
            s = s * 1103515245u + 12345u;
            double e = ((double)(s >> 8) / (1 << 24) - 0.5) * 2e-3;
            double a = t + i * 1e-5;
            if (row % 2 == 0) { /* cardioid: c = e^ia/2 - e^2ia/4 */
                cx[i] = cos(a) / 2 - cos(2 * a) / 4 + e;
            } else { /* disc of radius 1/4 about -1 */
                cx[i] = -1 + cos(a) / 4 + e;
            }
        }
        cy = row % 2 == 0 ? sin(t) / 2 - sin(2 * t) / 4 : sin(t) / 4;
        bad += compare_all(cx, cy, N, 2000, &nk);
    }
    CU_ASSERT_EQUAL(bad, 0);
    free(cx);
}

static void test_special_points(void)
{
    /* |c| = 2 exactly, the cusp, the tips, points outside the disc whose
     * orbit comes back inside it (escape must stay sticky), huge values. */
    const double xs[] = {-2.0,  2.0,   0.0,  0.25, -0.75, 1.0,  -2.0,
                         -1.9,  0.3,   -0.1, 1e300, -1e300, 3.0, -2.0,
                         -1.25, 0.375, 1.5,  -1.5, 0.0,  -0.5, 1e-300};
    const double ys[] = {-2.0, -1.0, 0.0, 1.0, 2.0, 0.5, -0.5, 1e-12, 1.9};
    size_t nx = sizeof xs / sizeof xs[0], bad = 0;
    int nk = 0;

    for (size_t k = 0; k < sizeof ys / sizeof ys[0]; k++)
        for (int32_t m = 1; m <= 7; m++)
            for (size_t n = 0; n <= nx; n++)
                bad += compare_all(xs, ys[k], n, m == 7 ? 10000 : m, &nk);
    CU_ASSERT_EQUAL(bad, 0);
}

static CU_TestInfo tests[] = {
    {"hand counts", test_hand_counts},
    {"view coordinates", test_view},
    {"kernel lookup", test_lookup},
    {"vector == scalar on a grid", test_grid},
    {"vector == scalar near the boundary", test_boundary_points},
    {"vector == scalar at special points", test_special_points},
    CU_TEST_INFO_NULL,
};

static CU_SuiteInfo suites[] = {
    {"mandel_kernel", NULL, NULL, NULL, NULL, tests},
    CU_SUITE_INFO_NULL,
};

int main(void)
{
    return mr_test_run(suites);
}
