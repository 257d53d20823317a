/* mandelbrot.c -- the `mandelbrot` job: a fractal rendered as map tasks.
 *
 *   setup   validates every option on every rank (same argv, same verdict)
 *           and, on rank 0, the output paths: all before any pixel.
 *   split   one task per tile of --tile rows; weight = its pixels.
 *   map     computes the tile with the vector kernel and emits one pair per
 *           row: key = big-endian row number (so the default bytewise order
 *           is image order), value = the row's W counts as int32.
 *           It also emits one timing record per task, key 0xFF + task id,
 *           which sorts after every row key (a row key's first byte is at
 *           most 0x7F), when --profile or --report asked for them.
 *   reduce  none: rows pass through.
 *   output  rank 0 gets the rows in order and streams them into the PNG
 *           and the .npy file; the timing records land in a table.
 *   finish  completes and commits the files, prints the one-line summary,
 *           writes the study (--profile) and the timing report (--report).
 *
 * Rank 0 never holds the image: one row at a time goes to libpng and to
 * the counts file, so the picture costs O(width) on rank 0 beyond what the
 * engine keeps. Both files are byte-identical for any number of ranks and
 * any schedule, since their bytes depend only on the counts, and the
 * counts of a pixel only on its coordinates.
 *
 * Two output files, one atomic writer: mr_out_open keeps one file open per
 * rank. With --counts and --out together, the .npy goes through mr_out_open
 * and the PNG (smaller: compressed) into an unlinked tmpfile(), copied into
 * its own mr_out_open file once the counts are committed. Either way no run
 * leaves a partial file under a final name.
 *
 * Timing records travel as pairs rather than per-rank files, so the study
 * needs no shared file system and rank 0 writes every file.
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
#include "mandel_png.h"
#include "mandel_profile.h"

/* Copies of the counts the run holds on their way to rank 0: the pairs map
 * emitted, the shuffled copy, and the ordered stream output reads. */
#define COPIES 3
#define REC_KEY 0xFF

typedef struct mandel_state {
    mandel_view view;
    const mandel_kernel *kernel;
    int32_t tile;
    const char *out, *counts, *profile;
    int stride, png_level, record, report;
    double *cx;   /* the x of every column */
    int32_t *row; /* one row of counts */
    /* rank 0 */
    size_t ntasks;
    int32_t next_row;
    mandel_png *png;
    FILE *png_tmp;  /* the PNG, when --counts holds the mr_out file */
    FILE *npy_fp;   /* the mr_out file, when it is the .npy */
    int png_open;   /* the mr_out file is the PNG */
    uint64_t inside, iterations;
    mandel_hist hist;
    mandel_task_rec *recs;
    size_t nrecs;
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
                        "copies of its 4-byte counts on the way to rank 0), "
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
        st->ntasks++;
        if (r > h - st->tile)
            break; /* r + tile would overflow int32 */
    }
    if (st->record) {
        st->recs = calloc(st->ntasks, sizeof *st->recs);
        if (!st->recs)
            return mr_error(ctx, MR_ERROR, "out of memory");
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
        mr_put_be32(key, (uint32_t)k);
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

/* ---------------- output and finish (rank 0) ---------------- */

/* At the first row: the files, the histogram. */
static int open_outputs(mr_ctx *ctx, mandel_state *st)
{
    const mandel_view *v = &st->view;
    FILE *png_fp = NULL;
    char err[256];

    if (st->profile && mandel_hist_init(&st->hist, v->max_iter) < 0)
        return mr_error(ctx, MR_ERROR, "out of memory for the histogram");
    if (st->counts) {
        FILE *f = mr_out_open(ctx, st->counts);
        if (!f)
            return MR_EIO;
        st->npy_fp = f;
        if (mandel_npy_header(f, v->height, v->width) < 0)
            return mr_error(ctx, MR_EIO, "%s: %s", st->counts,
                            strerror(errno));
    }
    if (!st->out)
        return MR_OK;
    if (st->counts) {
        png_fp = st->png_tmp = tmpfile();
        if (!png_fp)
            return mr_error(ctx, MR_EIO, "%s: no temporary file for the "
                            "image: %s", st->out, strerror(errno));
    } else {
        png_fp = mr_out_open(ctx, st->out);
        if (!png_fp)
            return MR_EIO;
        st->png_open = 1;
    }
    st->png = mandel_png_new(png_fp, v->width, v->height, v->max_iter,
                             st->png_level, err, sizeof err);
    if (!st->png)
        return mr_error(ctx, MR_EIO, "%s: %s", st->out, err);
    return MR_OK;
}

static int output_row(mr_ctx *ctx, mandel_state *st, uint32_t k,
                      mr_bytes value)
{
    size_t w = (size_t)st->view.width;
    int rc;

    if (k != (uint32_t)st->next_row || value.len != w * sizeof *st->row)
        return mr_error(ctx, MR_ERROR, "row %u arrived where row %d was due "
                        "(%zu bytes)", k, st->next_row, value.len);
    if (k == 0 && (rc = open_outputs(ctx, st)) != MR_OK)
        return rc;
    memcpy(st->row, value.ptr, value.len); /* the value may be unaligned */
    if (st->npy_fp && mandel_npy_row(st->npy_fp, st->row, w) < 0)
        return mr_error(ctx, MR_EIO, "%s: %s", st->counts, strerror(errno));
    for (size_t j = 0; j < w; j++) {
        st->iterations += (uint64_t)st->row[j];
        st->inside += st->row[j] == st->view.max_iter;
    }
    if (st->profile)
        mandel_hist_add(&st->hist, st->row, w);
    if (st->png && mandel_png_row(st->png, st->row) < 0)
        return mr_error(ctx, MR_EIO, "%s: %s", st->out,
                        mandel_png_error(st->png));
    st->next_row++;
    return MR_OK;
}

static int mb_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    mandel_state *st = mr_ctx_state(ctx);
    const unsigned char *k = key.ptr;

    if (key.len == 4)
        return output_row(ctx, st, mr_get_be32(k), value);
    if (key.len == 5 && k[0] == REC_KEY && value.len == sizeof *st->recs) {
        uint32_t id = mr_get_be32(k + 1);
        if (st->recs && id < st->ntasks) {
            memcpy(&st->recs[id], value.ptr, sizeof *st->recs);
            st->nrecs++;
            return MR_OK;
        }
    }
    return mr_error(ctx, MR_ERROR, "unexpected output pair (%zu-byte key)",
                    key.len);
}

static int copy_file(mr_ctx *ctx, FILE *from, const char *to)
{
    char buf[1 << 16];
    size_t n;

    if (fflush(from) != 0 || ferror(from) || fseek(from, 0, SEEK_SET) != 0)
        return mr_error(ctx, MR_EIO, "%s: temporary image: %s", to,
                        strerror(errno));
    FILE *dst = mr_out_open(ctx, to);
    if (!dst)
        return MR_EIO;
    while ((n = fread(buf, 1, sizeof buf, from)) > 0) {
        if (fwrite(buf, 1, n, dst) != n)
            break;
    }
    if (ferror(from))
        return mr_error(ctx, MR_EIO, "%s: reading the temporary image: %s",
                        to, strerror(errno));
    return mr_out_commit(ctx); /* reports a failed write */
}

/* Completes the image and the counts and renames them into place. */
static int close_outputs(mr_ctx *ctx, mandel_state *st)
{
    int rc;

    if (st->png) {
        rc = mandel_png_finish(st->png);
        if (rc < 0)
            return mr_error(ctx, MR_EIO, "%s: %s", st->out,
                            mandel_png_error(st->png));
        mandel_png_free(st->png);
        st->png = NULL;
    }
    if (st->npy_fp) {
        st->npy_fp = NULL;
        if ((rc = mr_out_commit(ctx)) != MR_OK)
            return rc;
    }
    if (st->png_open) {
        st->png_open = 0;
        return mr_out_commit(ctx);
    }
    if (st->png_tmp) {
        rc = copy_file(ctx, st->png_tmp, st->out);
        fclose(st->png_tmp);
        st->png_tmp = NULL;
        return rc;
    }
    return MR_OK;
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
            (double)st->iterations / b.span, b.imbalance, b.imbalance_cpu,
            b.imbalance_iter);
    for (int k = 0; k < b.nranks; k++)
        fprintf(stderr, "mandelbrot: rank %d: %lld tasks, busy %.3f s, CPU "
                "%.3f s, idle %.3f s\n", k, (long long)b.tasks[k], b.busy[k],
                b.cpu[k], b.idle[k]);
    mandel_balance_fini(&b);
}

static int mb_finish(mr_ctx *ctx)
{
    mandel_state *st = mr_ctx_state(ctx);
    const mandel_view *v = &st->view;
    int rc;

    if (st->next_row != v->height)
        return mr_error(ctx, MR_ERROR, "only %d of %d rows arrived",
                        st->next_row, v->height);
    if (st->record && st->nrecs != st->ntasks)
        return mr_error(ctx, MR_ERROR, "%zu of %zu task records arrived",
                        st->nrecs, st->ntasks);
    if ((rc = close_outputs(ctx, st)) != MR_OK)
        return rc;
    printf("mandelbrot %dx%d of [%.17g,%.17g]x[%.17g,%.17g], max-iter %d: "
           "%llu pixels inside the set, %llu iterations\n",
           v->width, v->height, v->x0, v->x1, v->y0, v->y1, v->max_iter,
           (unsigned long long)st->inside,
           (unsigned long long)st->iterations);
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
    /* An mr_out file still open is the engine's to remove. */
    mandel_png_free(st->png);
    if (st->png_tmp)
        fclose(st->png_tmp);
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
    .output = mb_output,
    .finish = mb_finish,
    .teardown = mb_teardown,
};

MR_JOB_PLUGIN(mandelbrot)
{
    return mr_job_register(reg, &mandelbrot_job);
}
