/* mandel_kernel.h -- Mandelbrot escape counts: the plain scalar loop and
 * its vectorised twins, picked at run time by CPU support.
 *
 * The rule (the course's serial plotter): pixel (row k, column j) of a W x H
 * view of [x0, x1] x [y0, y1] samples c = x + iy with
 *     x = x0 + j * (x1 - x0) / W,   y = y0 + k * (y1 - y0) / H
 * (evaluated left to right, in double), and its count is the number of
 * iterations of z <- z^2 + c, from z = 0, made while |z| < 2 (tested as
 * zr^2 + zi^2 < 4, which is the same test in IEEE double) and the count is
 * below max_iter. Points that never escape get max_iter.
 *
 * Every kernel returns exactly the counts of mandel_kernel_scalar: the
 * kernels are compiled with -ffp-contract=off (no FMA fusion) and do the
 * same double operations in the same order, lane by lane.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MANDEL_KERNEL_H
#define MANDEL_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* A view: the region and the raster. Sizes and max_iter are positive. */
typedef struct mandel_view {
    double x0, x1, y0, y1;
    int32_t width, height;
    int32_t max_iter;
} mandel_view;

/* Counts for n points (cx[i], cy) into out[i]; n may be 0. */
typedef void mandel_kernel_fn(const double *cx, double cy, size_t n,
                              int32_t max_iter, int32_t *out);

typedef struct mandel_kernel {
    const char *name;    /* "scalar", "sse2", "avx2", "avx512" */
    mandel_kernel_fn *fn;
    int lanes;           /* points in flight at once */
} mandel_kernel;

/* The reference: one point at a time, the plain loop. */
void mandel_kernel_scalar(const double *cx, double cy, size_t n,
                          int32_t max_iter, int32_t *out);

/* The kernel called `name`, or the best one this CPU runs for "auto".
 * Returns NULL if the name is unknown or the CPU lacks the instructions. */
const mandel_kernel *mandel_kernel_get(const char *name);

/* All kernels compiled in, in order of preference (scalar last); *n gets
 * their number. Includes ones this CPU cannot run: check with
 * mandel_kernel_get(k->name). */
const mandel_kernel *mandel_kernel_list(size_t *n);

/* Sample coordinates of column j and row k (the rule above). */
double mandel_view_x(const mandel_view *v, int32_t col);
double mandel_view_y(const mandel_view *v, int32_t row);

#endif /* MANDEL_KERNEL_H */
