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
 *           cblas_dgemm once per k tile. When C is wanted (--out,
 *           --verify) it emits the block under its block-row's key be32(i)
 *           (value: the block's doubles row-major, then be32(j) be32(kc));
 *           otherwise only the block's checksum (its sum and sum of
 *           squares, row by row), key 0xfe be32(i) be32(j): C stays where
 *           it was made, as in any distributed product whose result nobody
 *           asked to see, and 16 bytes travel instead of 8 MiB. With
 *           --split-k and no C wanted, map emits the partial block under
 *           be32(i) be32(j) and reduce adds them up.
 *   reduce  with C wanted: assembles block-row i (partial blocks added in
 *           task order, k chunk order, which is fixed, so the sums are
 *           too), emits each block's checksum and then the block-row's
 *           rows of C, key be32(row). The output pairs are whole rows, so
 *           each rank's share of the output order is a run of rows: one
 *           contiguous byte range of the row-major C.npy.
 *   output  parallel (output_part): each rank appends its rows to its part
 *           of C.npy (mr_pfile; rank 0's part starts with the header) and
 *           files the checksums and timing records it gets in a table,
 *           one slot each; output_end adds the tables over the ranks
 *           (mr_sum_u64: the slots' bits arrive exact), sums the block
 *           checksums in block order (i major, j minor) -- the checksum of
 *           C, the same at any number of ranks and whether or not C was
 *           gathered (it depends on the block size, which groups the
 *           additions) -- runs --verify on every rank for its rows, then
 *           commits C.npy (a temporary name until then; not after a failed
 *           verify).
 *   finish  rank 0: the summary, the timing line, the verify result.
 *
 * Every map task also emits a small record (key 0xff be32(task)) with its
 * dgemm and panel seconds and its rank; those keys sort after every row
 * and checksum key (a row number is below 2^31, so a row key's first byte
 * is at most 0x7f) and let finish split the time into compute and the
 * rest.
 *
 * Partition: block-rows go to ranks in contiguous runs (i * P / nbi), the
 * way the output phase will share their rows out, so a row is mostly
 * written by the rank that assembled it; a 2-D block-cyclic placement
 * would move most rows again in the output phase. Everything else
 * (checksums, timing records, partial blocks to add without --out) goes to
 * rank 0: small next to C, and with --split-k the additions are
 * memory-bound and cheap next to the dgemm of the partial blocks.
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

#define KEY_BYTES 8 /* be32(i) be32(j): a partial block (--split-k) */
#define BAND_KEY_BYTES 4 /* be32(i): a block of band i, for reduce */
#define ROW_KEY_BYTES 4  /* be32(row): a row of C, out of reduce */
#define SUM_KEY_BYTES 9  /* 0xfe be32(i) be32(j): a block's checksum */
#define SUM_TAG 0xfe
#define STAT_KEY_BYTES 5 /* 0xff be32(task): a task's timing record */
#define STAT_TAG 0xff
/* A band value is the block's doubles, then be32(j) be32(kc): map
 * writes the trailer after the block in place, and copies nothing. */
#define BAND_TRAILER 8

/* The totals output_end adds over the ranks (mr_sum_u64): counts, then
 * per-rank nanoseconds, then the block checksums' bits. */
enum { TOT_ROWS, TOT_SUMS, TOT_STATS, TOT_N };

/* Block-rows of C, for the partition (which gets no context); the same on
 * every rank from setup on. */
static uint32_t mm_nbi = 1;

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

    double *band; /* reduce: one block-row of C, assembled (gather) */
    uint32_t *parts; /* reduce: partial blocks seen per block-column */

    /* output: this rank's share; output_end: the run's totals */
    mr_pfile *out;
    int out_open;
    uint64_t *tot; /* TOT_N counts, 2P times, 2 nbi nbj checksum bits */
    size_t ntot;
    double *mine;   /* --verify: this rank's rows of C */
    uint64_t row0, nrows, mine_cap;
    double t_end;   /* when the output was complete, before --verify */
    double maxerr;  /* --verify: over every rank */
    double sum, sumsq;
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
                        ": each rank would need about %s (C alone is %s%s), "
                        "more than this machine's %s",
                        p->m, p->k, p->n,
                        mm_format_bytes(mem.root, b1, sizeof b1),
                        mm_format_bytes(mem.c, b2, sizeof b2),
                        st->gather ? ", its rows shared out over the ranks "
                                     "for --out or --verify"
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
    /* A block, and room for a band value's trailer after it. */
    st->cblock = mm_alloc_big((size_t)(bi * bj * 8) + BAND_TRAILER,
                              MM_PAGES_HUGE);
    mm_nbi = st->plan.nbi;
    st->ntot = TOT_N + 2 * (size_t)mr_ctx_nranks(ctx) +
               2 * (size_t)st->plan.nbi * st->plan.nbj;
    st->tot = calloc(st->ntot, sizeof *st->tot);
    if (!st->tot)
        abort();
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

static int emit_sum(mr_ctx *ctx, uint32_t i, uint32_t j, const double sums[2])
{
    unsigned char key[SUM_KEY_BYTES] = {SUM_TAG};
    mr_put_be32(key + 1, i);
    mr_put_be32(key + 5, j);
    return mr_emit(ctx, mr_mem(key, sizeof key),
                   mr_mem(sums, 2 * sizeof *sums));
}

/* Emits the block (or partial block kc) of st->cblock: to its band's
 * reducer when C is wanted (--out, --verify); else, complete, only its
 * checksum, or partial, to the reduce that adds it up. */
static int emit_block(mr_ctx *ctx, mm_state *st, mm_task t)
{
    size_t rows = (size_t)mm_plan_rows(&st->plan, t.i);
    size_t cols = (size_t)mm_plan_cols(&st->plan, t.j);
    size_t bytes = rows * cols * 8;

    if (st->gather) {
        unsigned char key[BAND_KEY_BYTES], *tail = (unsigned char *)st->cblock + bytes;
        mr_put_be32(key, t.i);
        mr_put_be32(tail, t.j);
        mr_put_be32(tail + 4, t.kc);
        return mr_emit(ctx, mr_mem(key, sizeof key),
                       mr_mem(st->cblock, bytes + BAND_TRAILER));
    }
    if (st->plan.nkc > 1) {
        unsigned char key[KEY_BYTES];
        block_key(key, t.i, t.j);
        return mr_emit(ctx, mr_mem(key, sizeof key), mr_mem(st->cblock, bytes));
    }
    double sums[2];
    mm_block_checksum(st->cblock, rows, cols, cols, &sums[0], &sums[1]);
    return emit_sum(ctx, t.i, t.j, sums);
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
    if ((rc = emit_block(ctx, st, t)) != MR_OK)
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

static int is_sum_key(mr_bytes key)
{
    return key.len == SUM_KEY_BYTES &&
           ((const unsigned char *)key.ptr)[0] == SUM_TAG;
}

/* --split-k without --out or --verify: block (i, j) is the sum of its
 * partial blocks, in the order the engine gives them: task order, which
 * is k chunk 0, 1, ...; only its checksum goes on. */
static int reduce_partials(mr_ctx *ctx, mm_state *st, mr_bytes key,
                           mr_values *values)
{
    mr_bytes v;
    uint32_t i = mr_get_be32(key.ptr);
    uint32_t j = mr_get_be32((const unsigned char *)key.ptr + 4);
    if (i >= st->plan.nbi || j >= st->plan.nbj)
        return mr_error(ctx, MR_EINVAL, "unexpected block (%u, %u)", i, j);
    size_t rows = (size_t)mm_plan_rows(&st->plan, i);
    size_t cols = (size_t)mm_plan_cols(&st->plan, j), n = rows * cols;
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
    double sums[2];
    mm_block_checksum(acc, rows, cols, cols, &sums[0], &sums[1]);
    return emit_sum(ctx, i, j, sums);
}

/* --out or --verify: the blocks of block-row i (partial blocks with
 * --split-k, added in task order, which is k chunk order) into their
 * places in st->band; then each block's checksum, and the band's rows as
 * the output pairs, so that a rank's share of the output is a run of
 * whole rows: one contiguous byte range of C.npy. */
static int reduce_band(mr_ctx *ctx, mm_state *st, uint32_t i,
                       mr_values *values)
{
    const mm_plan *p = &st->plan;
    size_t rows = (size_t)mm_plan_rows(p, i), n = (size_t)p->n;
    size_t block = (size_t)p->block;
    mr_bytes v;
    int rc;

    if (!st->band) {
        size_t most = (size_t)(p->block < p->m ? p->block : p->m);
        st->band = mm_alloc_big(most * n * 8, MM_PAGES_SMALL);
        st->parts = calloc(p->nbj, sizeof *st->parts);
        if (!st->parts)
            abort();
    }
    memset(st->parts, 0, p->nbj * sizeof *st->parts);
    while (mr_values_next(values, &v)) {
        const unsigned char *src = v.ptr;
        uint32_t j = UINT32_MAX, kc = 0;
        if (v.len >= BAND_TRAILER) {
            j = mr_get_be32(src + v.len - BAND_TRAILER);
            kc = mr_get_be32(src + v.len - BAND_TRAILER + 4);
        }
        size_t cols = j < p->nbj ? (size_t)mm_plan_cols(p, j) : 0;
        if (j >= p->nbj || kc != st->parts[j] ||
            v.len != rows * cols * 8 + BAND_TRAILER)
            return mr_error(ctx, MR_EINVAL, "block-row %u: unexpected block "
                            "(%zu bytes)", i, v.len);
        double *dst = st->band + (size_t)j * block;
        for (size_t r = 0; r < rows; r++) {
            const unsigned char *s = src + r * cols * 8;
            double *d = dst + r * n;
            if (kc == 0) {
                memcpy(d, s, cols * 8);
                continue;
            }
            for (size_t c = 0; c < cols; c++) {
                double x;
                memcpy(&x, s + c * 8, 8); /* values need not be aligned */
                d[c] += x;
            }
        }
        st->parts[j]++;
    }
    for (uint32_t j = 0; j < p->nbj; j++) {
        if (st->parts[j] != p->nkc)
            return mr_error(ctx, MR_EINVAL, "block (%u, %u): %u of %u "
                            "parts arrived", i, j, st->parts[j], p->nkc);
        double sums[2];
        mm_block_checksum(st->band + (size_t)j * block, rows,
                          (size_t)mm_plan_cols(p, j), n, &sums[0], &sums[1]);
        if ((rc = emit_sum(ctx, i, j, sums)) != MR_OK)
            return rc;
    }
    for (size_t r = 0; r < rows; r++) {
        unsigned char key[ROW_KEY_BYTES];
        mr_put_be32(key, (uint32_t)((uint64_t)i * block + r));
        if ((rc = mr_emit(ctx, mr_mem(key, sizeof key),
                          mr_mem(st->band + r * n, n * 8))) != MR_OK)
            return rc;
    }
    return MR_OK;
}

static int mm_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    mm_state *st = mr_ctx_state(ctx);
    mr_bytes v;
    int rc;

    if (is_stat_key(key) || is_sum_key(key)) {
        while (mr_values_next(values, &v))
            if ((rc = mr_emit(ctx, key, v)) != MR_OK)
                return rc;
        return MR_OK;
    }
    if (key.len == BAND_KEY_BYTES && st->gather)
        return reduce_band(ctx, st, mr_get_be32(key.ptr), values);
    if (key.len == KEY_BYTES && !st->gather && st->plan.nkc > 1)
        return reduce_partials(ctx, st, key, values);
    return mr_error(ctx, MR_EINVAL, "unexpected key of %zu bytes", key.len);
}

/* Block-rows go to ranks in contiguous runs, as the output phase will
 * share out their rows, so most rows are written where they were
 * assembled; everything else (checksums, timing records, partial blocks
 * to add up) is small next to C and goes to rank 0. */
static uint32_t mm_partition(mr_bytes key, uint32_t nparts)
{
    if (key.len != BAND_KEY_BYTES)
        return 0;
    uint64_t p = (uint64_t)mr_get_be32(key.ptr) * nparts / mm_nbi;
    return p < nparts ? (uint32_t)p : nparts - 1;
}

/* ---------------- output: every rank its share ---------------- */

/* With --out, from the first output call on, on every rank (output_end
 * commits it): this rank's part of C.npy; rank 0's starts with the
 * header. */
static int open_out(mr_ctx *ctx, mm_state *st)
{
    if (st->out_open || !st->out_path)
        return MR_OK;
    st->out_open = 1;
    st->out = mr_pfile_open(ctx, st->out_path);
    if (!st->out)
        return MR_EIO;
    if (mr_ctx_rank(ctx) != 0)
        return MR_OK;
    char h[512];
    size_t n = npy_format_header(h, sizeof h, st->plan.m, st->plan.n, 0, 1);
    if (!n)
        return mr_error(ctx, MR_EINVAL, "%s: no .npy header for this shape",
                        st->out_path);
    return mr_pfile_write(st->out, h, n);
}

static int take_row(mr_ctx *ctx, mm_state *st, uint32_t r, mr_bytes value)
{
    size_t n = (size_t)st->plan.n;
    int rc;

    /* Rows come first in the output order, one per index. */
    if (!st->gather || r != mr_output_index(ctx) || r >= st->plan.m ||
        value.len != n * 8)
        return mr_error(ctx, MR_EINVAL, "row %u arrived where row %llu was "
                        "due (%zu bytes)", r,
                        (unsigned long long)mr_output_index(ctx), value.len);
    if (st->out && (rc = mr_pfile_write(st->out, value.ptr, value.len)) != MR_OK)
        return rc;
    if (st->verify) {
        if (st->nrows == 0)
            st->row0 = r;
        if (st->nrows == st->mine_cap) {
            st->mine_cap = st->mine_cap ? 2 * st->mine_cap : 64;
            st->mine = realloc(st->mine, st->mine_cap * n * 8);
            if (!st->mine)
                abort();
        }
        memcpy(st->mine + st->nrows * n, value.ptr, n * 8);
    }
    st->nrows++;
    st->tot[TOT_ROWS]++;
    return MR_OK;
}

/* Block checksums and timing records land in st->tot, each in its own
 * slot (zero on every other rank), for output_end's sum over ranks. */
static int take_sum(mr_ctx *ctx, mm_state *st, mr_bytes key, mr_bytes value)
{
    const unsigned char *k = key.ptr;
    uint32_t i = mr_get_be32(k + 1), j = mr_get_be32(k + 5);
    if (i >= st->plan.nbi || j >= st->plan.nbj || value.len != 16)
        return mr_error(ctx, MR_EINVAL, "bad checksum of block (%u, %u)", i,
                        j);
    size_t slot = TOT_N + 2 * (size_t)mr_ctx_nranks(ctx) +
                  2 * ((size_t)i * st->plan.nbj + j);
    memcpy(&st->tot[slot], value.ptr, 16); /* the doubles' bits */
    st->tot[TOT_SUMS]++;
    return MR_OK;
}

static int take_stat(mr_ctx *ctx, mm_state *st, mr_bytes value)
{
    mm_stat s;
    int P = mr_ctx_nranks(ctx);

    if (value.len != sizeof s)
        return mr_error(ctx, MR_EINVAL, "bad timing record");
    memcpy(&s, value.ptr, sizeof s);
    if (s.rank < 0 || s.rank >= P)
        return mr_error(ctx, MR_EINVAL, "bad timing record (rank %d)",
                        (int)s.rank);
    /* Nanoseconds: integer sums do not depend on which rank adds. */
    st->tot[TOT_N + s.rank] += (uint64_t)llround(s.gemm * 1e9);
    st->tot[TOT_N + P + s.rank] += (uint64_t)llround(s.panels * 1e9);
    st->tot[TOT_STATS]++;
    return MR_OK;
}

static int mm_output_part(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    mm_state *st = mr_ctx_state(ctx);
    int rc = open_out(ctx, st);

    if (rc != MR_OK)
        return rc;
    if (key.len == ROW_KEY_BYTES)
        return take_row(ctx, st, mr_get_be32(key.ptr), value);
    if (is_sum_key(key))
        return take_sum(ctx, st, key, value);
    if (is_stat_key(key))
        return take_stat(ctx, st, value);
    return mr_error(ctx, MR_EINVAL, "unexpected key of %zu bytes", key.len);
}

/* --verify, collective: each rank checks its rows, then every rank gets
 * the largest error of all (ok 0: this rank only takes part). */
static int verify_all(mr_ctx *ctx, mm_state *st, int ok)
{
    int P = mr_ctx_nranks(ctx), rc = MR_OK;
    double e = 0;
    char err[512];

    if (ok && st->nrows > 0) {
        rc = mm_verify_rows(&st->a, &st->b, st->row0, st->nrows,
                            st->plan.block, st->mine, &e, err, sizeof err);
        if (rc != MR_OK)
            rc = mr_error(ctx, rc, "%s", err);
    }
    uint64_t *w = calloc((size_t)P, sizeof *w);
    if (!w)
        abort();
    memcpy(&w[mr_ctx_rank(ctx)], &e, sizeof e);
    int src = mr_sum_u64(ctx, w, (size_t)P);
    st->maxerr = 0;
    for (int r = 0; r < P; r++) {
        double x;
        memcpy(&x, &w[r], sizeof x);
        if (!(x <= st->maxerr)) /* also catches NaN */
            st->maxerr = isnan(x) ? INFINITY : x;
    }
    free(w);
    return rc != MR_OK ? rc : src;
}

/* Every rank: the totals and checksums to every rank, --verify, then
 * C.npy into place (not if verify failed). */
static int mm_output_end(mr_ctx *ctx)
{
    mm_state *st = mr_ctx_state(ctx);
    const mm_plan *p = &st->plan;
    int P = mr_ctx_nranks(ctx);
    int rc = open_out(ctx, st);
    int src = mr_sum_u64(ctx, st->tot, st->ntot);
    uint64_t nblocks = (uint64_t)p->nbi * p->nbj;

    if (rc == MR_OK)
        rc = src;
    if (rc == MR_OK && (st->tot[TOT_ROWS] != (st->gather ? p->m : 0) ||
                        st->tot[TOT_SUMS] != nblocks ||
                        st->tot[TOT_STATS] != mm_plan_ntasks(p)))
        rc = mr_error(ctx, MR_EINVAL,
                      "only %" PRIu64 " rows, %" PRIu64 " of %" PRIu64
                      " block checksums and %" PRIu64 " of %" PRIu64
                      " task records arrived",
                      st->tot[TOT_ROWS], st->tot[TOT_SUMS], nblocks,
                      st->tot[TOT_STATS], mm_plan_ntasks(p));
    /* The checksum of C: the blocks' in block order, i major. */
    const uint64_t *bits = st->tot + TOT_N + 2 * (size_t)P;
    for (uint64_t b = 0; b < nblocks; b++) {
        double bs, bq;
        memcpy(&bs, &bits[2 * b], sizeof bs);
        memcpy(&bq, &bits[2 * b + 1], sizeof bq);
        st->sum += bs;
        st->sumsq += bq;
    }
    st->t_end = mr_ctx_time(ctx);
    if (st->verify) {
        int vrc = verify_all(ctx, st, rc == MR_OK);
        double limit = 1e-12 * (double)p->k;
        if (rc == MR_OK)
            rc = vrc;
        if (rc == MR_OK && !(st->maxerr <= limit)) {
            if (mr_ctx_rank(ctx) == 0) {
                printf("verify: largest relative error %.3g (limit %.3g): "
                       "FAILED\n", st->maxerr, limit);
                fflush(stdout);
            }
            rc = mr_error(ctx, MR_ERROR,
                          "verify: C differs from cblas_dgemm by %.3g "
                          "(limit 1e-12 * k = %.3g)",
                          st->maxerr, limit);
        }
    }
    if (st->out) {
        int crc = mr_pfile_commit(st->out);
        st->out = NULL;
        if (rc == MR_OK)
            rc = crc;
    }
    return rc;
}

static void print_times(mr_ctx *ctx, mm_state *st, double seconds)
{
    const mm_plan *p = &st->plan;
    double flops = 2.0 * (double)p->m * (double)p->n * (double)p->k;
    double gemm_sum = 0, busiest = 0, bgemm = 0, bpanels = 0;
    int P = mr_ctx_nranks(ctx);

    for (int r = 0; r < P; r++) {
        double g = (double)st->tot[TOT_N + r] * 1e-9;
        double pn = (double)st->tot[TOT_N + P + r] * 1e-9;
        gemm_sum += g;
        if (g + pn > busiest) {
            busiest = g + pn;
            bgemm = g;
            bpanels = pn;
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

/* Rank 0, after output_end: C is in place and verified. */
static int mm_finish(mr_ctx *ctx)
{
    mm_state *st = mr_ctx_state(ctx);
    const mm_plan *p = &st->plan;

    printf("matmul: C (%" PRIu64 " x %" PRIu64 ") = A (%" PRIu64 " x %" PRIu64
           ") * B (%" PRIu64 " x %" PRIu64 "), block %" PRIu64 ", %" PRIu64
           " tasks\n",
           p->m, p->n, p->m, p->k, p->k, p->n, p->block, mm_plan_ntasks(p));
    printf("checksum: sum %.17g frobenius %.17g\n", st->sum, sqrt(st->sumsq));
    fflush(stdout);
    print_times(ctx, st, st->t_end - st->t_start);
    if (st->verify) {
        printf("verify: largest relative error %.3g (limit %.3g): ok\n",
               st->maxerr, 1e-12 * (double)p->k);
        fflush(stdout);
    }
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
    mm_free_big(st->band);
    free(st->parts);
    free(st->tot);
    free(st->mine);
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
    .output_part = mm_output_part,
    .output_end = mm_output_end,
    .finish = mm_finish,
    .teardown = mm_teardown,
};

MR_JOB_PLUGIN(matmul)
{
    return mr_job_register(reg, &matmul_job);
}
