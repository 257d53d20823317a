/* mr_ooc.c -- out of core: a memory budget per rank (--memory), kept by
 * spilling sorted, compressed runs to local disk.
 *
 * The budget is split into shares: the fold table (or the map's runs), the
 * reduce output, the exchange buffers and the run-file readers of a merge.
 * While a rank maps, a share that fills is spilled as one run file
 * (mr_spill.c) with a section per destination rank, sorted by (key, task):
 * the fold table's entries (then the table starts empty), or the runs,
 * first through the job's combine when it has one (like Hadoop's combiner
 * on each spill). After map the ranks agree: if any spilled, all go out of
 * core (mr__ooc_decide) and spill the rest.
 *
 *   shuffle: each destination's sections of every run file are merged (and
 *   folded, for fold jobs: a hot key never grows) into one stream, and the
 *   streams go out in bounded rounds (exchange()); what a rank receives
 *   from each source is already in order and goes to a run file of its own.
 *   reduce: a merge of the received runs by (key, task); equal keys are
 *   folded, or grouped for the job's reduce, whose values are read from the
 *   merge as it asks for them (copied, so that they last until reduce
 *   returns, unless the job has MR_JOB_VALUES_STREAMED). Reduce output past its share is sorted by
 *   the output order and spilled too.
 *   output: a merge of the output runs; rank 0 merges every rank's stream
 *   (chunks), or, for parallel output, the ranks exchange ranges cut at
 *   splitters sampled from the runs and each merges its range.
 *
 * More run files than the readers' share holds are merged into fewer
 * first (compact(), several passes if needed). Ties keep the order runs
 * were made in, so a key's values stay in emission order, as in memory.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include "mr_ooc.h"
#include "mr_bigmem.h"
#include "mr_budget.h"
#include "mr_ctx.h"
#include "mr_group.h"
#include "mr_merge.h"
#include "mr_mpierr.h"
#include "mr_output.h"
#include "mr_phases.h"
#include "mr_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH ((size_t)64 << 10) /* records appended to a run file at once */
#define SAMPLES 64               /* per output run, for splitters */

/* ---- the budget ---- */

int mr__ooc_init(mr_ctx *ctx)
{
    mr_ooc *o = &ctx->ooc;
    const mr_config *cfg = ctx->cfg;
    memset(o, 0, sizeof *o);
    MPI_Comm node;
    int local = 1;
    MR_MPI(MPI_Comm_split_type(ctx->comm, MPI_COMM_TYPE_SHARED, ctx->rank,
                               MPI_INFO_NULL, &node));
    MR_MPI(MPI_Comm_size(node, &local));
    MR_MPI(MPI_Comm_free(&node));
    if (cfg->memory > 0) {
        o->budget = (uint64_t)cfg->memory;
        g_snprintf(o->why, sizeof o->why, "--memory");
    } else {
        o->budget = mr__budget_default(local, o->why, sizeof o->why);
    }
    const char *dir = cfg->spill_dir;
    if (!dir || !*dir)
        dir = g_getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    o->spill.dir = dir;
    o->spill.codec = (mr_codec)cfg->spill_codec;
    o->every = cfg->spill_every;
    uint64_t b = o->budget;
    /* The table, and the index its spill sorts (36 bytes an entry, about
     * 3/4 of an entry of word count's table), add up to about 3/5; runs
     * are grouped through a 40-byte-a-record index. */
    o->fold_limit = (size_t)(b / 3);
    o->run_limit = (size_t)(b * 3 / 10);
    o->out_limit = (size_t)(b * 3 / 10);
    /* An exchange round holds three buffers of P pieces. */
    size_t round = (size_t)(b / 16 / (uint64_t)ctx->nranks);
    size_t cap = (size_t)cfg->shuffle_round / (size_t)ctx->nranks;
    round = MIN(round, cap);
    o->round = MAX(round, 1);
    size_t rm = mr__spill_reader_mem(&o->spill);
    o->readers = (int)MAX((uint64_t)2, b / 4 / rm);
    o->mapped = g_ptr_array_new_with_free_func((GDestroyNotify)mr__spill_close);
    o->recv = g_ptr_array_new_with_free_func((GDestroyNotify)mr__spill_close);
    o->outs = g_ptr_array_new_with_free_func((GDestroyNotify)mr__spill_close);
    o->mapped_lv = g_array_new(FALSE, FALSE, sizeof(int));
    o->outs_lv = g_array_new(FALSE, FALSE, sizeof(int));
    mr__kvbuf_init(&o->samples);
    mr__spill_sweep(dir);
    return MR_OK;
}

int mr__ooc_check(mr_ctx *ctx)
{
    if (!ctx->cfg->spill_dir)
        return MR_OK;
    char *err = NULL;
    int fd = mr__spill_fd(&ctx->ooc.spill, &err);
    if (fd < 0) {
        int rc = mr_error(ctx, MR_EIO, "%s", err);
        g_free(err);
        return rc;
    }
    close(fd);
    return MR_OK;
}

void mr__ooc_fini(mr_ctx *ctx)
{
    mr_ooc *o = &ctx->ooc;
    if (o->mapped)
        g_ptr_array_free(o->mapped, TRUE);
    if (o->recv)
        g_ptr_array_free(o->recv, TRUE);
    if (o->outs)
        g_ptr_array_free(o->outs, TRUE);
    if (o->mapped_lv)
        g_array_free(o->mapped_lv, TRUE);
    if (o->outs_lv)
        g_array_free(o->outs_lv, TRUE);
    mr__kvbuf_fini(&o->samples);
    o->mapped = o->recv = o->outs = NULL;
    o->mapped_lv = o->outs_lv = NULL;
}

/* ---- run files ---- */

static mr_spill_file *run_new(mr_ctx *ctx, int nsect)
{
    char *err = NULL;
    mr_spill_file *f = mr__spill_create(&ctx->ooc.spill, nsect, &err);
    if (!f) {
        mr_error(ctx, MR_EIO, "%s", err ? err : "cannot make a spill file");
        g_free(err);
    }
    return f;
}

static int run_append(mr_ctx *ctx, mr_spill_file *f, int sect,
                      mr_kvbuf *batch)
{
    if (batch->len == 0)
        return MR_OK;
    char *err = NULL;
    int rc = mr__spill_append(f, sect, batch->data, batch->len, batch->nrec,
                              &err);
    ctx->ooc.raw += batch->len;
    batch->len = batch->nrec = 0;
    if (rc != MR_OK) {
        mr_error(ctx, rc, "%s", err ? err : "writing a spill file failed");
        g_free(err);
    }
    return rc;
}

/* Appends one record to batch, writing the batch to f when it is full. */
static int run_put(mr_ctx *ctx, mr_spill_file *f, int sect, mr_kvbuf *batch,
                   const mr_rec *r)
{
    mr__kvbuf_append(batch, r->key, r->value, r->task);
    return batch->len >= BATCH ? run_append(ctx, f, sect, batch) : MR_OK;
}

static int run_seal(mr_ctx *ctx, mr_spill_file *f)
{
    char *err = NULL;
    int rc = mr__spill_seal(f, &err);
    if (rc != MR_OK) {
        mr_error(ctx, rc, "%s", err ? err : "writing a spill file failed");
        g_free(err);
        return rc;
    }
    ctx->ooc.stored += mr__spill_stored(f);
    ctx->ooc.files++;
    return MR_OK;
}

/* Writes every record of s to section sect of f; frees s. */
static int run_drain(mr_ctx *ctx, mr_stream *s, mr_spill_file *f, int sect)
{
    mr_kvbuf batch;
    mr__kvbuf_init(&batch);
    mr_rec r;
    int rc;
    while ((rc = s->next(s, &r)) > 0)
        if ((rc = run_put(ctx, f, sect, &batch, &r)) != MR_OK)
            break;
    if (rc == 0)
        rc = run_append(ctx, f, sect, &batch);
    mr__kvbuf_fini(&batch);
    mr__stream_free(s);
    return rc;
}

/* A merge of section sect of the n run files f[], by cmp. */
static mr_merge *merge_of(mr_ctx *ctx, mr_spill_file *const *f, guint n,
                          int sect, mr_rec_cmp *cmp, void *arg)
{
    mr_stream **src = g_new(mr_stream *, n ? n : 1);
    for (guint i = 0; i < n; i++)
        src[i] = mr__stream_spill(ctx, f[i], sect);
    mr_merge *m = mr__merge_new(src, (int)n, cmp, arg);
    g_free(src);
    return m;
}

/* The same of files[first .. first + n) as a stream; folded for fold jobs
 * when fold is set. */
static mr_stream *merged(mr_ctx *ctx, GPtrArray *files, guint first, guint n,
                         int sect, mr_rec_cmp *cmp, void *arg, int fold)
{
    mr_merge *m = merge_of(ctx, (mr_spill_file *const *)files->pdata + first,
                           n, sect, cmp, arg);
    mr_stream *s = fold ? mr__stream_fold(m, ctx->job.value_size,
                                          ctx->job.fold)
                        : mr__stream_merge(m);
    s->ctx = ctx;
    return s;
}

/* A new run of files[first .. first + n) merged, section by section
 * (sealed), or NULL after an mr_error. */
static mr_spill_file *merge_runs(mr_ctx *ctx, GPtrArray *files, guint first,
                                 guint n, int nsect, mr_rec_cmp *cmp,
                                 void *arg, int fold)
{
    mr_spill_file *f = run_new(ctx, nsect);
    if (!f)
        return NULL;
    int rc = MR_OK;
    for (int d = 0; d < nsect && rc == MR_OK; d++)
        rc = run_drain(ctx, merged(ctx, files, first, n, d, cmp, arg, fold),
                       f, d);
    if (rc == MR_OK)
        rc = run_seal(ctx, f);
    if (rc != MR_OK) {
        mr__spill_close(f);
        return NULL;
    }
    return f;
}

/* Merges run files until at most `target` are left: the oldest ones first,
 * and the merged run takes their place, so the order runs were made in
 * (which breaks ties) is kept. */
static int compact(mr_ctx *ctx, GPtrArray *files, guint target, int nsect,
                   mr_rec_cmp *cmp, void *arg, int fold)
{
    guint fan = (guint)MAX(2, ctx->ooc.readers);
    target = MAX(target, 1);
    while (files->len > target) {
        guint n = MIN(fan, files->len - target + 1);
        mr_spill_file *f = merge_runs(ctx, files, 0, n, nsect, cmp, arg, fold);
        if (!f)
            return ctx->status;
        g_ptr_array_remove_range(files, 0, n);
        g_ptr_array_insert(files, 0, f);
    }
    return MR_OK;
}

/* Seals run f and adds it (level 0) to files, or, after a failure (rc),
 * closes it; whenever the newest `fan` runs are of one
 * level, they are merged into one run of the next (the newest, so the
 * order of making is kept). Each record is then rewritten once per level,
 * log_fan(runs) times, and the open runs stay few. */
static int add_run(mr_ctx *ctx, int rc, GPtrArray *files, GArray *levels,
                   mr_spill_file *f, int nsect, mr_rec_cmp *cmp, void *arg,
                   int fold)
{
    if (rc == MR_OK)
        rc = run_seal(ctx, f);
    if (rc != MR_OK) {
        mr__spill_close(f); /* accepts NULL */
        return rc;
    }
    g_ptr_array_add(files, f);
    int zero = 0;
    g_array_append_val(levels, zero);
    guint fan = (guint)MAX(2, ctx->ooc.readers);
    while (files->len >= fan) {
        guint first = files->len - fan;
        int lv = g_array_index(levels, int, first);
        for (guint i = first + 1; i < files->len; i++)
            if (g_array_index(levels, int, i) != lv)
                return MR_OK;
        mr_spill_file *m = merge_runs(ctx, files, first, fan, nsect, cmp,
                                      arg, fold);
        if (!m)
            return ctx->status;
        g_ptr_array_remove_range(files, first, fan);
        g_array_remove_range(levels, first, fan);
        g_ptr_array_add(files, m);
        lv++;
        g_array_append_val(levels, lv);
    }
    return MR_OK;
}

/* ---- map side ---- */

typedef struct fold_sort {
    size_t koff; /* from an accumulator to its key's length */
} fold_sort;

static mr_bytes entry_key(const fold_sort *fs, uint64_t ref)
{
    const unsigned char *acc = (const unsigned char *)(uintptr_t)ref;
    return (mr_bytes){acc + fs->koff + 4, mr__load32(acc + fs->koff)};
}

static int entry_cmp(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    return mr__bytes_cmp(entry_key(arg, x->ref), entry_key(arg, y->ref));
}

int mr__ooc_spill_fold(mr_ctx *ctx)
{
    mr_ooc *o = &ctx->ooc;
    mr_fold *f = ctx->sink.fold;
    if (o->spilling || !f)
        return ctx->status;
    o->spilling = 1;
    mr__fold_flush(f);
    size_t n = f->count, i = 0, pos = 0;
    int P = ctx->nranks, rc = MR_OK;
    /* The index is mapped and unmapped, not malloc'd: freed, it leaves
     * the rank's resident size, which the budget is about. */
    size_t esz = (n ? n : 1) * sizeof(mr_keyed), dsz = (n ? n : 1) * 4;
    mr_keyed *e = mr_bigmem_zalloc(esz);
    uint32_t *dest = mr_bigmem_zalloc(dsz);
    mr_bytes key;
    void *acc;
    while (i < n && mr__fold_next(f, &pos, &key, &acc)) {
        e[i].key = mr_prefix64(key.ptr, key.len);
        e[i].ref = (uint64_t)(uintptr_t)acc;
        i++;
    }
    n = i;
    fold_sort fs = {f->vstride};
    mr_keysort(e, n, entry_cmp, &fs);
    /* Stable by destination: each section in key order. */
    mr_keyed *tmp = mr_bigmem_zalloc(esz);
    size_t *at = g_new0(size_t, (size_t)P + 1);
    for (i = 0; i < n && rc == MR_OK; i++) {
        rc = mr__partition(ctx, entry_key(&fs, e[i].ref), &dest[i]);
        if (rc == MR_OK)
            at[dest[i] + 1]++;
    }
    for (int d = 0; d < P; d++)
        at[d + 1] += at[d];
    for (i = 0; i < n && rc == MR_OK; i++)
        tmp[at[dest[i]]++] = e[i];
    mr_spill_file *file = rc == MR_OK ? run_new(ctx, P) : NULL;
    if (!file && rc == MR_OK)
        rc = ctx->status;
    mr_kvbuf batch;
    mr__kvbuf_init(&batch);
    size_t k = 0;
    for (int d = 0; d < P && rc == MR_OK; d++) {
        size_t end = at[d]; /* the prefix sums moved one section on */
        for (; k < end && rc == MR_OK; k++) {
            mr_rec r = {entry_key(&fs, tmp[k].ref),
                        mr_mem((const void *)(uintptr_t)tmp[k].ref, f->vsize),
                        0};
            rc = run_put(ctx, file, d, &batch, &r);
        }
        if (rc == MR_OK)
            rc = run_append(ctx, file, d, &batch);
    }
    mr__kvbuf_fini(&batch);
    mr_bigmem_free(e, esz);
    mr_bigmem_free(tmp, esz);
    mr_bigmem_free(dest, dsz);
    g_free(at);
    rc = add_run(ctx, rc, o->mapped, o->mapped_lv, file, P,
                 mr__rec_cmp_key_task, NULL, 1);
    if (rc == MR_OK) {
        size_t vsize = f->vsize;
        mr_fold_fn *fn = f->fold;
        mr__fold_fini(f);
        mr__fold_init(f, vsize, fn);
        f->limit_bytes = o->fold_limit;
        f->limit_count = o->every > 0 ? (size_t)o->every : 0;
    }
    o->spilling = 0;
    return rc;
}

int mr__ooc_spill_runs(mr_ctx *ctx)
{
    mr_ooc *o = &ctx->ooc;
    if (o->spilling)
        return ctx->status;
    o->spilling = 1;
    int P = ctx->nranks, rc = MR_OK;
    /* The map's runs live in the pipe; the sink points at them. */
    mr_mapped *owner = ctx->sink.mapped;
    mr_mapped m = {.fold = NULL, .runs = owner->runs};
    if (ctx->job.combine) {
        mr_sink saved = ctx->sink;
        rc = mr__combine_runs(ctx, &m);
        ctx->sink = saved;
        owner->runs = m.runs; /* combine made new ones */
        ctx->sink.runs = m.runs;
    }
    mr_spill_file *file = rc == MR_OK ? run_new(ctx, P) : NULL;
    if (!file && rc == MR_OK)
        rc = ctx->status;
    mr_kvbuf batch;
    mr__kvbuf_init(&batch);
    for (int d = 0; d < P && rc == MR_OK; d++) {
        mr_group g;
        mr__group_build(&g, &m.runs[d], 1);
        for (size_t i = 0; i < g.n && rc == MR_OK; i++) {
            mr_rec r;
            mr__rec_read(g.recs[i], &r);
            rc = run_put(ctx, file, d, &batch, &r);
        }
        mr__group_fini(&g);
        if (rc == MR_OK)
            rc = run_append(ctx, file, d, &batch);
        mr__kvbuf_fini(&m.runs[d]);
    }
    mr__kvbuf_fini(&batch);
    rc = add_run(ctx, rc, o->mapped, o->mapped_lv, file, P,
                 mr__rec_cmp_key_task, NULL, 0);
    o->run_bytes = o->run_recs = 0;
    o->spilling = 0;
    return rc;
}

/* 1 if this rank would receive more than half its budget in memory: the
 * runs' bytes for each rank, summed over the senders (a fold table's
 * entries count evenly, since its keys hash uniformly). */
static int receive_over(mr_ctx *ctx, const mr_mapped *mapped)
{
    int P = ctx->nranks;
    uint64_t *per = g_new0(uint64_t, P), in = 0;
    for (int d = 0; d < P; d++)
        per[d] = mapped->fold ? mapped->fold->alen / (uint64_t)P
                              : mapped->runs[d].len;
    MR_MPI(MPI_Reduce_scatter_block(per, &in, 1, MPI_UINT64_T, MPI_SUM,
                                    ctx->comm));
    g_free(per);
    return in > ctx->ooc.budget / 2;
}

int mr__ooc_decide(mr_ctx *ctx, mr_mapped *mapped, int *active)
{
    mr_ooc *o = &ctx->ooc;
    int over = receive_over(ctx, mapped); /* collective: always */
    int mine = o->mapped->len > 0 || over, any = 0;
    MR_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, ctx->comm));
    *active = o->active = any;
    if (!any)
        return MR_OK;
    /* Everything still in memory becomes one more run. */
    mr__map_sink(ctx, mapped);
    int rc = mapped->fold ? mr__ooc_spill_fold(ctx) : mr__ooc_spill_runs(ctx);
    ctx->sink = (mr_sink){.mode = MR_EMIT_NONE, .stamp = -1};
    if (rc != MR_OK)
        return rc;
    /* The runs held now are received while they are still held: about
     * twice their bytes on disk at the shuffle (less where they fold). */
    uint64_t held = 0;
    for (guint i = 0; i < o->mapped->len; i++)
        held += mr__spill_stored(o->mapped->pdata[i]);
    char *err = NULL;
    rc = mr__spill_space(o->spill.dir, held * 2, &err);
    if (rc != MR_OK) {
        mr_error(ctx, rc, "%s", err);
        g_free(err);
    }
    return rc;
}

/* ---- the exchange ---- */

/* Fills buf with the next records for rank d, up to limit bytes (at least
 * one record when there is one); sets *done when d gets no more. */
typedef int fill_fn(void *arg, int d, mr_kvbuf *buf, size_t limit,
                    int *done);

/* Every rank sends what fill gives for each rank, in rounds of at most
 * ctx->ooc.round bytes per peer; what rank s sends lands in got[s], in
 * order. Rounds go on until every rank is done or one failed. */
static int exchange(mr_ctx *ctx, fill_fn *fill, void *arg,
                    mr_spill_file **got)
{
    int P = ctx->nranks, rc = MR_OK;
    size_t limit = ctx->ooc.round;
    mr_kvbuf *sb = g_new0(mr_kvbuf, P);
    int *sdone = g_new0(int, P);
    int64_t *smeta = g_new0(int64_t, 2 * P), *rmeta = g_new0(int64_t, 2 * P);
    int *scnt = g_new0(int, P), *sdis = g_new0(int, P);
    int *rcnt = g_new0(int, P), *rdis = g_new0(int, P);
    mr_kvbuf sendbuf, recvbuf;
    mr__kvbuf_init(&sendbuf);
    mr__kvbuf_init(&recvbuf);
    for (;;) {
        double t0 = mr__now(ctx);
        sendbuf.len = 0;
        for (int d = 0; d < P; d++) {
            sb[d].len = sb[d].nrec = 0;
            if (!sdone[d] && rc == MR_OK)
                rc = fill(arg, d, &sb[d], limit, &sdone[d]);
            if (rc != MR_OK)
                sdone[d] = 1;
            smeta[2 * d] = (int64_t)sb[d].len;
            smeta[2 * d + 1] = (int64_t)sb[d].nrec;
            sdis[d] = (int)sendbuf.len;
            scnt[d] = (int)sb[d].len;
            mr__kvbuf_append_raw(&sendbuf, sb[d].data, sb[d].len, sb[d].nrec);
        }
        MR_MPI(MPI_Alltoall(smeta, 2, MPI_INT64_T, rmeta, 2, MPI_INT64_T,
                            ctx->comm));
        size_t total = 0;
        for (int s = 0; s < P; s++) {
            rdis[s] = (int)total;
            rcnt[s] = (int)rmeta[2 * s];
            total += (size_t)rmeta[2 * s];
        }
        if (recvbuf.cap < total)
            mr__kvbuf_alloc(&recvbuf, total);
        MR_MPI(MPI_Alltoallv(sendbuf.data, scnt, sdis, MPI_BYTE, recvbuf.data,
                             rcnt, rdis, MPI_BYTE, ctx->comm));
        for (int s = 0; s < P && rc == MR_OK; s++) {
            if (!rcnt[s])
                continue;
            mr_kvbuf piece = {recvbuf.data + rdis[s], (size_t)rcnt[s],
                              (size_t)rcnt[s], (size_t)rmeta[2 * s + 1]};
            rc = run_append(ctx, got[s], 0, &piece);
        }
        ctx->shuffle_sent += sendbuf.len;
        ctx->shuffle_recv += total;
        ctx->shuffle_rounds++;
        mr__span_add(ctx, MR_SPAN_ROUND, t0, mr__now(ctx), sendbuf.len);
        int state[2] = {1, rc == MR_OK};
        for (int d = 0; d < P; d++)
            state[0] &= sdone[d];
        MR_MPI(MPI_Allreduce(MPI_IN_PLACE, state, 2, MPI_INT, MPI_MIN,
                             ctx->comm));
        if (state[0] || !state[1])
            break;
    }
    for (int s = 0; s < P && rc == MR_OK; s++)
        rc = run_seal(ctx, got[s]);
    for (int d = 0; d < P; d++)
        mr__kvbuf_fini(&sb[d]);
    mr__kvbuf_fini(&sendbuf);
    mr__kvbuf_fini(&recvbuf);
    g_free(sb);
    g_free(sdone);
    g_free(smeta);
    g_free(rmeta);
    g_free(scnt);
    g_free(sdis);
    g_free(rcnt);
    g_free(rdis);
    return rc != MR_OK ? rc : ctx->status;
}

/* Streams, one per destination, with the record that did not fit in the
 * last round held back. */
typedef struct dest_streams {
    mr_stream **s;
    mr_kvbuf *held;
} dest_streams;

static int fill_streams(void *arg, int d, mr_kvbuf *buf, size_t limit,
                        int *done)
{
    dest_streams *ds = arg;
    if (ds->held[d].nrec) {
        mr__kvbuf_append_raw(buf, ds->held[d].data, ds->held[d].len, 1);
        ds->held[d].len = ds->held[d].nrec = 0;
    }
    mr_rec r;
    int rc;
    while (buf->len < limit && (rc = ds->s[d]->next(ds->s[d], &r)) > 0) {
        size_t sz = MR_REC_HDR + r.key.len + r.value.len;
        if (buf->len > 0 && buf->len + sz > limit) {
            mr__kvbuf_append(&ds->held[d], r.key, r.value, r.task);
            return MR_OK;
        }
        mr__kvbuf_append(buf, r.key, r.value, r.task);
    }
    if (buf->len < limit) {
        if (rc < 0)
            return rc;
        *done = 1;
    }
    return MR_OK;
}

static mr_spill_file **new_runs(mr_ctx *ctx, int n)
{
    mr_spill_file **f = g_new0(mr_spill_file *, n);
    for (int i = 0; i < n; i++)
        if (!(f[i] = run_new(ctx, 1))) {
            for (int k = 0; k < i; k++)
                mr__spill_close(f[k]);
            g_free(f);
            return NULL;
        }
    return f;
}

int mr__ooc_shuffle(mr_ctx *ctx)
{
    mr_ooc *o = &ctx->ooc;
    int P = ctx->nranks, fold = ctx->job.fold != NULL;
    /* Every destination's merge reads every run at once. */
    guint target = (guint)MAX(1, o->readers / P);
    int rc = compact(ctx, o->mapped, target, P, mr__rec_cmp_key_task, NULL,
                     fold);
    mr_spill_file **got = rc == MR_OK ? new_runs(ctx, P) : NULL;
    if (!got)
        rc = ctx->status ? ctx->status : MR_EIO;
    dest_streams ds = {g_new0(mr_stream *, P), g_new0(mr_kvbuf, P)};
    for (int d = 0; d < P && rc == MR_OK; d++)
        ds.s[d] = merged(ctx, o->mapped, 0, o->mapped->len, d,
                         mr__rec_cmp_key_task, NULL, fold);
    /* A rank that failed here skips the exchange, and so must all. */
    int ok = rc == MR_OK;
    MR_MPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, ctx->comm));
    if (ok)
        rc = exchange(ctx, fill_streams, &ds, got);
    for (int d = 0; d < P; d++) {
        mr__stream_free(ds.s[d]);
        mr__kvbuf_fini(&ds.held[d]);
    }
    g_free(ds.s);
    g_free(ds.held);
    g_ptr_array_set_size(o->mapped, 0);
    if (got) {
        for (int s = 0; s < P; s++)
            g_ptr_array_add(o->recv, got[s]);
        g_free(got);
    }
    return rc;
}

/* ---- reduce ---- */

static int out_cmp(const mr_rec *a, const mr_rec *b, void *arg)
{
    return mr__out_compare(arg, a, b);
}

/* The rank's output pairs so far become a run in the output order, and
 * a few of them samples for the splitters of parallel output. */
static int spill_out(mr_ctx *ctx, mr_kvbuf *out)
{
    mr_ooc *o = &ctx->ooc;
    if (out->nrec == 0)
        return MR_OK;
    mr_keyed *order = mr__out_sort(ctx, out);
    mr_spill_file *f = run_new(ctx, 1);
    if (!f) {
        g_free(order);
        return ctx->status;
    }
    mr_stream *s = mr__stream_kvbuf(ctx, out, order);
    mr_kvbuf batch;
    mr__kvbuf_init(&batch);
    mr_rec r;
    int rc = MR_OK;
    size_t n = out->nrec, k = MIN(n, (size_t)SAMPLES), next = 0, i = 0;
    while (rc == MR_OK && s->next(s, &r) > 0) {
        if (next < k && i == (next * n + n / 2) / k) {
            mr__kvbuf_append(&o->samples, r.key, r.value, 0);
            next++;
        }
        i++;
        rc = run_put(ctx, f, 0, &batch, &r);
    }
    if (rc == MR_OK)
        rc = run_append(ctx, f, 0, &batch);
    mr__kvbuf_fini(&batch);
    mr__stream_free(s);
    g_free(order);
    rc = add_run(ctx, rc, o->outs, o->outs_lv, f, 1, out_cmp, ctx, 0);
    mr__kvbuf_fini(out);
    return rc;
}

/* A key's values, read from the merge as the job's reduce asks for them.
 * Each is copied once, so that it stays valid until reduce returns (the
 * ABI's promise): one key's values must fit in memory, the rest stream. */
typedef struct pull_group {
    mr_merge *m;
    GByteArray *key;
    GStringChunk *vals;
    int taken; /* the last value returned is still the merge's top */
    int rc;
    int copy; /* values must outlive the next pull (no MR_JOB_VALUES_STREAMED) */
} pull_group;

static int same_key(const pull_group *g, mr_bytes k)
{
    return k.len == g->key->len &&
           (k.len == 0 || memcmp(k.ptr, g->key->data, k.len) == 0);
}

static int group_pull(void *src, mr_bytes *value)
{
    pull_group *g = src;
    if (g->taken)
        mr__merge_pop(g->m);
    g->taken = 0;
    mr_rec r;
    int rc = mr__merge_peek(g->m, &r);
    if (rc < 0)
        g->rc = rc;
    if (rc <= 0 || !same_key(g, r.key))
        return 0;
    g->taken = 1;
    if (!g->copy) {
        *value = r.value; /* valid until the next pull pops it */
        return 1;
    }
    const char *v = g_string_chunk_insert_len(g->vals,
                                              (const char *)r.value.ptr,
                                              (gssize)r.value.len);
    *value = (mr_bytes){v, r.value.len};
    return 1;
}

static int reduce_grouped(mr_ctx *ctx, mr_merge *m, mr_kvbuf *out)
{
    pull_group g = {m, g_byte_array_new(), g_string_chunk_new(64 << 10), 0,
                    MR_OK, !(ctx->job.flags & MR_JOB_VALUES_STREAMED)};
    mr_rec r;
    int rc;
    while ((rc = mr__merge_peek(m, &r)) > 0) {
        g_byte_array_set_size(g.key, 0);
        g_byte_array_append(g.key, r.key.ptr, (guint)r.key.len);
        g.taken = 0;
        mr_values v = {.pull = group_pull, .src = &g};
        rc = ctx->job.reduce(ctx, mr_mem(g.key->data, g.key->len), &v);
        if (rc == MR_OK)
            rc = g.rc;
        if (rc != MR_OK)
            break;
        /* The values reduce did not read. */
        mr_bytes skip;
        while (group_pull(&g, &skip))
            ;
        if (g.rc != MR_OK) {
            rc = g.rc;
            break;
        }
        g_string_chunk_clear(g.vals);
        if (out->len > ctx->ooc.out_limit && (rc = spill_out(ctx, out)))
            break;
    }
    g_byte_array_free(g.key, TRUE);
    g_string_chunk_free(g.vals);
    return rc < 0 ? rc : MR_OK;
}

/* Folded keys, or pairs that pass through: one record at a time. */
static int reduce_each(mr_ctx *ctx, mr_stream *s, mr_kvbuf *out)
{
    mr_rec r;
    int rc;
    while ((rc = s->next(s, &r)) > 0) {
        if (ctx->job.fold && ctx->job.reduce) {
            mr_values v = {.one = r.value, .one_left = 1};
            rc = ctx->job.reduce(ctx, r.key, &v);
            if (rc != MR_OK)
                break;
        } else {
            mr__kvbuf_append(out, r.key, r.value, 0);
            ctx->pairs_out++;
        }
        if (out->len > ctx->ooc.out_limit && (rc = spill_out(ctx, out)))
            break;
    }
    return rc < 0 ? rc : MR_OK;
}

int mr__ooc_reduce(mr_ctx *ctx, mr_kvbuf *out)
{
    mr_ooc *o = &ctx->ooc;
    ctx->sink.mode = MR_EMIT_OUT;
    ctx->sink.run = out;
    int fold = ctx->job.fold != NULL;
    int rc = compact(ctx, o->recv, (guint)o->readers, 1,
                     mr__rec_cmp_key_task, NULL, fold);
    if (rc != MR_OK)
        return rc;
    mr_merge *m = merge_of(ctx, (mr_spill_file *const *)o->recv->pdata,
                           o->recv->len, 0, mr__rec_cmp_key_task, NULL);
    if (fold || !ctx->job.reduce) {
        mr_stream *s = fold ? mr__stream_fold(m, ctx->job.value_size,
                                              ctx->job.fold)
                            : mr__stream_merge(m);
        s->ctx = ctx;
        rc = reduce_each(ctx, s, out);
        mr__stream_free(s);
    } else {
        rc = reduce_grouped(ctx, m, out);
        mr__merge_free(m);
    }
    g_ptr_array_set_size(o->recv, 0);
    if (rc == MR_OK && ctx->job.reduce_end)
        rc = ctx->job.reduce_end(ctx);
    return rc;
}

/* ---- output ---- */

enum { TAG_OOC_CHUNK = 4741 };

/* Chunks of a sorted stream from another rank (rank 0's merge). */
typedef struct remote_stream {
    mr_stream s;
    int rank, finished;
    unsigned char *buf;
    size_t cap;
    const unsigned char *p, *end;
} remote_stream;

static int remote_next(mr_stream *s, mr_rec *r)
{
    remote_stream *x = (remote_stream *)s;
    while (x->p == x->end) {
        if (x->finished)
            return 0;
        MPI_Status st;
        int n;
        MR_MPI(MPI_Probe(x->rank, TAG_OOC_CHUNK, s->ctx->comm, &st));
        MR_MPI(MPI_Get_count(&st, MPI_BYTE, &n));
        if ((size_t)n > x->cap) {
            g_free(x->buf);
            x->cap = (size_t)n;
            x->buf = g_malloc(x->cap);
        }
        MR_MPI(MPI_Recv(x->buf, n, MPI_BYTE, x->rank, TAG_OOC_CHUNK,
                        s->ctx->comm, MPI_STATUS_IGNORE));
        x->p = x->buf;
        x->end = x->buf + n;
        if (n == 0)
            x->finished = 1;
    }
    x->p += mr__rec_read(x->p, r);
    return 1;
}

static void remote_free(mr_stream *s)
{
    g_free(((remote_stream *)s)->buf);
    g_free(s);
}

/* Rank 0 merges every rank's stream and calls the job's output; the
 * others send theirs in chunks, then an empty one. */
static int output_rank0(mr_ctx *ctx, mr_stream *mine)
{
    int P = ctx->nranks, rc = MR_OK;
    size_t limit = MAX(ctx->ooc.round, (size_t)4096);
    if (ctx->rank != 0) {
        mr_kvbuf chunk;
        mr__kvbuf_init(&chunk);
        mr_rec r;
        int more;
        do {
            chunk.len = chunk.nrec = 0;
            while (chunk.len < limit && (more = mine->next(mine, &r)) > 0)
                mr__kvbuf_append(&chunk, r.key, r.value, 0);
            if (more < 0)
                rc = more;
            if (chunk.len)
                MR_MPI(MPI_Send(chunk.data, (int)chunk.len, MPI_BYTE, 0,
                                TAG_OOC_CHUNK, ctx->comm));
        } while (more > 0);
        MR_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_OOC_CHUNK, ctx->comm));
        mr__kvbuf_fini(&chunk);
        mr__stream_free(mine);
        return rc;
    }
    mr_stream **src = g_new(mr_stream *, P);
    src[0] = mine;
    for (int r = 1; r < P; r++) {
        remote_stream *x = g_new0(remote_stream, 1);
        x->s = (mr_stream){remote_next, remote_free, ctx};
        x->rank = r;
        src[r] = &x->s;
    }
    mr_merge *m = mr__merge_new(src, P, out_cmp, ctx);
    g_free(src);
    mr_output_fn *out = ctx->job.output ? ctx->job.output : mr__out_default;
    mr_rec r;
    int more;
    while ((more = mr__merge_peek(m, &r)) > 0) {
        if (rc == MR_OK) { /* after a failure, drain the other ranks */
            rc = out(ctx, r.key, r.value);
            if (rc != MR_OK && ctx->status == MR_OK)
                mr_error(ctx, rc, "output callback failed (%s)",
                         mr_strerror(rc));
        }
        mr__merge_pop(m);
    }
    mr__merge_free(m);
    if (more < 0 && rc == MR_OK)
        rc = more;
    if (fflush(stdout) != 0 && rc == MR_OK)
        rc = mr_error(ctx, MR_EIO, "standard output: write failed");
    return rc;
}

/* Parallel output: ranges of the output order cut at splitters. */
typedef struct ranges {
    mr_ctx *ctx;
    mr_merge *m;
    const unsigned char **spl; /* nranks - 1 records, or NULL entries */
    int cur;                   /* the range the merge's next record is in */
} ranges;

static int fill_ranges(void *arg, int d, mr_kvbuf *buf, size_t limit,
                       int *done)
{
    ranges *g = arg;
    int P = g->ctx->nranks;
    mr_rec r, b;
    int rc;
    while ((rc = mr__merge_peek(g->m, &r)) > 0) {
        while (g->cur + 1 < P && g->spl[g->cur] &&
               (mr__rec_read(g->spl[g->cur], &b),
                mr__out_compare(g->ctx, &r, &b) > 0))
            g->cur++;
        if (g->cur != d) {
            *done = g->cur > d;
            return MR_OK;
        }
        size_t sz = MR_REC_HDR + r.key.len + r.value.len;
        if (buf->len > 0 && buf->len + sz > limit)
            return MR_OK;
        mr__kvbuf_append(buf, r.key, r.value, 0);
        mr__merge_pop(g->m);
        if (buf->len >= limit)
            return MR_OK;
    }
    if (rc < 0)
        return rc;
    *done = 1;
    return MR_OK;
}

static int output_parallel(mr_ctx *ctx, mr_merge *m)
{
    int P = ctx->nranks, rc = MR_OK;
    const unsigned char **spl = NULL;
    unsigned char *samples = mr__out_splitters(ctx, &ctx->ooc.samples, &spl);
    mr_spill_file **got = new_runs(ctx, P);
    int ok = got != NULL;
    MR_MPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, ctx->comm));
    if (ok) {
        ranges g = {ctx, m, spl, 0};
        uint64_t sent = ctx->shuffle_sent, recv = ctx->shuffle_recv;
        int rounds = ctx->shuffle_rounds;
        rc = exchange(ctx, fill_ranges, &g, got);
        ctx->shuffle_sent = sent; /* the shuffle's counters are the shuffle's */
        ctx->shuffle_recv = recv;
        ctx->shuffle_rounds = rounds;
    } else {
        rc = ctx->status ? ctx->status : MR_EIO;
    }
    mr__merge_free(m);
    g_free(spl);
    g_free(samples);
    uint64_t n = 0, base = 0;
    if (got)
        for (int s = 0; s < P; s++)
            n += mr__spill_nrec(got[s], 0);
    MR_MPI(MPI_Exscan(&n, &base, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));
    if (ctx->rank == 0)
        base = 0; /* Exscan leaves rank 0's undefined */
    if (rc == MR_OK) {
        mr_merge *mm = merge_of(ctx, got, (guint)P, 0, out_cmp, ctx);
        mr_rec r;
        int more;
        for (uint64_t i = 0; (more = mr__merge_peek(mm, &r)) > 0; i++) {
            ctx->out_index = base + i;
            rc = ctx->job.output_part(ctx, r.key, r.value);
            if (rc != MR_OK) {
                if (ctx->status == MR_OK)
                    mr_error(ctx, rc, "output_part callback failed (%s)",
                             mr_strerror(rc));
                break;
            }
            mr__merge_pop(mm);
        }
        if (more < 0 && rc == MR_OK)
            rc = more;
        mr__merge_free(mm);
    }
    if (got) {
        for (int s = 0; s < P; s++)
            mr__spill_close(got[s]);
        g_free(got);
    }
    if (ctx->job.output_end) { /* always: it may hold collective commits */
        int erc = ctx->job.output_end(ctx);
        if (rc == MR_OK)
            rc = erc;
    }
    return rc;
}

int mr__ooc_output(mr_ctx *ctx, mr_kvbuf *out)
{
    mr_ooc *o = &ctx->ooc;
    int mine = o->outs->len > 0, any = 0;
    MR_MPI(MPI_Allreduce(&mine, &any, 1, MPI_INT, MPI_MAX, ctx->comm));
    if (!any)
        return mr__output_run(ctx, out);
    int rc = spill_out(ctx, out);
    if (rc == MR_OK)
        rc = compact(ctx, o->outs, (guint)o->readers, 1, out_cmp, ctx, 0);
    int ok = rc == MR_OK;
    MR_MPI(MPI_Allreduce(MPI_IN_PLACE, &ok, 1, MPI_INT, MPI_MIN, ctx->comm));
    if (!ok) {
        if (ctx->job.output_part && ctx->job.output_end)
            ctx->job.output_end(ctx);
        return rc;
    }
    mr_merge *m = merge_of(ctx, (mr_spill_file *const *)o->outs->pdata,
                           o->outs->len, 0, out_cmp, ctx);
    if (ctx->job.output_part)
        rc = output_parallel(ctx, m);
    else {
        mr_stream *s = mr__stream_merge(m);
        s->ctx = ctx;
        rc = output_rank0(ctx, s);
    }
    g_ptr_array_set_size(o->outs, 0);
    return rc;
}
