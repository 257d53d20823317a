/* check_mandel.c -- checks a mandelbrot run's PNG and .npy from outside.
 *
 *   check_mandel IMAGE.png COUNTS.npy W H X0,X1,Y0,Y1 MAX_ITER
 *
 * Recomputes every count with its own plain loop (the rule of the issue,
 * written out again here, not the job's kernel), compares the .npy with it,
 * decodes the PNG with libpng and checks its size, that every pixel has the
 * colour of its count, that inside points are black and others are not,
 * and two known pixels of the default view: the centre of the main
 * cardioid (inside) and the top-left corner (outside). Prints what is
 * wrong and exits 1, or exits 0.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include "mandel_png.h"

#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int failed;

#define FAIL(...)                                                            \
    do {                                                                     \
        fprintf(stderr, "check_mandel: " __VA_ARGS__);                       \
        fputc('\n', stderr);                                                 \
        failed = 1;                                                          \
    } while (0)

static int32_t count(double x, double y, int32_t max)
{
    double zr = 0, zi = 0;
    int32_t n = 0;
    while (n < max && zr * zr + zi * zi < 4.0) {
        double t = zr * zr - zi * zi + x;
        zi = 2.0 * zr * zi + y;
        zr = t;
        n++;
    }
    return n;
}

static int32_t *read_npy(const char *path, long w, long h)
{
    FILE *f = fopen(path, "rb");
    unsigned char head[10];
    char dict[512], want[128];
    int32_t *c = NULL;

    if (!f || fread(head, 1, 10, f) != 10) {
        FAIL("%s: cannot read", path);
        goto out;
    }
    size_t hl = head[8] | head[9] << 8;
    if (memcmp(head, "\x93NUMPY\x01\x00", 8) || hl >= sizeof dict ||
        (10 + hl) % 64 || fread(dict, 1, hl, f) != hl) {
        FAIL("%s: not a .npy 1.0 file with a 64-byte aligned header", path);
        goto out;
    }
    snprintf(want, sizeof want, "{'descr': '<i4', 'fortran_order': False, "
             "'shape': (%ld, %ld), }", h, w);
    if (strncmp(dict, want, strlen(want)) || dict[hl - 1] != '\n') {
        FAIL("%s: header is not %s", path, want);
        goto out;
    }
    c = malloc((size_t)w * h * sizeof *c);
    if (fread(c, sizeof *c, (size_t)w * h, f) != (size_t)(w * h) ||
        fgetc(f) != EOF) {
        FAIL("%s: wrong data size", path);
        free(c);
        c = NULL;
    }
out:
    if (f)
        fclose(f);
    return c;
}

int main(int argc, char **argv)
{
    if (argc != 7) {
        fprintf(stderr, "usage: check_mandel IMAGE.png COUNTS.npy W H "
                        "X0,X1,Y0,Y1 MAX_ITER\n");
        return 2;
    }
    long w = atol(argv[3]), h = atol(argv[4]);
    double r[4];
    int32_t max = atoi(argv[6]);
    if (sscanf(argv[5], "%lf,%lf,%lf,%lf", &r[0], &r[1], &r[2], &r[3]) != 4)
        return 2;

    int32_t *c = read_npy(argv[2], w, h);
    if (!c)
        return 1;
    long wrong = 0;
    for (long k = 0; k < h; k++) {
        double y = r[2] + (double)k * (r[3] - r[2]) / (double)h;
        for (long j = 0; j < w; j++) {
            double x = r[0] + (double)j * (r[1] - r[0]) / (double)w;
            wrong += c[k * w + j] != count(x, y, max);
        }
    }
    if (wrong)
        FAIL("%s: %ld of %ld counts differ from the plain loop", argv[2],
             wrong, w * h);

    png_image img;
    memset(&img, 0, sizeof img);
    img.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&img, argv[1])) {
        FAIL("%s: %s", argv[1], img.message);
        free(c);
        return 1;
    }
    if (img.width != (png_uint_32)w || img.height != (png_uint_32)h)
        FAIL("%s: %ux%u, want %ldx%ld", argv[1], img.width, img.height, w,
             h);
    img.format = PNG_FORMAT_RGB;
    unsigned char *px = malloc(PNG_IMAGE_SIZE(img));
    if (!png_image_finish_read(&img, NULL, px, 0, NULL)) {
        FAIL("%s: %s", argv[1], img.message);
    } else if (!failed) {
        long bad = 0, black = 0;
        for (long i = 0; i < w * h; i++) {
            unsigned char want[3];
            mandel_color(c[i], max, want);
            bad += memcmp(px + i * 3, want, 3) != 0;
            int is_black = !px[i * 3] && !px[i * 3 + 1] && !px[i * 3 + 2];
            bad += is_black != (c[i] == max);
            black += is_black;
        }
        if (bad)
            FAIL("%s: %ld pixels have the wrong colour", argv[1], bad);
        if (!black || black == w * h)
            FAIL("%s: %ld black pixels of %ld", argv[1], black, w * h);
        /* Known pixels of the default view [-2,1]x[-1,1]: c near -0.25
         * on the real axis, inside the main cardioid, and the corner
         * c = -2 - i, which escapes at once. */
        if (r[0] == -2 && r[1] == 1 && r[2] == -1 && r[3] == 1) {
            long j = (long)(1.75 / 3.0 * w), k = h / 2;
            const unsigned char *in = px + (k * w + j) * 3;
            const unsigned char *out = px;
            if (in[0] || in[1] || in[2])
                FAIL("pixel (%ld,%ld) near c = -0.25 is not black", k, j);
            if (!out[0] && !out[1] && !out[2])
                FAIL("pixel (0,0), c = -2 - i, is black");
        }
    }
    png_image_free(&img);
    free(px);
    free(c);
    if (!failed)
        printf("check_mandel: %ldx%ld counts and image ok\n", w, h);
    return failed;
}
