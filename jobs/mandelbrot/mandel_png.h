/* mandel_png.h -- escape counts to an RGB PNG, streamed a row at a time.
 *
 * The colour of a pixel is a smooth function of its count alone (so the
 * picture and the .npy counts always agree): points inside the set (count
 * == max_iter) are black, the others follow a smooth dark-blue -> orange ->
 * dark-red ramp of log(1 + count) / log(1 + max_iter) and are never black.
 * Only one row is held at a time, so an image of any height costs O(width).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MANDEL_PNG_H
#define MANDEL_PNG_H

#include <stdint.h>
#include <stdio.h>

typedef struct mandel_png mandel_png;

/* The colour of `count` (0 <= count <= max_iter) into rgb[0..2]. */
void mandel_color(int32_t count, int32_t max_iter, unsigned char rgb[3]);

/* Starts a width x height 8-bit RGB PNG on fp (borrowed: the caller
 * closes it after mandel_png_free). level is the zlib level (0..9).
 * Returns NULL and a message in err on failure. Free with mandel_png_free.
 */
mandel_png *mandel_png_new(FILE *fp, int32_t width, int32_t height,
                           int32_t max_iter, int level, char *err,
                           size_t errlen);

/* Appends the next row (width counts). After the last row, call
 * mandel_png_finish. Both return 0, or -1 with mandel_png_error() set. */
int mandel_png_row(mandel_png *p, const int32_t *counts);
int mandel_png_finish(mandel_png *p);
const char *mandel_png_error(const mandel_png *p);

/* Frees p (NULL is fine); an unfinished image is abandoned. */
void mandel_png_free(mandel_png *p);

#endif /* MANDEL_PNG_H */
