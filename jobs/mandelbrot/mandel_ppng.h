/* mandel_ppng.h -- a PNG made of independent pieces, for parallel output.
 *
 * The rows are cut into groups of mandel_ppng_group_rows(width) rows (a
 * function of the width alone). Each group is filtered and deflated on its
 * own: a fresh raw deflate stream, ended with a sync flush (no final block,
 * byte-aligned), so that the groups' streams concatenate into one valid
 * deflate stream, the way pigz joins its blocks. Each group sits in an IDAT
 * chunk of its own. The file is then
 *
 *   head   signature, IHDR, an IDAT holding the 2-byte zlib header
 *   group  one IDAT per group, in row order
 *   tail   an IDAT with the final (empty) deflate block and the Adler-32
 *          of all the groups' uncompressed bytes, then IEND
 *
 * A group's bytes depend on its counts only, so the file is the same
 * whichever rank writes which group. The Adler-32 of the whole stream comes
 * from the groups' (adler, length) pairs with mandel_ppng_combine, in row
 * order.
 *
 * Every row has filter type None. The images are runs of a few exact
 * colours (the colour map of integer counts), which deflate finds as
 * repeats; the predicting filters turn them into noisier differences, so
 * unfiltered rows come out smaller here than libpng's adaptive choice, and
 * cost no filtering pass (docs/performance.md). A group never needs the
 * row above it.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MANDEL_PPNG_H
#define MANDEL_PPNG_H

#include <stddef.h>
#include <stdint.h>

/* A growing byte buffer; start it zeroed, free p when done. */
typedef struct mandel_buf {
    unsigned char *p;
    size_t len, cap;
} mandel_buf;

typedef struct mandel_ppng mandel_ppng;

/* Rows per group: 64, fewer for rows so wide that 64 of them would make a
 * group value of over 16 MiB of counts (at least 1). */
int32_t mandel_ppng_group_rows(int32_t width);

/* A deflater for groups of `width`-pixel rows, level 0..9. NULL when out
 * of memory. */
mandel_ppng *mandel_ppng_new(int32_t width, int32_t max_iter, int level);
void mandel_ppng_free(mandel_ppng *z);

/* Appends the head of a width x height image. 0, or -1 out of memory. */
int mandel_ppng_head(mandel_buf *out, int32_t width, int32_t height,
                     int level);

/* Appends the IDAT of one group of `rows` rows of counts (each 0 ..
 * max_iter), and returns the Adler-32 and length of its uncompressed
 * bytes. 0, or -1 with a message in err (a count out of range, zlib). */
int mandel_ppng_group(mandel_ppng *z, const int32_t *counts, int32_t rows,
                      mandel_buf *out, uint32_t *adler, uint64_t *len,
                      char *err, size_t errlen);

/* The Adler-32 of stream a (adler_a) followed by stream b (adler_b, len_b
 * bytes). The Adler-32 of nothing is 1. */
uint32_t mandel_ppng_combine(uint32_t adler_a, uint32_t adler_b,
                             uint64_t len_b);

/* Appends the tail, given the Adler-32 of every group in order. 0 or -1. */
int mandel_ppng_tail(mandel_buf *out, uint32_t adler);

#endif /* MANDEL_PPNG_H */
