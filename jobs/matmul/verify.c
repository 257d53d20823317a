/* verify.c -- matmul --verify (see verify.h).
 *
 * Two dgemm calls on the whole matrices: R = A B, then D = |A| |B| after
 * taking absolute values in place. It runs on rank 0 after the timed part
 * of the job, so it costs the run twice one rank's full product.
 */
/* SPDX-License-Identifier: MIT */
#include "verify.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "mem.h"
#include "mr/mr_job.h"

int mm_verify(const mm_source *a, const mm_source *b, const double *c,
              double *maxerr, char *err, size_t errlen)
{
    size_t m = (size_t)a->rows, k = (size_t)a->cols, n = (size_t)b->cols;
    /* The products' targets on huge pages, as the job's C blocks (mem.h). */
    double *A = mm_alloc_big(m * k * 8, MM_PAGES_SMALL);
    double *B = mm_alloc_big(k * n * 8, MM_PAGES_SMALL);
    double *R = mm_alloc_big(m * n * 8, MM_PAGES_HUGE);
    double *D = mm_alloc_big(m * n * 8, MM_PAGES_HUGE);
    int rc = mm_source_read(a, 0, m, 0, k, A, k, err, errlen);
    if (rc == MR_OK)
        rc = mm_source_read(b, 0, k, 0, n, B, n, err, errlen);
    if (rc != MR_OK)
        goto out;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0, A, (int)k, B, (int)n, 0.0, R, (int)n);
    for (size_t i = 0; i < m * k; i++)
        A[i] = fabs(A[i]);
    for (size_t i = 0; i < k * n; i++)
        B[i] = fabs(B[i]);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n,
                (int)k, 1.0, A, (int)k, B, (int)n, 0.0, D, (int)n);
    double worst = 0;
    for (size_t i = 0; i < m * n; i++) {
        double diff = fabs(c[i] - R[i]), e;
        if (diff == 0)
            continue;
        e = D[i] > 0 ? diff / D[i] : INFINITY;
        if (!(e <= worst)) /* also catches NaN */
            worst = isnan(e) ? INFINITY : e;
    }
    *maxerr = worst;
out:
    mm_free_big(A);
    mm_free_big(B);
    mm_free_big(R);
    mm_free_big(D);
    return rc;
}
