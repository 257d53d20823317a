/* mandel_npy.c -- the .npy writer (see mandel_npy.h for the format). */
/* SPDX-License-Identifier: MIT */
#include "mandel_npy.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define NPY_DESCR "'>i4'"
#else
#define NPY_DESCR "'<i4'"
#endif

int mandel_npy_header(FILE *fp, int64_t rows, int64_t cols)
{
    unsigned char buf[MANDEL_NPY_HEADER_MAX];
    int n = mandel_npy_header_buf(buf, rows, cols);
    if (n < 0)
        return -1;
    return fwrite(buf, 1, (size_t)n, fp) == (size_t)n ? 0 : -1;
}

int mandel_npy_header_buf(unsigned char buf[MANDEL_NPY_HEADER_MAX],
                          int64_t rows, int64_t cols)
{
    char dict[256];
    unsigned char head[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0, 0};
    int n = snprintf(dict, sizeof dict,
                     "{'descr': " NPY_DESCR ", 'fortran_order': False, "
                     "'shape': (%lld, %lld), }",
                     (long long)rows, (long long)cols);
    /* Total header length (10 + dict + pad + '\n') a multiple of 64. */
    size_t len = (size_t)n + 1, total = 10 + len;
    size_t pad = (64 - total % 64) % 64;

    if (n < 0 || (size_t)n + 1 + pad > sizeof dict)
        return -1;
    memset(dict + n, ' ', pad);
    dict[n + pad] = '\n';
    len += pad;
    head[8] = (unsigned char)(len & 0xff); /* little-endian uint16 */
    head[9] = (unsigned char)(len >> 8);
    memcpy(buf, head, sizeof head);
    memcpy(buf + sizeof head, dict, len);
    return (int)(sizeof head + len);
}

int mandel_npy_row(FILE *fp, const int32_t *values, size_t n)
{
    return fwrite(values, sizeof *values, n, fp) == n ? 0 : -1;
}
