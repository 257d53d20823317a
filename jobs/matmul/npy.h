/* npy.h -- NumPy .npy files of float64 matrices: parse, read blocks, write.
 *
 * The format (numpy.lib.format): the magic "\x93NUMPY", a version byte pair,
 * the header length (2 bytes little-endian in version 1.0, 4 bytes in 2.0
 * and 3.0), then a Python dict literal such as
 *     {'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline so that the data starts at a multiple of
 * 64, then the raw elements, row-major (C order) or column-major (Fortran
 * order). We accept versions 1.0, 2.0 and 3.0, C and Fortran order, and only
 * little-endian float64 ('<f8') with exactly two dimensions: anything else
 * is an error that says what was found.
 *
 * Errors: every function that can fail returns MR_OK or a negative MR_E*
 * code (MR_EINVAL for a bad file, MR_EIO for a failed read or write) and
 * writes a message that starts with the file's name into err[errlen].
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_NPY_H
#define MM_NPY_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Largest header we accept (numpy itself refuses more than 10000 bytes
 * unless asked; a 2-D float64 header is about 128). */
#define NPY_MAX_HEADER 65536

/* What a header says. */
typedef struct npy_info {
    int major, minor;     /* format version */
    int fortran;          /* 1: column-major data */
    uint64_t rows, cols;  /* shape */
    uint64_t data_offset; /* where the elements start */
} npy_info;

/* An open .npy file whose header has been checked. */
typedef struct npy_file {
    int fd;           /* -1 when closed */
    const char *path; /* borrowed from npy_open's caller */
    npy_info info;
} npy_file;

/* Parses a header from buf[len], the start of a file called `path` (for
 * messages). Checks the magic, version, dict syntax, dtype and shape; does
 * not look at the data. */
int npy_parse_header(const char *path, const void *buf, size_t len,
                     npy_info *info, char *err, size_t errlen);

/* Opens `path`, parses its header and checks that the file holds all
 * rows*cols elements. On success f owns a descriptor: npy_close() it.
 * On failure f is closed. */
int npy_open(npy_file *f, const char *path, char *err, size_t errlen);
void npy_close(npy_file *f);

/* Reads the nr x nc block whose top-left element is (r0, c0) into dst,
 * row-major with leading dimension ld (>= nc), whatever the file's order.
 * The block must lie inside the matrix (programmer error otherwise). */
int npy_read_block(const npy_file *f, uint64_t r0, size_t nr, uint64_t c0,
                   size_t nc, double *dst, size_t ld, char *err, size_t errlen);

/* Formats the header numpy.save() writes for a C-order (fortran = 0) or
 * Fortran-order rows x cols float64 array, in format `version` 1 or 2:
 * byte for byte the same as numpy 1.24's. Returns its length (a multiple
 * of 64, at most NPY_MAX_HEADER), writing nothing if cap is too small. */
size_t npy_format_header(char *buf, size_t cap, uint64_t rows, uint64_t cols,
                         int fortran, int version);

/* Writes the header of a C-order rows x cols matrix to fp. Returns MR_OK
 * or MR_EIO. */
int npy_write_header(FILE *fp, uint64_t rows, uint64_t cols);

/* Writes a whole matrix (data row-major, rows x cols) to `path` in the
 * given order and format version. For tests and tools; the job writes
 * through npy_write_header and its own atomic file. */
int npy_save(const char *path, const double *data, uint64_t rows, uint64_t cols,
             int fortran, int version, char *err, size_t errlen);

#endif /* MM_NPY_H */
