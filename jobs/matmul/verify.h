/* verify.h -- matmul --verify: C against one cblas_dgemm of the whole A, B.
 *
 * The error of element (i, j) is |C_ij - R_ij| / (|A| |B|)_ij, where R is
 * the reference product: the backward-error measure of a dot product,
 * which a correct float64 product keeps below about k * 2^-53 whatever
 * the cancellation in C_ij (a plain |C - R| / |R| would blow up where C_ij
 * happens to be near zero). An element whose |A||B| is 0 must be exactly
 * 0 in both, or its error is infinite.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_VERIFY_H
#define MM_VERIFY_H

#include "block.h"

/* Reads all of A (m x k) and B (k x n) from their sources, computes R and
 * |A||B| and returns in *maxerr the largest error of c (m x n, row-major)
 * as defined above. Memory: A, B and two m x n products. Returns MR_OK or
 * a read error. */
int mm_verify(const mm_source *a, const mm_source *b, const double *c,
              double *maxerr, char *err, size_t errlen);

/* The same for rows r0 .. r0 + nr - 1 of C only (c: those rows,
 * row-major), with references computed per band of `band` rows counted
 * from row 0, so an element's reference is the same whichever rows are
 * checked together. Memory: a band of A, B twice, two band products.
 * mm_verify is this with all rows in one band. */
int mm_verify_rows(const mm_source *a, const mm_source *b, uint64_t r0,
                   uint64_t nr, uint64_t band, const double *c,
                   double *maxerr, char *err, size_t errlen);

#endif /* MM_VERIFY_H */
