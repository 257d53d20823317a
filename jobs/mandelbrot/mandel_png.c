/* mandel_png.c -- the colour map and the row-streaming libpng writer.
 *
 * libpng reports errors by longjmp, so every call into it sits behind a
 * setjmp in the function that makes the call, and the functions that do so
 * keep no locals that change between setjmp and the calls (no clobbering).
 *
 * The colour map is the Bernstein-polynomial ramp
 *     r = 9 (1-t) t^3,  g = 15 (1-t)^2 t^2,  b = 8.5 (1-t)^3 t
 * of t = 0.95 log(1 + n) / log(1 + max_iter): smooth in n, dark blue for
 * points that escape at once, orange in the middle, dark red near the set.
 * The factor 0.95 keeps the last escaped counts visibly apart from the set;
 * any colour that would round to black gets one unit of blue. For up to
 * 2^20 iterations it is tabulated once, so a pixel costs one lookup.
 */
/* SPDX-License-Identifier: MIT */
#include "mandel_png.h"

#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#define LUT_MAX (1 << 20)

struct mandel_png {
    png_structp png;
    png_infop info;
    int32_t width, height, max_iter;
    int32_t rows_done;
    unsigned char *rgb; /* one row */
    unsigned char *lut; /* (max_iter + 1) * 3, or NULL */
    char err[256];
};

static unsigned char unit(double v)
{
    long q = lround(v * 255.0);
    return (unsigned char)(q < 0 ? 0 : q > 255 ? 255 : q);
}

void mandel_color(int32_t count, int32_t max_iter, unsigned char rgb[3])
{
    if (count >= max_iter) {
        rgb[0] = rgb[1] = rgb[2] = 0;
        return;
    }
    double t = 0.95 * log1p((double)count) / log1p((double)max_iter);
    double s = 1.0 - t;
    rgb[0] = unit(9.0 * s * t * t * t);
    rgb[1] = unit(15.0 * s * s * t * t);
    rgb[2] = unit(8.5 * s * s * s * t);
    if (!rgb[0] && !rgb[1] && !rgb[2])
        rgb[2] = 1;
}

static void on_error(png_structp png, png_const_charp msg)
{
    mandel_png *p = png_get_error_ptr(png);
    snprintf(p->err, sizeof p->err, "libpng: %s", msg);
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

void mandel_png_free(mandel_png *p)
{
    if (!p)
        return;
    if (p->png)
        png_destroy_write_struct(&p->png, &p->info);
    free(p->rgb);
    free(p->lut);
    free(p);
}

/* The libpng calls of mandel_png_new, behind their own setjmp. */
static int start(mandel_png *p, FILE *fp, int level)
{
    if (setjmp(png_jmpbuf(p->png)))
        return -1;
    png_init_io(p->png, fp);
    png_set_user_limits(p->png, 0x7fffffffL, 0x7fffffffL);
    png_set_compression_level(p->png, level);
    png_set_IHDR(p->png, p->info, (png_uint_32)p->width,
                 (png_uint_32)p->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p->png, p->info);
    return 0;
}

mandel_png *mandel_png_new(FILE *fp, int32_t width, int32_t height,
                           int32_t max_iter, int level, char *err,
                           size_t errlen)
{
    mandel_png *p = calloc(1, sizeof *p);

    if (!p)
        goto oom;
    p->width = width;
    p->height = height;
    p->max_iter = max_iter;
    p->rgb = malloc((size_t)width * 3);
    if (!p->rgb)
        goto oom;
    if (max_iter <= LUT_MAX) {
        p->lut = malloc(((size_t)max_iter + 1) * 3);
        if (!p->lut)
            goto oom;
        for (int32_t n = 0; n <= max_iter; n++)
            mandel_color(n, max_iter, p->lut + (size_t)n * 3);
    }
    p->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, p, on_error,
                                     on_warning);
    if (!p->png)
        goto oom;
    p->info = png_create_info_struct(p->png);
    if (!p->info)
        goto oom;
    if (start(p, fp, level) < 0) {
        snprintf(err, errlen, "%s", p->err);
        mandel_png_free(p);
        return NULL;
    }
    return p;
oom:
    snprintf(err, errlen, "out of memory starting a %dx%d PNG", width,
             height);
    mandel_png_free(p);
    return NULL;
}

static int write_row(mandel_png *p)
{
    if (setjmp(png_jmpbuf(p->png)))
        return -1;
    png_write_row(p->png, p->rgb);
    return 0;
}

int mandel_png_row(mandel_png *p, const int32_t *counts)
{
    if (p->rows_done >= p->height) {
        snprintf(p->err, sizeof p->err, "PNG: more than %d rows", p->height);
        return -1;
    }
    for (int32_t j = 0; j < p->width; j++) {
        int32_t n = counts[j];
        unsigned char *px = p->rgb + (size_t)j * 3;
        if (n < 0 || n > p->max_iter) {
            snprintf(p->err, sizeof p->err, "PNG: count %d out of range", n);
            return -1;
        }
        if (p->lut)
            memcpy(px, p->lut + (size_t)n * 3, 3);
        else
            mandel_color(n, p->max_iter, px);
    }
    if (write_row(p) < 0)
        return -1;
    p->rows_done++;
    return 0;
}

static int write_end(mandel_png *p)
{
    if (setjmp(png_jmpbuf(p->png)))
        return -1;
    png_write_end(p->png, NULL);
    return 0;
}

int mandel_png_finish(mandel_png *p)
{
    if (p->rows_done != p->height) {
        snprintf(p->err, sizeof p->err, "PNG: %d of %d rows written",
                 p->rows_done, p->height);
        return -1;
    }
    return write_end(p);
}

const char *mandel_png_error(const mandel_png *p)
{
    return p->err;
}
