/* matmul.c -- the matmul job: C = A * B in float64, one map task per block.
 *
 *   mpirun -np N mr-run matmul --n 4096 [--m M --k K] [--block B] [--seed S]
 *                              [--a A.npy --b B.npy] [--out C.npy] [--verify]
 *
 * The phases (plan.h has the decomposition):
 *   setup   every rank: options, sizes, the .npy headers, the memory check
 *           (all usage errors come here, before any work), BLAS threads.
 *   split   rank 0: one task per C block (per partial block with --split-k),
 *           i major, weight = flops.
 *   map     makes or reads A's and B's tiles (block.c) and calls
 *           cblas_dgemm once per k tile; emits key be32(i) be32(j) and
 *           either the whole block (row-major doubles) when C is wanted on
 *           rank 0 (--out, --verify) or only the block's checksum (its
 *           sum and sum of squares, row by row) otherwise: C stays
 *           where it was made, as in any distributed product whose result
 *           nobody asked to see, and 16 bytes travel instead of 8 MiB.
 *           With --split-k map emits the partial block and reduce does
 *           the rest.
 *   reduce  pass-through without --split-k: every value is the complete
 *           block (or its checksum), so nothing depends on the number of
 *           ranks. With --split-k it adds the partial blocks in task order
 *           (k chunk order), which is fixed, so the sums are too, then
 *           emits the block or its checksum as map would have.
 *   output  rank 0, blocks in key order (i major, j minor): the checksum
 *           of C is the sum of the block checksums in that order, the same
 *           at any number of ranks and whether or not C was gathered (it
 *           depends on the block size, which groups the additions);
 *           gathered block-rows are assembled and appended to the .npy
 *           file (mr_out_open: a temporary name until finish).
 *   finish  rank 0: the summary, --verify, then the rename of the file.
 *
 * Every map task also emits a small record (key 0xff be32(task)) with its
 * dgemm and panel seconds and its rank; those keys sort after every block
 * key (block-row numbers are below 2^31, so a block key's first byte is at
 * most 0x7f) and let finish split the time into compute and the rest.
 *
 * Partition: every key goes to rank 0. All of C ends on rank 0 anyway
 * (it alone writes the file and the checksum), so sending each block there
 * in the shuffle moves it once; a 2-D block-cyclic placement would move it
 * twice (to its owner, then to rank 0 for output). With --split-k rank 0
 * also does the additions, which are memory-bound and cheap next to the
 * dgemm of the partial blocks.
 *
 * Output streams: stdout gets what is the same at any number of ranks
 * (shape, block, checksum, the verify result), so runs can be compared
 * byte for byte; the timing line goes to stderr, like time(1).
 *
 * BLAS threads: OpenBLAS starts with one thread per core, which would
 * oversubscribe the cores as soon as two ranks share a node, so setup calls
 * openblas_set_num_threads(--blas-threads), 1 by default. That only stops
 * OpenBLAS from handing work to its pool: the pool's threads (cores - 1 of
 * them, started when the library is loaded) stay, and each spins in
 * sched_yield for 2^28 TSC ticks (0.13 s here) before it sleeps. Loaded
 * with the job, after MPI_Init, they spun through setup and the map's
 * first 0.1 s on every rank, ready to run beside the rank's dgemm or its
 * MPI waits (issue 23: 8158 switches and 17 ms of CPU for rank 1's at
 * n 2048). With one BLAS thread setup ends the pool (OpenBLAS starts it
 * again by itself if a later call wants threads).
 */
/* SPDX-License-Identifier: MIT */
#include <cblas.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block.h"
#include "gen.h"
#include "mem.h"
#include "mr/mr_job.h"
#include "npy.h"
#include "plan.h"
#include "verify.h"

#define KEY_BYTES 8
#define STAT_KEY_BYTES 5
#define STAT_TAG 0xff

/* OpenBLAS's pthreads build exports this (its fork handler calls it); the
 * OpenMP and serial builds do not, hence weak. */
int blas_thread_shutdown_(void) __attribute__((weak));

/* The per-task timing record (same architecture on every rank). */
typedef struct mm_stat {
    double gemm, panels;
    int32_t rank, pad;
} mm_stat;

typedef struct mm_state {
    mm_plan plan;
    mm_source a, b;
    mm_panels pa, pb;
    int gather, verify, threads;
    const char *out_path;
    double *cblock; /* one C block, reused by every task and reduce */
    double t_start;

    /* rank 0, output and finish */
    FILE *out;
    double *rows; /* the current block-row, or all of C with --verify */
    uint32_t next_i, next_j;
    double sum, sumsq;
    double *gemm_by_rank, *panels_by_rank;
    uint64_t stats_seen;
} mm_state;

static const mr_option mm_options[] = {
    {"n", MR_OPT_INT, NULL,
     "columns of B and C; alone, the size of square A, B and C"},
    {"m", MR_OPT_INT, NULL, "rows of A and C (default: n)"},
    {"k", MR_OPT_INT, NULL, "columns of A and rows of B (default: n)"},
    {"block", MR_OPT_INT, NULL,
     "edge of a C block, one map task each (default: the largest of "
     "2048, 1024, 512, 256 that makes at least 4 blocks)"},
    {"split-k", MR_OPT_INT, "1",
     "also cut k into this many chunks; reduce adds the partial blocks"},
    {"seed", MR_OPT_INT, "1", "seed of the generated A and B"},
    {"a", MR_OPT_STRING, NULL,
     "FILE: read A from this .npy file (float64, C or Fortran order)"},
    {"b", MR_OPT_STRING, NULL, "FILE: read B from this .npy file"},
    {"out", MR_OPT_STRING, NULL, "FILE: write C to this .npy file"},
    {"verify", MR_OPT_FLAG, NULL,
     "recompute C on rank 0 with one cblas_dgemm; fail if an element's "
     "error exceeds 1e-12 * k"},
    {"blas-threads", MR_OPT_INT, "1", "OpenBLAS threads per rank"},
    {NULL, 0, NULL, NULL},
};

/* ---------------- setup ---------------- */

static double phys_memory(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0;
}

/* --m/--k/--n given next to --a/--b must agree with the files. */
static int check_given(mr_ctx *ctx, const char *opt, uint64_t have,
                       const char *path)
{
    if (mr_opt_given(ctx, opt) && (uint64_t)mr_opt_int(ctx, opt) != have)
        return mr_error(ctx, MR_EINVAL,
                        "%s: --%s %ld does not match the file's %" PRIu64, path,
                        opt, mr_opt_int(ctx, opt), have);
    return MR_OK;
}

static int open_operands(mr_ctx *ctx, mm_state *st, long *m, long *k, long *n)
{
    const char *pa = mr_opt_string(ctx, "a"), *pb = mr_opt_string(ctx, "b");
    char err[512];
    int rc;

    if (!pa || !pb)
        return mr_error(ctx, MR_EUSAGE,
                        "--a and --b go together: give both "
                        "files, or neither to generate A and B");
    rc = mm_source_open(&st->a, pa, err, sizeof err);
    if (rc == MR_OK)
        rc = mm_source_open(&st->b, pb, err, sizeof err);
    if (rc != MR_OK)
        return mr_error(ctx, rc, "%s", err);
    if (st->a.rows > INT32_MAX || st->a.cols > INT32_MAX ||
        st->b.cols > INT32_MAX)
        return mr_error(ctx, MR_EINVAL,
                        "%s, %s: dimensions above %d do not fit the BLAS "
                        "interface",
                        pa, pb, INT32_MAX);
    if (st->b.rows != st->a.cols)
        return mr_error(
            ctx, MR_EINVAL,
            "%s: shape (%" PRIu64 ", %" PRIu64 ") does not match %s (%" PRIu64
            ", %" PRIu64 "): A * B needs B to have %" PRIu64 " rows",
            pb, st->b.rows, st->b.cols, pa, st->a.rows, st->a.cols, st->a.cols);
    if ((rc = check_given(ctx, "m", st->a.rows, pa)) != MR_OK ||
        (rc = check_given(ctx, "k", st->a.cols, pa)) != MR_OK ||
        (rc = check_given(ctx, "n", st->b.cols, pb)) != MR_OK)
        return rc;
    *m = (long)st->a.rows;
    *k = (long)st->a.cols;
    *n = (long)st->b.cols;
    return MR_OK;
}

static int check_out_path(mr_ctx *ctx, const char *path)
{
    struct stat sb;
    /* The commit renames over the path: never over a device or a pipe
     * (--out /dev/null would replace the device node). */
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode) && !S_ISDIR(sb.st_mode))
        return mr_error(ctx, MR_EUSAGE,
                        "--out %s: exists and is not a regular file", path);
    return mr_out_check(ctx, path);
}

static int check_memory(mr_ctx *ctx, mm_state *st, mm_keep *keep)
{
    double phys = phys_memory();
    int P = mr_ctx_nranks(ctx);
    const mm_plan *p = &st->plan;
    char b1[32], b2[32], b3[32];

    /* Generated operands keep one tile each (block.h). From files, keep
     * every tile of B when B takes at most a quarter of this machine's
     * memory per rank (ranks usually share a node). */
    if (st->a.file.fd < 0)
        *keep = MM_KEEP_LAST;
    else if (phys == 0 || 8.0 * (double)p->k * (double)p->n * P <= phys / 4)
        *keep = MM_KEEP_ROW_B;
    else
        *keep = MM_KEEP_ROW;
    mm_memory mem = mm_plan_memory(p, P, *keep, st->gather, st->verify);
    if (phys > 0 && (mem.root > phys || mem.other > phys))
        return mr_error(ctx, MR_EUSAGE,
                        "--m %" PRIu64 " --k %" PRIu64 " --n %" PRIu64
                        ": rank 0 would need about %s (C alone is %s%s), "
                        "more than this machine's %s",
                        p->m, p->k, p->n,
                        mm_format_bytes(mem.root, b1, sizeof b1),
                        mm_format_bytes(mem.c, b2, sizeof b2),
                        st->gather ? ", gathered on rank 0 for --out or "
                                     "--verify"
                                   : "",
                        mm_format_bytes(phys, b3, sizeof b3));
    return MR_OK;
}

static int mm_setup(mr_ctx *ctx)
{
    mm_state *st = calloc(1, sizeof *st);
    char err[512];
    long m = 0, k = 0, n = 0;
    int rc;
    mm_keep keep;

    if (!st)
        abort();
    st->a.file.fd = st->b.file.fd = -1;
    mr_ctx_set_state(ctx, st);
    st->t_start = mr_ctx_time(ctx);
    st->verify = mr_opt_flag(ctx, "verify");
    st->out_path = mr_opt_string(ctx, "out");
    st->threads = (int)mr_opt_int(ctx, "blas-threads");
    if (mr_ctx_argc(ctx) > 0)
        return mr_error(ctx, MR_EUSAGE, "unexpected argument '%s'",
                        mr_ctx_argv(ctx)[0]);
    if (st->threads < 1 || st->threads > 1024)
        return mr_error(ctx, MR_EUSAGE, "--blas-threads %d: use 1 to 1024",
                        st->threads);

    if (mr_opt_string(ctx, "a") || mr_opt_string(ctx, "b")) {
        rc = open_operands(ctx, st, &m, &k, &n);
        if (rc != MR_OK)
            return rc;
    } else {
        if (!mr_opt_given(ctx, "n"))
            return mr_error(ctx, MR_EUSAGE,
                            "give the size (--n, or --m --k --n) or the "
                            "operands (--a A.npy --b B.npy)");
        n = mr_opt_int(ctx, "n");
        m = mr_opt_given(ctx, "m") ? mr_opt_int(ctx, "m") : n;
        k = mr_opt_given(ctx, "k") ? mr_opt_int(ctx, "k") : n;
    }
    long block = 0; /* the plan's default */
    if (mr_opt_given(ctx, "block") && (block = mr_opt_int(ctx, "block")) <= 0)
        return mr_error(ctx, MR_EUSAGE, "--block must be positive, not %ld",
                        block);
    rc = mm_plan_init(&st->plan, m, k, n, block, mr_opt_int(ctx, "split-k"),
                      err, sizeof err);
    if (rc != MR_OK)
        return mr_error(ctx, rc, "%s", err);
    if (st->a.file.fd < 0) {
        uint64_t seed = (uint64_t)mr_opt_int(ctx, "seed");
        mm_source_gen(&st->a, seed, MM_GEN_A, st->plan.m, st->plan.k);
        mm_source_gen(&st->b, seed, MM_GEN_B, st->plan.k, st->plan.n);
    }

    st->gather = st->out_path || st->verify;
    if (st->out_path && mr_ctx_rank(ctx) == 0 &&
        (rc = check_out_path(ctx, st->out_path)) != MR_OK)
        return rc;
    if ((rc = check_memory(ctx, st, &keep)) != MR_OK)
        return rc;

    openblas_set_num_threads(st->threads);
    if (st->threads == 1 && blas_thread_shutdown_)
        blas_thread_shutdown_(); /* the idle pool: see the head comment */
    mm_panels_init(&st->pa, &st->a, st->plan.block, MM_KSTEP,
                   keep == MM_KEEP_LAST ? MM_CACHE_ONE : MM_CACHE_ROW);
    mm_panels_init(&st->pb, &st->b, MM_KSTEP, st->plan.block,
                   keep == MM_KEEP_ROW_B ? MM_CACHE_ALL : MM_CACHE_ONE);
    uint64_t bi = st->plan.block < st->plan.m ? st->plan.block : st->plan.m;
    uint64_t bj = st->plan.block < st->plan.n ? st->plan.block : st->plan.n;
    st->cblock = mm_alloc_big((size_t)(bi * bj * 8), MM_PAGES_HUGE);
    return MR_OK;
}

/* ---------------- split and map ---------------- */

static int mm_split(mr_ctx *ctx)
{
    mm_state *st = mr_ctx_state(ctx);
    uint64_t nt = mm_plan_ntasks(&st->plan);
    unsigned char d[MM_TASK_BYTES];

    for (uint64_t t = 0; t < nt; t++) {
        mm_task task = mm_plan_task(&st->plan, t);
        mm_task_encode(task, d);
        int rc = mr_task_add(ctx, mr_mem(d, sizeof d),
                             mm_plan_flops(&st->plan, task));
        if (rc != MR_OK)
            return rc;
    }
    return MR_OK;
}

static void block_key(unsigned char key[KEY_BYTES], uint32_t i, uint32_t j)
{
    mr_put_be32(key, i);
    mr_put_be32(key + 4, j);
}

/* Emits block (i, j), complete, from st->cblock: the whole block or its
 * checksum. */
static int emit_block(mr_ctx *ctx, mm_state *st, uint32_t i, uint32_t j)
{
    unsigned char key[KEY_BYTES];
    size_t rows = (size_t)mm_plan_rows(&st->plan, i);
    size_t cols = (size_t)mm_plan_cols(&st->plan, j);

    block_key(key, i, j);
    if (st->gather)
        return mr_emit(ctx, mr_mem(key, sizeof key),
                       mr_mem(st->cblock, rows * cols * 8));
    double sums[2];
    mm_block_checksum(st->cblock, rows, cols, cols, &sums[0], &sums[1]);
    return mr_emit(ctx, mr_mem(key, sizeof key), mr_mem(sums, sizeof sums));
}

static int mm_map(mr_ctx *ctx, mr_bytes desc)
{
    mm_state *st = mr_ctx_state(ctx);
    mm_task t;
    mm_stat stat = {.rank = mr_ctx_rank(ctx)};
    char err[512];

    if (mm_task_decode(&st->plan, desc, &t) != MR_OK)
        return mr_error(ctx, MR_EINVAL, "bad task descriptor (%zu bytes)",
                        desc.len);
    double made = st->pa.seconds + st->pb.seconds;
    int rc = mm_block_product(&st->pa, &st->pb, t.i, t.j,
                              mm_plan_k0(&st->plan, t.kc),
                              mm_plan_depth(&st->plan, t.kc), st->cblock,
                              &stat.gemm, err, sizeof err);
    if (rc != MR_OK)
        return mr_error(ctx, rc, "%s", err);
    stat.panels = st->pa.seconds + st->pb.seconds - made;

    if (st->plan.nkc > 1) { /* a partial block: reduce adds them */
        unsigned char key[KEY_BYTES];
        block_key(key, t.i, t.j);
        rc = mr_emit(
            ctx, mr_mem(key, sizeof key),
            mr_mem(st->cblock, (size_t)(mm_plan_rows(&st->plan, t.i) *
                                        mm_plan_cols(&st->plan, t.j) * 8)));
    } else {
        rc = emit_block(ctx, st, t.i, t.j);
    }
    if (rc != MR_OK)
        return rc;

    unsigned char skey[STAT_KEY_BYTES] = {STAT_TAG};
    mr_put_be32(skey + 1, (uint32_t)mr_ctx_task(ctx));
    return mr_emit(ctx, mr_mem(skey, sizeof skey), mr_mem(&stat, sizeof stat));
}

static int is_stat_key(mr_bytes key)
{
    return key.len == STAT_KEY_BYTES &&
           ((const unsigned char *)key.ptr)[0] == STAT_TAG;
}

/* Without --split-k, passes every value through (as a NULL reduce would;
 * whether k is split is known only after setup). With it, a block is the
 * sum of its partial blocks, in the order the engine gives them: task
 * order, which is k chunk 0, 1, ... */
static int mm_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    mm_state *st = mr_ctx_state(ctx);
    mr_bytes v;
    int rc;

    if (is_stat_key(key) || st->plan.nkc == 1) {
        while (mr_values_next(values, &v))
            if ((rc = mr_emit(ctx, key, v)) != MR_OK)
                return rc;
        return MR_OK;
    }
    if (key.len != KEY_BYTES)
        return mr_error(ctx, MR_EINVAL, "unexpected key of %zu bytes", key.len);
    uint32_t i = mr_get_be32(key.ptr);
    uint32_t j = mr_get_be32((const unsigned char *)key.ptr + 4);
    if (i >= st->plan.nbi || j >= st->plan.nbj)
        return mr_error(ctx, MR_EINVAL, "unexpected block (%u, %u)", i, j);
    size_t n =
        (size_t)(mm_plan_rows(&st->plan, i) * mm_plan_cols(&st->plan, j));
    double *acc = st->cblock;
    uint32_t parts = 0;
    while (mr_values_next(values, &v)) {
        if (v.len != n * 8)
            return mr_error(ctx, MR_EINVAL,
                            "partial block (%u, %u) has %zu bytes, not %zu", i,
                            j, v.len, n * 8);
        const unsigned char *p = v.ptr; /* values need not be aligned */
        if (parts++ == 0) {
            memcpy(acc, p, n * 8);
            continue;
        }
        for (size_t e = 0; e < n; e++) {
            double x;
            memcpy(&x, p + e * 8, 8);
            acc[e] += x;
        }
    }
    if (parts != st->plan.nkc)
        return mr_error(ctx, MR_EINVAL,
                        "block (%u, %u): %u partial blocks, not %u", i, j,
                        parts, st->plan.nkc);
    return emit_block(ctx, st, i, j);
}

static uint32_t mm_partition(mr_bytes key, uint32_t nparts)
{
    (void)key;
    (void)nparts;
    return 0; /* everything ends on rank 0: see the head comment */
}

/* ---------------- output and finish (rank 0) ---------------- */

static int take_stat(mr_ctx *ctx, mm_state *st, mr_bytes value)
{
    mm_stat s;
    int P = mr_ctx_nranks(ctx);

    if (value.len != sizeof s)
        return mr_error(ctx, MR_EINVAL, "bad timing record");
    memcpy(&s, value.ptr, sizeof s);
    if (!st->gemm_by_rank) {
        st->gemm_by_rank = calloc((size_t)P, sizeof(double));
        st->panels_by_rank = calloc((size_t)P, sizeof(double));
        if (!st->gemm_by_rank || !st->panels_by_rank)
            abort();
    }
    if (s.rank < 0 || s.rank >= P)
        return mr_error(ctx, MR_EINVAL, "bad timing record (rank %d)",
                        (int)s.rank);
    st->gemm_by_rank[s.rank] += s.gemm;
    st->panels_by_rank[s.rank] += s.panels;
    st->stats_seen++;
    return MR_OK;
}

/* Block (i, j) arrives whole: copy it into its place. */
static int take_block(mr_ctx *ctx, mm_state *st, uint32_t i, uint32_t j,
                      mr_bytes value, double *bsum, double *bsq)
{
    const mm_plan *p = &st->plan;
    size_t rows = (size_t)mm_plan_rows(p, i), cols = (size_t)mm_plan_cols(p, j);
    size_t n = (size_t)p->n;

    if (!st->rows) {
        size_t len = st->verify ? (size_t)(p->m * p->n) : (size_t)p->block * n;
        st->rows = mm_alloc_big(len * 8, MM_PAGES_SMALL);
    }
    if (st->out_path && !st->out) {
        st->out = mr_out_open(ctx, st->out_path);
        if (!st->out)
            return MR_EIO;
        if (npy_write_header(st->out, p->m, p->n) != MR_OK)
            return mr_error(ctx, MR_EIO, "%s: write failed: %s", st->out_path,
                            strerror(errno));
    }
    double *dst = st->rows + (size_t)j * p->block +
                  (st->verify ? (size_t)i * p->block * n : 0);
    for (size_t r = 0; r < rows; r++)
        memcpy(dst + r * n, (const char *)value.ptr + r * cols * 8, cols * 8);
    mm_block_checksum(dst, rows, cols, n, bsum, bsq);
    return MR_OK;
}

static int mm_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    mm_state *st = mr_ctx_state(ctx);
    const mm_plan *p = &st->plan;
    double bsum, bsq;
    int rc;

    if (is_stat_key(key))
        return take_stat(ctx, st, value);
    if (key.len != KEY_BYTES)
        return mr_error(ctx, MR_EINVAL, "unexpected key of %zu bytes", key.len);
    uint32_t i = mr_get_be32(key.ptr);
    uint32_t j = mr_get_be32((const unsigned char *)key.ptr + 4);
    if (i != st->next_i || j != st->next_j)
        return mr_error(ctx, MR_EINVAL,
                        "block (%u, %u) arrived where (%u, %u) was due", i, j,
                        st->next_i, st->next_j);
    size_t rows = (size_t)mm_plan_rows(p, i), cols = (size_t)mm_plan_cols(p, j);
    if (st->gather && value.len == rows * cols * 8) {
        if ((rc = take_block(ctx, st, i, j, value, &bsum, &bsq)) != MR_OK)
            return rc;
    } else if (!st->gather && value.len == 2 * sizeof(double)) {
        memcpy(&bsum, value.ptr, sizeof bsum);
        memcpy(&bsq, (const char *)value.ptr + sizeof bsum, sizeof bsq);
    } else {
        return mr_error(ctx, MR_EINVAL, "block (%u, %u) has %zu bytes", i, j,
                        value.len);
    }
    st->sum += bsum;
    st->sumsq += bsq;

    if (++st->next_j < p->nbj)
        return MR_OK;
    /* Block-row i is complete. */
    st->next_j = 0;
    st->next_i++;
    if (st->out) {
        size_t n = (size_t)(rows * p->n);
        const double *src =
            st->rows + (st->verify ? (size_t)i * p->block * (size_t)p->n : 0);
        if (fwrite(src, 8, n, st->out) != n)
            return mr_error(ctx, MR_EIO, "%s: write failed: %s", st->out_path,
                            strerror(errno));
    }
    return MR_OK;
}

static void print_times(mr_ctx *ctx, mm_state *st, double seconds)
{
    const mm_plan *p = &st->plan;
    double flops = 2.0 * (double)p->m * (double)p->n * (double)p->k;
    double gemm_sum = 0, busiest = 0, bgemm = 0, bpanels = 0;
    int P = mr_ctx_nranks(ctx);

    for (int r = 0; st->gemm_by_rank && r < P; r++) {
        double busy = st->gemm_by_rank[r] + st->panels_by_rank[r];
        gemm_sum += st->gemm_by_rank[r];
        if (busy > busiest) {
            busiest = busy;
            bgemm = st->gemm_by_rank[r];
            bpanels = st->panels_by_rank[r];
        }
    }
    fprintf(stderr,
            "matmul: %.3f s, %.2f GFLOP/s on %d rank%s x %d BLAS thread%s; "
            "busiest rank: dgemm %.3f s, panels %.3f s; "
            "rest (setup, checksums, shuffle, output, waiting) %.3f s; "
            "dgemm rate %.2f GFLOP/s per rank\n",
            seconds, flops / seconds * 1e-9, P, P == 1 ? "" : "s", st->threads,
            st->threads == 1 ? "" : "s", bgemm, bpanels, seconds - busiest,
            gemm_sum > 0 ? flops / gemm_sum * 1e-9 : 0.0);
    if (mm_plan_ntasks(p) < (uint64_t)P)
        fprintf(stderr,
                "matmul: only %" PRIu64 " tasks for %d ranks: a smaller "
                "--block would keep every rank busy\n",
                mm_plan_ntasks(p), P);
}

static int mm_finish(mr_ctx *ctx)
{
    mm_state *st = mr_ctx_state(ctx);
    const mm_plan *p = &st->plan;
    double seconds = mr_ctx_time(ctx) - st->t_start;
    char err[512];

    if (st->next_i != p->nbi || st->stats_seen != mm_plan_ntasks(p))
        return mr_error(ctx, MR_EINVAL,
                        "only %u of %u block-rows and %" PRIu64 " of %" PRIu64
                        " tasks arrived",
                        st->next_i, p->nbi, st->stats_seen, mm_plan_ntasks(p));
    printf("matmul: C (%" PRIu64 " x %" PRIu64 ") = A (%" PRIu64 " x %" PRIu64
           ") * B (%" PRIu64 " x %" PRIu64 "), block %" PRIu64 ", %" PRIu64
           " tasks\n",
           p->m, p->n, p->m, p->k, p->k, p->n, p->block, mm_plan_ntasks(p));
    printf("checksum: sum %.17g frobenius %.17g\n", st->sum, sqrt(st->sumsq));
    fflush(stdout);
    print_times(ctx, st, seconds);

    if (st->verify) {
        double maxerr, limit = 1e-12 * (double)p->k;
        int rc = mm_verify(&st->a, &st->b, st->rows, &maxerr, err, sizeof err);
        if (rc != MR_OK)
            return mr_error(ctx, rc, "%s", err);
        printf("verify: largest relative error %.3g (limit %.3g): %s\n", maxerr,
               limit, maxerr <= limit ? "ok" : "FAILED");
        fflush(stdout);
        if (!(maxerr <= limit))
            return mr_error(ctx, MR_ERROR,
                            "verify: C differs from one cblas_dgemm by %.3g "
                            "(limit 1e-12 * k = %.3g)",
                            maxerr, limit);
    }
    if (st->out)
        return mr_out_commit(ctx);
    return MR_OK;
}

static void mm_teardown(mr_ctx *ctx)
{
    mm_state *st = mr_ctx_state(ctx);
    if (!st)
        return;
    mm_panels_fini(&st->pa);
    mm_panels_fini(&st->pb);
    mm_source_fini(&st->a);
    mm_source_fini(&st->b);
    mm_free_big(st->cblock);
    mm_free_big(st->rows);
    free(st->gemm_by_rank);
    free(st->panels_by_rank);
    free(st);
    mr_ctx_set_state(ctx, NULL);
}

static const struct mr_job matmul_job = {
    .name = "matmul",
    .summary = "C = A * B in float64 by blocks, one map task per block",
    .options = mm_options,
    .setup = mm_setup,
    .split = mm_split,
    .map = mm_map,
    .reduce = mm_reduce,
    .partition = mm_partition,
    .output = mm_output,
    .finish = mm_finish,
    .teardown = mm_teardown,
};

MR_JOB_PLUGIN(matmul)
{
    return mr_job_register(reg, &matmul_job);
}
