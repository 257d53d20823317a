/* gen.c -- the seeded matrices of matmul (see gen.h).
 *
 * Element (r, c) = splitmix64 finaliser of (rowkey(r) + c * golden), where
 * rowkey mixes the seed, the matrix id and the row. The finaliser is a
 * bijection with full avalanche, and consecutive columns feed it inputs a
 * Weyl step apart, exactly as splitmix64 itself does, so each row is a
 * splitmix64 stream with its own start. Cost: one finaliser (two multiplies)
 * per element, about half a nanosecond with AVX-512; matmul makes each
 * 256-deep tile of A and B whenever a task needs it (block.h), which costs
 * about 2% of the task's dgemm time at block 2048 (4% at 1024).
 */
/* SPDX-License-Identifier: MIT */
#include "gen.h"

#include <stdlib.h>

#define GOLDEN 0x9e3779b97f4a7c15ULL

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static inline uint64_t row_key(uint64_t seed, int mat, uint64_t row)
{
    uint64_t k = mix64(seed + GOLDEN * (uint64_t)mat);
    return mix64(k ^ mix64(row + 0x632be59bd9b4e019ULL));
}

/* The top 53 bits as a double in [-1, 1): exact, no rounding. */
static inline double to_unit(uint64_t z)
{
    return (double)(int64_t)(z >> 11) * 0x1p-52 - 1.0;
}

double mm_gen_value(uint64_t seed, int mat, uint64_t row, uint64_t col)
{
    return to_unit(mix64(row_key(seed, mat, row) + col * GOLDEN));
}

static void gen_row(uint64_t key, uint64_t c0, size_t nc, double *out)
{
    for (size_t c = 0; c < nc; c++)
        out[c] = to_unit(mix64(key + (c0 + c) * GOLDEN));
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_GEN_ROW_AVX512 1

/* OPTIMIZATION: the same arithmetic eight columns at a time with AVX-512
 * (64-bit multiplies and int64-to-double conversion are AVX-512DQ), used
 * when the CPU has it. Every step is exact integer arithmetic and the
 * conversion is exact (53 bits), so the bits equal gen_row's: the
 * matrices do not depend on which CPU made them (gen_test checks it).
 * Measured on this project's VM: 0.5 ns per element against 1.1 for the
 * scalar loop (GCC does not vectorise it at -O2), which takes 15-20 ms
 * off making A and B at n = 4096. */
__attribute__((target("avx512f,avx512dq"))) static void
gen_row_avx512(uint64_t key, uint64_t c0, size_t nc, double *out)
{
    const __m512i golden = _mm512_set1_epi64((long long)GOLDEN);
    const __m512i m1 = _mm512_set1_epi64((long long)0xbf58476d1ce4e5b9ULL);
    const __m512i m2 = _mm512_set1_epi64((long long)0x94d049bb133111ebULL);
    const __m512i step = _mm512_set1_epi64((long long)(8 * GOLDEN));
    const __m512d scale = _mm512_set1_pd(0x1p-52), one = _mm512_set1_pd(1.0);
    __m512i lane = _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0);
    __m512i z0 = _mm512_add_epi64(
        _mm512_set1_epi64((long long)(key + c0 * GOLDEN)),
        _mm512_mullo_epi64(lane, golden));
    size_t c = 0;
    for (; c + 8 <= nc; c += 8) {
        __m512i z = z0;
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 30)),
                               m1);
        z = _mm512_mullo_epi64(_mm512_xor_si512(z, _mm512_srli_epi64(z, 27)),
                               m2);
        z = _mm512_xor_si512(z, _mm512_srli_epi64(z, 31));
        __m512d x = _mm512_cvtepi64_pd(_mm512_srli_epi64(z, 11));
        _mm512_storeu_pd(out + c, _mm512_fmsub_pd(x, scale, one));
        z0 = _mm512_add_epi64(z0, step);
    }
    gen_row(key, c0 + c, nc - c, out + c);
}
#endif

void mm_gen_block(uint64_t seed, int mat, uint64_t r0, size_t nr, uint64_t c0,
                  size_t nc, double *dst, size_t ld)
{
#ifdef HAVE_GEN_ROW_AVX512
    int wide = !getenv("MR_MATMUL_NO_AVX512") &&
               __builtin_cpu_supports("avx512f") &&
               __builtin_cpu_supports("avx512dq");
#else
    int wide = 0;
#endif
    for (size_t r = 0; r < nr; r++) {
        uint64_t key = row_key(seed, mat, r0 + r);
#ifdef HAVE_GEN_ROW_AVX512
        if (wide) {
            gen_row_avx512(key, c0, nc, dst + r * ld);
            continue;
        }
#endif
        gen_row(key, c0, nc, dst + r * ld);
    }
}
