/* mandel_npy.h -- a NumPy .npy (format 1.0) int32 matrix, written a row at
 * a time.
 *
 * The header says '<i4' (or '>i4' on a big-endian host: values are written
 * in host order, and the header says which), C order, shape (rows, cols),
 * padded with spaces to a multiple of 64 bytes as numpy itself writes it,
 * so the data starts aligned and `numpy.load` maps it directly.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MANDEL_NPY_H
#define MANDEL_NPY_H

#include <stdint.h>
#include <stdio.h>

/* Writes the magic, version and header dict for an int32 (rows, cols)
 * array. Returns 0, or -1 if the write failed (errno says why). */
int mandel_npy_header(FILE *fp, int64_t rows, int64_t cols);

/* The same header into buf; returns its length, or -1. */
#define MANDEL_NPY_HEADER_MAX 266
int mandel_npy_header_buf(unsigned char buf[MANDEL_NPY_HEADER_MAX],
                          int64_t rows, int64_t cols);

/* Appends one row of n int32 values. Returns 0 or -1 as above. */
int mandel_npy_row(FILE *fp, const int32_t *values, size_t n);

#endif /* MANDEL_NPY_H */
