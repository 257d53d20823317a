/* verify.c -- matmul --verify (see verify.h).
 *
 * Per band of rows: R = A[band, :] B, then D = |A[band, :]| |B| (absolute
 * values taken in place in the band, and in a second copy of B). The job
 * runs it on every rank for the rows it wrote, after the timed part of the
 * run, so it costs the run about one full product spread over the ranks.
 */
/* SPDX-License-Identifier: MIT */
#include "verify.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "mem.h"
#include "mr/mr_job.h"

int mm_verify_rows(const mm_source *a, const mm_source *b, uint64_t r0,
                   uint64_t nr, uint64_t band, const double *c,
                   double *maxerr, char *err, size_t errlen)
{
    size_t m = (size_t)a->rows, k = (size_t)a->cols, n = (size_t)b->cols;
    size_t bh = (size_t)(band < m ? band : m);
    double worst = 0;
    /* The products' targets on huge pages, as the job's C blocks (mem.h). */
    double *A = mm_alloc_big(bh * k * 8, MM_PAGES_SMALL);
    double *B = mm_alloc_big(k * n * 8, MM_PAGES_SMALL);
    double *Babs = mm_alloc_big(k * n * 8, MM_PAGES_SMALL);
    double *R = mm_alloc_big(bh * n * 8, MM_PAGES_HUGE);
    double *D = mm_alloc_big(bh * n * 8, MM_PAGES_HUGE);
    int rc = mm_source_read(b, 0, k, 0, n, B, n, err, errlen);
    if (rc != MR_OK)
        goto out;
    for (size_t i = 0; i < k * n; i++)
        Babs[i] = fabs(B[i]);
    /* Whole bands from row 0 on: the reference of a row never depends on
     * which other rows are checked with it. */
    for (size_t first = (size_t)(r0 / bh) * bh; first < r0 + nr; first += bh) {
        size_t rows = m - first < bh ? m - first : bh;
        rc = mm_source_read(a, first, rows, 0, k, A, k, err, errlen);
        if (rc != MR_OK)
            goto out;
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows,
                    (int)n, (int)k, 1.0, A, (int)k, B, (int)n, 0.0, R, (int)n);
        for (size_t i = 0; i < rows * k; i++)
            A[i] = fabs(A[i]);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows,
                    (int)n, (int)k, 1.0, A, (int)k, Babs, (int)n, 0.0, D,
                    (int)n);
        size_t lo = first > r0 ? first : (size_t)r0;
        size_t hi = first + rows < r0 + nr ? first + rows : (size_t)(r0 + nr);
        for (size_t r = lo; r < hi; r++) {
            const double *cr = c + (r - r0) * n;
            const double *rr = R + (r - first) * n, *dr = D + (r - first) * n;
            for (size_t j = 0; j < n; j++) {
                double diff = fabs(cr[j] - rr[j]), e;
                if (diff == 0)
                    continue;
                e = dr[j] > 0 ? diff / dr[j] : INFINITY;
                if (!(e <= worst)) /* also catches NaN */
                    worst = isnan(e) ? INFINITY : e;
            }
        }
    }
    *maxerr = worst;
out:
    mm_free_big(A);
    mm_free_big(B);
    mm_free_big(Babs);
    mm_free_big(R);
    mm_free_big(D);
    return rc;
}

int mm_verify(const mm_source *a, const mm_source *b, const double *c,
              double *maxerr, char *err, size_t errlen)
{
    return mm_verify_rows(a, b, 0, a->rows, a->rows, c, maxerr, err, errlen);
}
