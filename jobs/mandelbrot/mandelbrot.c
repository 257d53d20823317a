/* mandelbrot.c -- the `mandelbrot` job: a fractal rendered as map tasks.
 *
 *   setup   validates every option on every rank (same argv, same verdict)
 *           and, on rank 0, the output paths: all before any pixel.
 *   split   one task per tile of --tile rows; weight = its pixels.
 *   map     computes the tile with the vector kernel and emits one pair per
 *           row: key = big-endian number of the row's group (a fixed number
 *           of rows: mandel_ppng.h), value = the row's W counts as int32.
 *           It also emits one timing record per task, key 0xFF + task id,
 *           which sorts after every group key (a group key's first byte is
 *           at most 0x7F), when --profile or --report asked for them.
 *   reduce  a group's rows arrive in task order, which is row order: it
 *           adds them to the rank's totals (and histogram), deflates the
 *           group into its own PNG chunk (mandel_ppng.h) and emits it,
 *           key be32(group) be32(0), and with --counts the rows again,
 *           key be32(group) be32(1 + row): image order under the default
 *           bytewise order. The partition sends groups to ranks in
 *           contiguous runs, as the output phase will share them out.
 *   output  parallel (output_part): every rank gets a contiguous run of
 *           that order and appends the chunks and rows to its parts of
 *           the two files (mr_pfile); rank 0's parts start with the
 *           headers, the last rank's PNG part ends the deflate stream with
 *           the Adler-32 combined from every rank's. Totals, histogram and
 *           timing records reach every rank by mr_sum_u64, and output_end
 *           commits the files.
 *   finish  rank 0: the one-line summary, the study (--profile) and the
 *           timing report (--report).
 *
 * The compression sits in reduce, not in output_part, so that the output
 * phase's sort samples and moves compressed chunks rather than whole
 * groups of counts (its samples are whole records).
 *
 * No rank holds the image, and no rank writes all of it. Both files are
 * byte-identical for any number of ranks and any schedule: their bytes
 * depend only on the counts (a PNG group's bytes on its rows alone), and
 * the counts of a pixel only on its coordinates. A failed run leaves no
 * file under a final name (mr_pfile_commit).
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE
#include <mr/mr_job.h>

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mandel_kernel.h"
#include "mandel_npy.h"
#include "mandel_ppng.h"
#include "mandel_profile.h"

/* Copies of the counts the run holds at its peak, over all ranks: the rows
 * map emitted, their shuffled copy, the groups reduce emits, and the copy
 * the output phase's sort hands each rank. */
#define COPIES 4
#define REC_KEY 0xFF
/* The totals output_end adds over the ranks (mr_sum_u64), then each
 * rank's (adler, length) of its PNG groups. */
enum { SUM_ROWS, SUM_INSIDE, SUM_ITER, SUM_RECS, SUM_N };

/* Groups in the image, for the partition (which gets no context); the
 * same on every rank from setup on. */
static uint32_t mb_ngroups = 1;

typedef struct mandel_state {
    mandel_view view;
    const mandel_kernel *kernel;
    int32_t tile;
    const char *out, *counts, *profile;
    int stride, png_level, record, report;
    double *cx;   /* the x of every column */
    int32_t *row;         /* one row of counts */
    int32_t group_rows;   /* rows per group (mandel_ppng_group_rows) */
    int32_t *group;       /* one group of counts (reduce) */
    size_t ntasks;
    /* reduce and output: this rank's share, then (output_end) the run's */
    int parts_open;
    mr_pfile *png_f, *npy_f;
    mandel_ppng *ppng;
    mandel_buf zbuf;      /* one group's IDAT, or a head or tail */
    uint32_t adler;       /* of this rank's PNG chunks, in order */
    uint64_t zlen;        /* their uncompressed bytes */
    uint64_t sums[SUM_N]; /* from reduce and output_part */
    mandel_hist hist;
    mandel_task_rec *recs; /* zeroed but for the records this rank got */
    double t_setup;
} mandel_state;

static const mr_option mb_options[] = {
    {"width", MR_OPT_INT, "1200", "image width in pixels"},
    {"height", MR_OPT_INT, "800", "image height in pixels"},
    {"region", MR_OPT_STRING, "-2,1,-1,1",
     "X0,X1,Y0,Y1: the part of the plane to draw"},
    {"max-iter", MR_OPT_INT, "1000",
     "iterations before a point counts as inside the set"},
    {"tile", MR_OPT_INT, "1", "rows per map task"},
    {"out", MR_OPT_STRING, "mandelbrot.png", "FILE: the PNG image ('' for none)"},
    {"counts", MR_OPT_STRING, NULL,
     "FILE: also write the counts as a NumPy int32 (H, W) .npy file"},
    {"profile", MR_OPT_STRING, NULL,
     "DIR: write the load-imbalance study (CSV files, plots) there"},
    {"profile-stride", MR_OPT_INT, "4",
     "--profile times every Nth pixel of every Nth row"},
    {"kernel", MR_OPT_STRING, "auto",
     "auto, avx512, avx2, sse2 or scalar (the plain loop)"},
    {"png-level", MR_OPT_INT, "6", "zlib compression level of the PNG, 0-9"},
    {"mem-budget", MR_OPT_INT, "0",
     "bytes the run may hold (k/M/G; 0: half the RAM)"},
    {"report", MR_OPT_FLAG, NULL,
     "print the kernel, speed and imbalance on stderr"},
    {NULL, 0, NULL, NULL},
};

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------------- setup: every check before any work ---------------- */

static int parse_region(const char *s, double r[4])
{
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        char *end;
        errno = 0;
        r[i] = strtod(p, &end);
        if (end == p || errno == ERANGE || !isfinite(r[i]))
            return -1;
        if (i < 3 && *end != ',')
            return -1;
        p = end + (i < 3);
    }
    return *p == '\0' ? 0 : -1;
}

static int get_int(mr_ctx *ctx, const char *name, long lo, long hi,
                   int32_t *out)
{
    long v = mr_opt_int(ctx, name);
    if (v < lo || v > hi)
        return mr_error(ctx, MR_EUSAGE,
                        "--%s must be between %ld and %ld (got %ld)", name,
                        lo, hi, v);
    *out = (int32_t)v;
    return MR_OK;
}

#define ROW_MAX_PIXELS (((long)MR_ITEM_MAX - 4096) / 4)

static double half_the_ram(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && size > 0 ? (double)pages * size / 2 : 4e9;
}

static int check_budget(mr_ctx *ctx, const mandel_view *v)
{
    long given = mr_opt_int(ctx, "mem-budget");
    double budget = given > 0 ? (double)given : half_the_ram();
    double pixels = (double)v->width * v->height;
    double need = COPIES * 4.0 * pixels +
                  12.0 * v->width * mr_ctx_nranks(ctx);

    if (given < 0)
        return mr_error(ctx, MR_EUSAGE, "--mem-budget must not be negative");
    if (need > budget)
        return mr_error(ctx, MR_EUSAGE,
                        "a %dx%d image needs about %.0f bytes (%.2f GiB: %d "
                        "copies of its 4-byte counts in flight), "
                        "over the memory budget of %.0f bytes (%.2f GiB; "
                        "--mem-budget)",
                        v->width, v->height, need, need / 1073741824.0,
                        COPIES, budget, budget / 1073741824.0);
    return MR_OK;
}

/* Rank 0: every output path can be created, before any work. */
static int check_outputs(mr_ctx *ctx, mandel_state *st)
{
    int rc;
    if (st->out && (rc = mr_out_check(ctx, st->out)) != MR_OK)
        return rc;
    if (st->counts && (rc = mr_out_check(ctx, st->counts)) != MR_OK)
        return rc;
    if (st->out && st->counts && !strcmp(st->out, st->counts))
        return mr_error(ctx, MR_EUSAGE, "--out and --counts name the same "
                        "file: %s", st->out);
    if (st->profile) {
        char path[4096];
        struct stat sb;
        if (mkdir(st->profile, 0777) != 0 && errno != EEXIST)
            return mr_error(ctx, MR_EUSAGE, "--profile %s: cannot create "
                            "the folder: %s", st->profile, strerror(errno));
        if (stat(st->profile, &sb) != 0 || !S_ISDIR(sb.st_mode))
            return mr_error(ctx, MR_EUSAGE, "--profile %s: not a folder",
                            st->profile);
        snprintf(path, sizeof path, "%s/summary.csv", st->profile);
        if ((rc = mr_out_check(ctx, path)) != MR_OK)
            return rc;
    }
    return MR_OK;
}

static int mb_setup(mr_ctx *ctx)
{
    mandel_state *st = calloc(1, sizeof *st);
    double r[4];
    int32_t v = 0;
    int rc;

    if (!st)
        return mr_error(ctx, MR_ERROR, "out of memory");
    mr_ctx_set_state(ctx, st);
    st->t_setup = mr_ctx_time(ctx);
    /* A row is one value of W int32 counts, and values are shorter than
     * MR_ITEM_MAX. */
    long width = mr_opt_int(ctx, "width");
    if (width > ROW_MAX_PIXELS)
        return mr_error(ctx, MR_EUSAGE,
                        "--width %ld makes rows of %.0f MiB: a row is one "
                        "record, and records are at most 256 MiB (--width "
                        "at most %ld)",
                        width, width * 4.0 / 1048576.0, ROW_MAX_PIXELS);
    if ((rc = get_int(ctx, "width", 1, ROW_MAX_PIXELS,
                      &st->view.width)) != MR_OK ||
        (rc = get_int(ctx, "height", 1, INT32_MAX, &st->view.height)) !=
            MR_OK ||
        (rc = get_int(ctx, "max-iter", 1, INT32_MAX, &st->view.max_iter)) !=
            MR_OK ||
        (rc = get_int(ctx, "tile", 1, INT32_MAX, &st->tile)) != MR_OK ||
        (rc = get_int(ctx, "png-level", 0, 9, &v)) != MR_OK)
        return rc;
    st->png_level = v;
    if ((rc = get_int(ctx, "profile-stride", 1, INT32_MAX, &v)) != MR_OK)
        return rc;
    st->stride = v;
    const char *region = mr_opt_string(ctx, "region");
    if (parse_region(region, r) < 0)
        return mr_error(ctx, MR_EUSAGE, "--region '%s': want four numbers "
                        "X0,X1,Y0,Y1", region);
    if (!(r[0] < r[1]) || !(r[2] < r[3]))
        return mr_error(ctx, MR_EUSAGE, "--region '%s' is inverted or empty: "
                        "want X0 < X1 and Y0 < Y1", region);
    st->view.x0 = r[0];
    st->view.x1 = r[1];
    st->view.y0 = r[2];
    st->view.y1 = r[3];
    const char *kname = mr_opt_string(ctx, "kernel");
    st->kernel = mandel_kernel_get(kname);
    if (!st->kernel)
        return mr_error(ctx, MR_EUSAGE, "--kernel %s: unknown, or this CPU "
                        "cannot run it (auto, avx512, avx2, sse2, scalar)",
                        kname);
    if ((rc = check_budget(ctx, &st->view)) != MR_OK)
        return rc;
    st->out = mr_opt_string(ctx, "out");
    if (st->out && !*st->out)
        st->out = NULL;
    st->counts = mr_opt_string(ctx, "counts");
    st->profile = mr_opt_string(ctx, "profile");
    st->report = mr_opt_flag(ctx, "report");
    st->record = st->profile || st->report;
    if (mr_ctx_rank(ctx) == 0 && (rc = check_outputs(ctx, st)) != MR_OK)
        return rc;

    st->cx = malloc((size_t)st->view.width * sizeof *st->cx);
    st->row = malloc((size_t)st->view.width * sizeof *st->row);
    if (!st->cx || !st->row)
        return mr_error(ctx, MR_ERROR, "out of memory for a %d-pixel row",
                        st->view.width);
    for (int32_t j = 0; j < st->view.width; j++)
        st->cx[j] = mandel_view_x(&st->view, j);
    st->group_rows = mandel_ppng_group_rows(st->view.width);
    mb_ngroups = (uint32_t)((st->view.height - 1) / st->group_rows + 1);
    st->ntasks = (size_t)(((int64_t)st->view.height - 1) / st->tile + 1);
    st->adler = 1; /* the Adler-32 of nothing */
    if (st->record &&
        !(st->recs = calloc(st->ntasks, sizeof *st->recs)))
        return mr_error(ctx, MR_ERROR, "out of memory");
    if (st->profile && mandel_hist_init(&st->hist, st->view.max_iter) < 0)
        return mr_error(ctx, MR_ERROR, "out of memory for the histogram");
    return MR_OK;
}

/* ---------------- split and map ---------------- */

static int mb_split(mr_ctx *ctx)
{
    mandel_state *st = mr_ctx_state(ctx);
    int32_t h = st->view.height;

    for (int32_t r = 0; r < h; r += st->tile) {
        int32_t rows = h - r < st->tile ? h - r : st->tile;
        unsigned char desc[8];
        mr_put_be32(desc, (uint32_t)r);
        mr_put_be32(desc + 4, (uint32_t)rows);
        int rc = mr_task_add(ctx, mr_mem(desc, sizeof desc),
                             (double)rows * st->view.width);
        if (rc != MR_OK)
            return rc;
        if (r > h - st->tile)
            break; /* r + tile would overflow int32 */
    }
    return MR_OK;
}

static int mb_map(mr_ctx *ctx, mr_bytes task)
{
    mandel_state *st = mr_ctx_state(ctx);
    const mandel_view *v = &st->view;
    size_t w = (size_t)v->width;

    if (task.len != 8)
        return mr_error(ctx, MR_EINVAL, "bad task descriptor");
    int32_t first = (int32_t)mr_get_be32(task.ptr);
    int32_t rows = (int32_t)mr_get_be32((const char *)task.ptr + 4);
    mandel_task_rec rec = {.rank = mr_ctx_rank(ctx), .first_row = first,
                           .rows = rows};
    rec.start = mr_ctx_time(ctx);
    double cpu0 = cpu_now();
    for (int32_t k = first; k < first + rows; k++) {
        unsigned char key[4];
        st->kernel->fn(st->cx, mandel_view_y(v, k), w, v->max_iter,
                       st->row);
        for (size_t j = 0; j < w; j++)
            rec.iterations += st->row[j];
        mr_put_be32(key, (uint32_t)(k / st->group_rows));
        int rc = mr_emit(ctx, mr_mem(key, 4),
                         mr_mem(st->row, w * sizeof *st->row));
        if (rc != MR_OK)
            return rc;
    }
    rec.cpu = cpu_now() - cpu0;
    rec.end = mr_ctx_time(ctx);
    if (!st->record)
        return MR_OK;
    unsigned char key[5] = {REC_KEY};
    mr_put_be32(key + 1, (uint32_t)mr_ctx_task(ctx));
    return mr_emit(ctx, mr_mem(key, 5), mr_mem(&rec, sizeof rec));
}

/* ---------------- reduce: rows into groups ---------------- */

static int32_t group_height(const mandel_state *st, uint32_t g)
{
    int64_t left = (int64_t)st->view.height - (int64_t)g * st->group_rows;
    return left < st->group_rows ? (int32_t)left : st->group_rows;
}

/* Output keys: be32(group) be32(part), part 0 the group's PNG IDAT, part
 * 1 + r its row r of counts; in bytewise order that is image order. */
static void out_key(unsigned char key[8], uint32_t g, uint32_t part)
{
    mr_put_be32(key, g);
    mr_put_be32(key + 4, part);
}

/* The group's PNG chunk, with its Adler-32 and uncompressed length after
 * it (the last 12 bytes of the value). */
static int emit_png(mr_ctx *ctx, mandel_state *st, uint32_t g, int32_t rows)
{
    unsigned char key[8], trailer[12];
    uint32_t adler;
    uint64_t len;
    char err[256];

    st->zbuf.len = 0;
    if (mandel_ppng_group(st->ppng, st->group, rows, &st->zbuf, &adler, &len,
                          err, sizeof err) < 0)
        return mr_error(ctx, MR_EIO, "%s: %s", st->out, err);
    mr_put_be32(trailer, adler);
    memcpy(trailer + 4, &len, sizeof len);
    if (st->zbuf.cap - st->zbuf.len < sizeof trailer) {
        unsigned char *p = realloc(st->zbuf.p, st->zbuf.len + sizeof trailer);
        if (!p)
            return mr_error(ctx, MR_ERROR, "out of memory");
        st->zbuf.p = p;
        st->zbuf.cap = st->zbuf.len + sizeof trailer;
    }
    memcpy(st->zbuf.p + st->zbuf.len, trailer, sizeof trailer);
    out_key(key, g, 0);
    return mr_emit(ctx, mr_mem(key, 8),
                   mr_mem(st->zbuf.p, st->zbuf.len + sizeof trailer));
}

/* A group's rows arrive in task order, which is row order. reduce adds
 * them to this rank's totals and deflates the group's PNG chunk here, on
 * the rank that has the rows, so that what the output phase sorts and
 * moves is the small compressed chunk, plus the rows themselves only for
 * --counts. */
static int mb_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    mandel_state *st = mr_ctx_state(ctx);
    size_t w = (size_t)st->view.width, rowb = w * sizeof *st->row;
    mr_bytes v;
    int rc;

    if (key.len != 4) { /* timing records pass through */
        while (mr_values_next(values, &v))
            if ((rc = mr_emit(ctx, key, v)) != MR_OK)
                return rc;
        return MR_OK;
    }
    uint32_t g = mr_get_be32(key.ptr);
    if (g >= mb_ngroups)
        return mr_error(ctx, MR_ERROR, "unexpected group %u", g);
    int32_t rows = group_height(st, g), n = 0;
    if (!st->group &&
        !(st->group = malloc((size_t)st->group_rows * rowb)))
        return mr_error(ctx, MR_ERROR, "out of memory for a group of rows");
    if (st->out && !st->ppng &&
        !(st->ppng = mandel_ppng_new(st->view.width, st->view.max_iter,
                                     st->png_level)))
        return mr_error(ctx, MR_ERROR, "out of memory for the deflater");
    while (mr_values_next(values, &v)) {
        if (n == rows || v.len != rowb)
            return mr_error(ctx, MR_ERROR, "group %u: unexpected row %d "
                            "(%zu bytes)", g, n, v.len);
        memcpy((char *)st->group + (size_t)n * rowb, v.ptr, rowb);
        if (st->counts) {
            unsigned char okey[8];
            out_key(okey, g, 1 + (uint32_t)n);
            if ((rc = mr_emit(ctx, mr_mem(okey, 8), v)) != MR_OK)
                return rc;
        }
        n++;
    }
    if (n != rows)
        return mr_error(ctx, MR_ERROR, "group %u: %d of %d rows arrived", g,
                        n, rows);
    const int32_t *c = st->group;
    size_t npx = (size_t)rows * w;
    uint64_t iter = 0, inside = 0;
    for (size_t j = 0; j < npx; j++) {
        iter += (uint64_t)c[j];
        inside += c[j] == st->view.max_iter;
    }
    st->sums[SUM_ITER] += iter;
    st->sums[SUM_INSIDE] += inside;
    st->sums[SUM_ROWS] += (uint64_t)rows;
    if (st->profile)
        mandel_hist_add(&st->hist, c, npx);
    return st->out ? emit_png(ctx, st, g, rows) : MR_OK;
}

/* Groups go to ranks in contiguous runs, the way the output phase will
 * share them out, so few of them move again there. Timing records: rank 0
 * (they end up wherever the output order puts them anyway). */
static uint32_t mb_partition(mr_bytes key, uint32_t nparts)
{
    if (key.len != 4)
        return 0;
    uint64_t p = (uint64_t)mr_get_be32(key.ptr) * nparts / mb_ngroups;
    return p < nparts ? (uint32_t)p : nparts - 1;
}

/* ---------------- output: every rank its share ---------------- */

/* From the first output call on, on every rank (output_end commits what
 * is open): the files' parts; rank 0's start with the headers. */
static int open_parts(mr_ctx *ctx, mandel_state *st)
{
    const mandel_view *v = &st->view;
    int first = mr_ctx_rank(ctx) == 0, rc = MR_OK;

    if (st->parts_open)
        return MR_OK;
    st->parts_open = 1;
    if (st->counts) {
        unsigned char head[MANDEL_NPY_HEADER_MAX];
        st->npy_f = mr_pfile_open(ctx, st->counts);
        if (!st->npy_f)
            return MR_EIO;
        int n = first ? mandel_npy_header_buf(head, v->height, v->width) : 0;
        if (n < 0)
            return mr_error(ctx, MR_ERROR, "%s: no .npy header for %dx%d",
                            st->counts, v->width, v->height);
        if (n > 0 && (rc = mr_pfile_write(st->npy_f, head, (size_t)n)) != MR_OK)
            return rc;
    }
    if (st->out) {
        st->png_f = mr_pfile_open(ctx, st->out);
        if (!st->png_f)
            return MR_EIO;
        st->zbuf.len = 0;
        if (first && mandel_ppng_head(&st->zbuf, v->width, v->height,
                                      st->png_level) < 0)
            return mr_error(ctx, MR_ERROR, "%s: out of memory", st->out);
        if (st->zbuf.len &&
            (rc = mr_pfile_write(st->png_f, st->zbuf.p, st->zbuf.len)) != MR_OK)
            return rc;
    }
    return MR_OK;
}

static int output_png(mr_ctx *ctx, mandel_state *st, mr_bytes value)
{
    const unsigned char *p = value.ptr;
    uint64_t len;

    if (!st->png_f || value.len < 12)
        return mr_error(ctx, MR_ERROR, "unexpected PNG chunk");
    size_t n = value.len - 12;
    memcpy(&len, p + n + 4, sizeof len);
    st->adler = mandel_ppng_combine(st->adler, mr_get_be32(p + n), len);
    st->zlen += len;
    return mr_pfile_write(st->png_f, p, n);
}

static int mb_output_part(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    mandel_state *st = mr_ctx_state(ctx);
    const unsigned char *k = key.ptr;
    int rc = open_parts(ctx, st);

    if (rc != MR_OK)
        return rc;
    if (key.len == 8 && mr_get_be32(k) < mb_ngroups) {
        if (mr_get_be32(k + 4) == 0)
            return output_png(ctx, st, value);
        if (!st->npy_f || value.len != (size_t)st->view.width * 4)
            return mr_error(ctx, MR_ERROR, "unexpected row of counts");
        return mr_pfile_write(st->npy_f, value.ptr, value.len);
    }
    if (key.len == 5 && k[0] == REC_KEY && value.len == sizeof *st->recs) {
        uint32_t id = mr_get_be32(k + 1);
        if (st->recs && id < st->ntasks) {
            memcpy(&st->recs[id], value.ptr, sizeof *st->recs);
            st->sums[SUM_RECS]++;
            return MR_OK;
        }
    }
    return mr_error(ctx, MR_ERROR, "unexpected output pair (%zu-byte key)",
                    key.len);
}

/* Every rank: the totals, histogram and timing records to every rank;
 * the PNG's tail on the last rank; then the files into place. */
static int mb_output_end(mr_ctx *ctx)
{
    mandel_state *st = mr_ctx_state(ctx);
    int P = mr_ctx_nranks(ctx), me = mr_ctx_rank(ctx);
    int rc = open_parts(ctx, st), rc2 = MR_OK;
    size_t n = SUM_N + 2 * (size_t)P;
    uint64_t *v = calloc(n, sizeof *v);

    if (!v)
        abort();
    memcpy(v, st->sums, sizeof st->sums);
    v[SUM_N + 2 * (size_t)me] = st->adler;
    v[SUM_N + 2 * (size_t)me + 1] = st->zlen;
    /* Each slot is one rank's (the records: zero on the others), so the
     * sums are their values, exactly. */
    _Static_assert(sizeof(mandel_task_rec) % 8 == 0, "records in words");
    rc2 = mr_sum_u64(ctx, v, n);
    if (rc2 == MR_OK && st->profile)
        rc2 = mr_sum_u64(ctx, st->hist.bins, st->hist.n);
    if (rc2 == MR_OK && st->record)
        rc2 = mr_sum_u64(ctx, (uint64_t *)st->recs,
                         st->ntasks * sizeof *st->recs / 8);
    if (rc == MR_OK)
        rc = rc2;
    memcpy(st->sums, v, sizeof st->sums);
    if (rc == MR_OK && st->sums[SUM_ROWS] != (uint64_t)st->view.height)
        rc = mr_error(ctx, MR_ERROR, "only %llu of %d rows arrived",
                      (unsigned long long)st->sums[SUM_ROWS],
                      st->view.height);
    if (rc == MR_OK && st->record && st->sums[SUM_RECS] != st->ntasks)
        rc = mr_error(ctx, MR_ERROR, "%llu of %zu task records arrived",
                      (unsigned long long)st->sums[SUM_RECS], st->ntasks);
    if (rc == MR_OK && st->png_f && me == P - 1) {
        uint32_t adler = 1;
        for (int r = 0; r < P; r++)
            adler = mandel_ppng_combine(adler, (uint32_t)v[SUM_N + 2 * r],
                                        v[SUM_N + 2 * r + 1]);
        st->zbuf.len = 0;
        if (mandel_ppng_tail(&st->zbuf, adler) < 0)
            rc = mr_error(ctx, MR_ERROR, "%s: out of memory", st->out);
        else
            rc = mr_pfile_write(st->png_f, st->zbuf.p, st->zbuf.len);
    }
    free(v);
    /* Collective, also after an error (they agree on it, and remove). */
    if (st->npy_f) {
        rc2 = mr_pfile_commit(st->npy_f);
        st->npy_f = NULL;
        if (rc == MR_OK)
            rc = rc2;
    }
    if (st->png_f) {
        rc2 = mr_pfile_commit(st->png_f);
        st->png_f = NULL;
        if (rc == MR_OK)
            rc = rc2;
    }
    return rc;
}

static void report(mr_ctx *ctx, mandel_state *st)
{
    mandel_balance b;
    const mandel_view *v = &st->view;
    double pixels = (double)v->width * v->height;
    double total = mr_ctx_time(ctx) - st->t_setup;

    if (mandel_balance_init(&b, st->recs, st->ntasks, mr_ctx_nranks(ctx),
                            v->width) < 0)
        return;
    fprintf(stderr,
            "mandelbrot: kernel %s (%d lanes), %dx%d, max-iter %d, %zu "
            "tasks of %d rows on %d ranks\n"
            "mandelbrot: map span %.3f s = %.2f Mpixel/s (setup to finish "
            "%.3f s = %.2f Mpixel/s), %.3g iterations/s\n"
            "mandelbrot: imbalance (max/mean busy) %.3f wall, %.3f CPU, "
            "%.3f iterations\n",
            st->kernel->name, st->kernel->lanes, v->width, v->height,
            v->max_iter, st->ntasks, st->tile, b.nranks, b.span,
            pixels / b.span / 1e6, total, pixels / total / 1e6,
            (double)st->sums[SUM_ITER] / b.span, b.imbalance, b.imbalance_cpu,
            b.imbalance_iter);
    for (int k = 0; k < b.nranks; k++)
        fprintf(stderr, "mandelbrot: rank %d: %lld tasks, busy %.3f s, CPU "
                "%.3f s, idle %.3f s\n", k, (long long)b.tasks[k], b.busy[k],
                b.cpu[k], b.idle[k]);
    mandel_balance_fini(&b);
}

/* Rank 0, after output_end: the files are in place, the totals summed. */
static int mb_finish(mr_ctx *ctx)
{
    mandel_state *st = mr_ctx_state(ctx);
    const mandel_view *v = &st->view;

    printf("mandelbrot %dx%d of [%.17g,%.17g]x[%.17g,%.17g], max-iter %d: "
           "%llu pixels inside the set, %llu iterations\n",
           v->width, v->height, v->x0, v->x1, v->y0, v->y1, v->max_iter,
           (unsigned long long)st->sums[SUM_INSIDE],
           (unsigned long long)st->sums[SUM_ITER]);
    fflush(stdout);
    if (st->report)
        report(ctx, st);
    if (st->profile) {
        mandel_profile_in in = {
            .dir = st->profile, .view = v, .kernel = st->kernel->name,
            .tile = st->tile, .stride = st->stride,
            .nranks = mr_ctx_nranks(ctx), .recs = st->recs,
            .ntasks = st->ntasks, .hist = &st->hist,
        };
        return mandel_profile_write(ctx, &in);
    }
    return MR_OK;
}

static void mb_teardown(mr_ctx *ctx)
{
    mandel_state *st = mr_ctx_state(ctx);
    if (!st)
        return;
    mandel_ppng_free(st->ppng);
    free(st->zbuf.p);
    free(st->group);
    mandel_hist_fini(&st->hist);
    free(st->recs);
    free(st->cx);
    free(st->row);
    free(st);
    mr_ctx_set_state(ctx, NULL);
}

static const struct mr_job mandelbrot_job = {
    .name = "mandelbrot",
    .summary = "render the Mandelbrot set as map tasks (PNG, counts, "
               "load-imbalance study)",
    .options = mb_options,
    .setup = mb_setup,
    .split = mb_split,
    .map = mb_map,
    .reduce = mb_reduce,
    .partition = mb_partition,
    .output_part = mb_output_part,
    .output_end = mb_output_end,
    .finish = mb_finish,
    .teardown = mb_teardown,
};

MR_JOB_PLUGIN(mandelbrot)
{
    return mr_job_register(reg, &mandelbrot_job);
}
