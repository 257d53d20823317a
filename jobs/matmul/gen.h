/* gen.h -- the seeded matrices of matmul: any element, computed on its own.
 *
 * Element (row, col) of matrix `mat` under `seed` is a pure function of
 * those four numbers (a counter-based generator), so any rank can make any
 * block of A or B without talking to the others, and the matrices are the
 * same whatever the block size, the schedule or the number of ranks.
 * Values are uniform in [-1, 1) with 53 random bits.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_GEN_H
#define MM_GEN_H

#include <stddef.h>
#include <stdint.h>

/* Matrix ids: part of the generator's key, so A and B differ. */
enum { MM_GEN_A = 1, MM_GEN_B = 2 };

/* The value of element (row, col) of matrix `mat`. */
double mm_gen_value(uint64_t seed, int mat, uint64_t row, uint64_t col);

/* Fills the nr x nc block whose top-left element is (r0, c0) into dst,
 * row-major with leading dimension ld (>= nc). */
void mm_gen_block(uint64_t seed, int mat, uint64_t r0, size_t nr, uint64_t c0,
                  size_t nc, double *dst, size_t ld);

#endif /* MM_GEN_H */
