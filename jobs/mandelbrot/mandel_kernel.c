/* mandel_kernel.c -- the escape-count loop, scalar and vectorised.
 *
 * The vector kernels use GCC vector extensions: one source body, expanded
 * per ISA with a target attribute (SSE2: 2 doubles a register, AVX2: 4,
 * AVX-512: 8) and U registers in flight, so that U independent dependency
 * chains hide the latency of the multiply/add chain (about 12 cycles an
 * iteration). Every lane runs until all lanes of its block have escaped;
 * lanes that escaped keep iterating (their values may run to inf or NaN,
 * which is harmless: no traps, and a NaN compares false) but their counts
 * are frozen by a mask that, once cleared, stays cleared, because an orbit
 * that left the disc can come back into it when |c| > 2.
 *
 * Exactness: this file is compiled with -ffp-contract=off, so no multiply
 * and add are fused, and each lane does the scalar loop's operations in the
 * scalar loop's order (r2 = zr*zr, i2 = zi*zi, r2 + i2 < 4, zr' = (r2 - i2)
 * + cr, zi' = (zr + zr) * zi + ci). Hence equal counts, bit for bit.
 *
 * The ISA is chosen once by __builtin_cpu_supports(); "auto" prefers the
 * widest the CPU runs.
 */
/* SPDX-License-Identifier: MIT */
#include "mandel_kernel.h"

#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#define MANDEL_X86 1
#include <immintrin.h>
#endif

double mandel_view_x(const mandel_view *v, int32_t col)
{
    return v->x0 + (double)col * (v->x1 - v->x0) / (double)v->width;
}

double mandel_view_y(const mandel_view *v, int32_t row)
{
    return v->y0 + (double)row * (v->y1 - v->y0) / (double)v->height;
}

void mandel_kernel_scalar(const double *cx, double cy, size_t n,
                          int32_t max_iter, int32_t *out)
{
    for (size_t i = 0; i < n; i++) {
        double cr = cx[i], zr = 0.0, zi = 0.0;
        int32_t count = 0;
        while (count < max_iter) {
            double r2 = zr * zr, i2 = zi * zi;
            if (!(r2 + i2 < 4.0))
                break;
            double t = r2 - i2 + cr;
            zi = (zr + zr) * zi + cy;
            zr = t;
            count++;
        }
        out[i] = count;
    }
}

#ifdef MANDEL_X86

/* The block body: V lanes a register, U registers, V*U points from cx[]
 * into out[]. VD/VI are the double and 64-bit integer vector types;
 * ANY(x) is nonzero if any lane of the VI x is nonzero. */
#define MANDEL_BLOCK(VD, VI, V, U, ANY)                                      \
    do {                                                                     \
        VD zr[U], zi[U], cr[U];                                              \
        VI cnt[U], act[U];                                                   \
        const VD four = (VD){0} + 4.0, ci = (VD){0} + cy;                    \
        _Pragma("GCC unroll 16")                                             \
        for (int u = 0; u < (U); u++) {                                      \
            memcpy(&cr[u], cx + u * (V), sizeof cr[u]);                      \
            zr[u] = (VD){0};                                                 \
            zi[u] = (VD){0};                                                 \
            cnt[u] = (VI){0};                                                \
            act[u] = (VI){0} - 1;                                            \
        }                                                                    \
        for (int32_t it = 0; it < max_iter; it++) {                          \
            VI any = (VI){0};                                                \
            _Pragma("GCC unroll 16")                                         \
            for (int u = 0; u < (U); u++) {                                  \
                VD r2 = zr[u] * zr[u], i2 = zi[u] * zi[u];                   \
                act[u] &= (VI)(r2 + i2 < four);                              \
                cnt[u] -= act[u];                                            \
                VD t = r2 - i2 + cr[u];                                      \
                zi[u] = (zr[u] + zr[u]) * zi[u] + ci;                        \
                zr[u] = t;                                                   \
                any |= act[u];                                               \
            }                                                                \
            if (!ANY(any))                                                   \
                break;                                                       \
        }                                                                    \
        for (int u = 0; u < (U); u++)                                        \
            for (int l = 0; l < (V); l++)                                    \
                out[u * (V) + l] = (int32_t)cnt[u][l];                       \
    } while (0)

/* A whole row: full blocks straight from cx, the tail through a padded
 * copy. Padding repeats the last point, so it costs no more iterations
 * than the block already needs. */
#define MANDEL_KERNEL(NAME, TARGET, VD, VI, V, U, ANY)                       \
    __attribute__((target(TARGET))) static void NAME##_block(                \
        const double *cx, double cy, int32_t max_iter, int32_t *out)         \
    {                                                                        \
        MANDEL_BLOCK(VD, VI, V, U, ANY);                                     \
    }                                                                        \
    __attribute__((target(TARGET))) static void NAME(                        \
        const double *cx, double cy, size_t n, int32_t max_iter,             \
        int32_t *out)                                                        \
    {                                                                        \
        enum { B = (V) * (U) };                                              \
        size_t i = 0;                                                        \
        for (; i + B <= n; i += B)                                           \
            NAME##_block(cx + i, cy, max_iter, out + i);                     \
        if (i < n) {                                                         \
            double pad[B];                                                   \
            int32_t res[B];                                                  \
            for (size_t k = 0; k < B; k++)                                   \
                pad[k] = cx[i + k < n ? i + k : n - 1];                      \
            NAME##_block(pad, cy, max_iter, res);                            \
            memcpy(out + i, res, (n - i) * sizeof *out);                     \
        }                                                                    \
    }

typedef double v2df __attribute__((vector_size(16)));
typedef long long v2di __attribute__((vector_size(16)));
typedef double v4df __attribute__((vector_size(32)));
typedef long long v4di __attribute__((vector_size(32)));
typedef double v8df __attribute__((vector_size(64)));
typedef long long v8di __attribute__((vector_size(64)));

#define ANY_SSE2(x) _mm_movemask_epi8((__m128i)(x))
#define ANY_AVX2(x) (!_mm256_testz_si256((__m256i)(x), (__m256i)(x)))
#define ANY_AVX512(x) _mm512_test_epi64_mask((__m512i)(x), (__m512i)(x))

/* Registers in flight: measured on a Xeon with AVX-512 (1024x1024, max-iter
 * 1000, default region): U = 1, 2, 3, 4 gave 7.2, 10.2, 12.3, 12.9 Mpixel/s
 * for AVX-512 and 5.6, 7.7, 9.8, 9.9 for AVX2; more lanes also means more
 * lanes waiting for the slowest one, so 4 is where it stops paying. */
MANDEL_KERNEL(kernel_sse2, "sse2", v2df, v2di, 2, 4, ANY_SSE2)
MANDEL_KERNEL(kernel_avx2, "avx2", v4df, v4di, 4, 4, ANY_AVX2)
MANDEL_KERNEL(kernel_avx512, "avx512f", v8df, v8di, 8, 4, ANY_AVX512)

static const mandel_kernel kernels[] = {
    {"avx512", kernel_avx512, 32},
    {"avx2", kernel_avx2, 16},
    {"sse2", kernel_sse2, 8},
    {"scalar", mandel_kernel_scalar, 1},
};

static int cpu_runs(const char *name)
{
    __builtin_cpu_init();
    if (!strcmp(name, "avx512"))
        return __builtin_cpu_supports("avx512f");
    if (!strcmp(name, "avx2"))
        return __builtin_cpu_supports("avx2");
    if (!strcmp(name, "sse2"))
        return __builtin_cpu_supports("sse2");
    return 1;
}

#else /* not x86: the scalar loop only */

static const mandel_kernel kernels[] = {
    {"scalar", mandel_kernel_scalar, 1},
};

static int cpu_runs(const char *name)
{
    (void)name;
    return 1;
}

#endif

const mandel_kernel *mandel_kernel_list(size_t *n)
{
    *n = sizeof kernels / sizeof kernels[0];
    return kernels;
}

const mandel_kernel *mandel_kernel_get(const char *name)
{
    size_t n = sizeof kernels / sizeof kernels[0];
    int any = !strcmp(name, "auto");

    for (size_t i = 0; i < n; i++) {
        if ((any || !strcmp(name, kernels[i].name)) &&
            cpu_runs(kernels[i].name))
            return &kernels[i];
    }
    return NULL;
}
