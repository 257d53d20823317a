/* fuzz_npy.c -- libFuzzer target: matmul's .npy reader.
 *
 * Arbitrary bytes are parsed as a .npy header; when the header is
 * accepted, its shape must be consistent and the file (written to a
 * temporary path) must read back block by block without reading out of
 * bounds; a truncated body must be an error with a message. Then a header
 * we format ourselves must parse back to the same shape (round trip).
 */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256] = "";
    npy_info info;
    if (npy_parse_header("fuzz.npy", data, size, &info, err, sizeof err) == 0) {
        if (info.data_offset > size || (info.major != 1 && info.major != 2 &&
                                        info.major != 3))
            abort();
        /* Read a small corner of it from a real file. */
        char path[] = "/tmp/mrfuzz_npy_XXXXXX";
        int fd = mkstemp(path);
        if (fd < 0 || write(fd, data, size) != (ssize_t)size)
            abort();
        close(fd);
        npy_file f;
        if (npy_open(&f, path, err, sizeof err) == 0) {
            size_t nr = info.rows < 4 ? (size_t)info.rows : 4;
            size_t nc = info.cols < 4 ? (size_t)info.cols : 4;
            double block[16];
            if (nr && nc &&
                npy_read_block(&f, 0, nr, 0, nc, block, nc, err, sizeof err) != 0 &&
                !err[0])
                abort(); /* an error must say why */
            npy_close(&f);
        } else if (!err[0]) {
            abort();
        }
        unlink(path);
    } else if (!err[0]) {
        abort(); /* a refusal must say why */
    }
    /* Round trip of a header we write, with a shape from the input. */
    uint64_t rows = 0, cols = 0;
    memcpy(&rows, data, size < 8 ? size : 8);
    if (size > 8)
        memcpy(&cols, data + 8, size - 8 < 8 ? size - 8 : 8);
    rows = rows % (1u << 20) + 1; /* matmul refuses empty matrices */
    cols = cols % (1u << 20) + 1;
    char hdr[512];
    int fortran = size ? data[0] & 1 : 0, version = size && (data[0] & 2) ? 2 : 1;
    size_t n = npy_format_header(hdr, sizeof hdr, rows, cols, fortran, version);
    if (n == 0 || npy_parse_header("rt.npy", hdr, n, &info, err, sizeof err) != 0 ||
        info.rows != rows || info.cols != cols || info.fortran != fortran ||
        info.data_offset != n)
        abort();
    return 0;
}
