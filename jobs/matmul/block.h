/* block.h -- one block of C: its operand tiles and their product.
 *
 * An operand (A or B) comes from a source: the seeded generator (gen.h) or
 * a .npy file (npy.h). A panel set cuts an operand into tiles MM_KSTEP
 * (plan.h) deep along k (A: block rows by MM_KSTEP columns; B: MM_KSTEP
 * rows by block columns) and makes each tile on use, row-major and
 * dense. A task multiplies its row of A tiles by its column of B tiles,
 * one cblas_dgemm per k tile, adding into the C block.
 *
 * What is kept (matmul.c chooses): a generated operand keeps nothing but
 * the last tile, since making a tile again costs less than the fresh
 * memory that would hold all of them; a file operand keeps the tiles of
 * the current block-row of A (tasks come i major, so consecutive tasks
 * share them) and every tile of B when the memory budget allows (else only
 * the last), so each part of a file is read about once per rank.
 *
 * The product goes through cblas_dgemm on the calling thread's BLAS
 * settings; the job sets OpenBLAS's thread count once in setup.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MM_BLOCK_H
#define MM_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "npy.h"

/* Where an operand's elements come from. */
typedef struct mm_source {
    npy_file file; /* file.fd < 0: generated */
    uint64_t seed; /* generated: the seed and matrix id (gen.h) */
    int mat;
    uint64_t rows, cols;
} mm_source;

/* A generated rows x cols operand. */
void mm_source_gen(mm_source *s, uint64_t seed, int mat, uint64_t rows,
                   uint64_t cols);
/* Opens a .npy operand (see npy_open). Close with mm_source_fini. */
int mm_source_open(mm_source *s, const char *path, char *err, size_t errlen);
void mm_source_fini(mm_source *s);
/* Reads the nr x nc block at (r0, c0) into dst, row-major, leading
 * dimension ld. */
int mm_source_read(const mm_source *s, uint64_t r0, size_t nr, uint64_t c0,
                   size_t nc, double *dst, size_t ld, char *err, size_t errlen);

/* Which tiles a panel set keeps. */
typedef enum mm_cache {
    MM_CACHE_ALL, /* every tile made, for the whole run */
    MM_CACHE_ROW, /* per tile column, the last tile used: this holds the
                     current tile-row when tasks go row by row */
    MM_CACHE_ONE, /* the last tile used */
} mm_cache;

typedef struct mm_panels {
    const mm_source *src; /* borrowed */
    uint64_t tr, tc;      /* tile size; edge tiles are smaller */
    size_t ntr, ntc;      /* tiles down and across */
    mm_cache cache;
    size_t nslots;
    double **slots; /* each tr * tc doubles, allocated on first use */
    size_t *held;   /* the tile in each slot, SIZE_MAX: none */
    double seconds; /* time spent making tiles */
    uint64_t made;  /* tiles made (cache misses) */
} mm_panels;

/* Cuts src into tiles of tr x tc. */
void mm_panels_init(mm_panels *p, const mm_source *src, uint64_t tr,
                    uint64_t tc, mm_cache cache);
void mm_panels_fini(mm_panels *p);
/* Tile (ti, tj): *rows x *cols elements, row-major, dense. Borrowed:
 * valid until a call for another tile that the cache cannot hold next to
 * it, or mm_panels_fini. */
int mm_panels_get(mm_panels *p, size_t ti, size_t tj, const double **tile,
                  size_t *rows, size_t *cols, char *err, size_t errlen);

/* c (rows x cols, dense) = A[block-row i, k0 .. k0+depth) times
 * B[k0 .. k0+depth, block-column j]: one cblas_dgemm per k tile of a and b
 * (a's tile columns must equal b's tile rows), in k order, each adding
 * into c after the first; a range may start or end inside a tile. Adds
 * the dgemm time to *gemm_seconds. */
int mm_block_product(mm_panels *a, mm_panels *b, size_t i, size_t j,
                     uint64_t k0, uint64_t depth, double *c,
                     double *gemm_seconds, char *err, size_t errlen);

/* Sum and sum of squares of a rows x cols block (leading dimension ld), in
 * a fixed order that depends only on rows and cols: the checksum of a
 * block, the same on every rank for the same bits, whether the block is
 * dense or inside a block-row. */
void mm_block_checksum(const double *c, size_t rows, size_t cols, size_t ld,
                       double *sum, double *sumsq);

double mm_now(void);

#endif /* MM_BLOCK_H */
