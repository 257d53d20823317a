/* gen.c -- the seeded matrices of matmul (see gen.h).
 *
 * Element (r, c) = splitmix64 finaliser of (rowkey(r) + c * golden), where
 * rowkey mixes the seed, the matrix id and the row. The finaliser is a
 * bijection with full avalanche, and consecutive columns feed it inputs a
 * Weyl step apart, exactly as splitmix64 itself does, so each row is a
 * splitmix64 stream with its own start. Cost: one finaliser (two multiplies)
 * per element, a few nanoseconds; matmul generates each panel once per rank
 * (panel.c caches them), which is small next to the 2k flops per element
 * that the block product spends on it.
 */
/* SPDX-License-Identifier: MIT */
#include "gen.h"

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

void mm_gen_block(uint64_t seed, int mat, uint64_t r0, size_t nr, uint64_t c0,
                  size_t nc, double *dst, size_t ld)
{
    for (size_t r = 0; r < nr; r++) {
        uint64_t key = row_key(seed, mat, r0 + r);
        double *out = dst + r * ld;
        for (size_t c = 0; c < nc; c++)
            out[c] = to_unit(mix64(key + (c0 + c) * GOLDEN));
    }
}
