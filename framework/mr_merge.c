/* mr_merge.c -- streams of records, and a k-way merge of them.
 *
 * A stream yields records one at a time, each borrowed until the next
 * call: a section of a spilled run file (decompressed a block at a time),
 * an in-memory run through its sort index, chunks from another rank, or a
 * merge of other streams. The merge keeps its sources in a binary heap
 * ordered by (record, source index), so records that compare equal come
 * out in source order: the out-of-core path gives sources in the order
 * their records were made, which keeps a key's values in emission order.
 *
 * peek/pop rather than next: a consumer that groups by key looks at the
 * next record before deciding whether it belongs to the group it holds.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_merge.h"

void mr__stream_free(mr_stream *s)
{
    if (s)
        s->free(s);
}

/* ---- a section of a run file ---- */

typedef struct spill_stream {
    mr_stream s;
    mr_spill_reader *rd;
} spill_stream;

static int spill_next(mr_stream *s, mr_rec *r)
{
    spill_stream *x = (spill_stream *)s;
    char *err = NULL;
    int rc = mr__spill_next(x->rd, r, &err);
    if (rc < 0) {
        mr_error(s->ctx, rc, "%s", err ? err : "reading a spilled run failed");
        g_free(err);
    }
    return rc;
}

static void spill_free(mr_stream *s)
{
    mr__spill_reader_free(((spill_stream *)s)->rd);
    g_free(s);
}

mr_stream *mr__stream_spill(mr_ctx *ctx, mr_spill_file *f, int sect)
{
    spill_stream *x = g_new0(spill_stream, 1);
    x->s = (mr_stream){spill_next, spill_free, ctx};
    x->rd = mr__spill_reader_new(f, sect);
    return &x->s;
}

/* ---- an in-memory run ---- */

typedef struct kvbuf_stream {
    mr_stream s;
    const mr_kvbuf *b;
    const mr_keyed *order;
    size_t i, end, off;
} kvbuf_stream;

static int kvbuf_next(mr_stream *s, mr_rec *r)
{
    kvbuf_stream *x = (kvbuf_stream *)s;
    if (x->i >= x->end)
        return 0;
    if (x->order) {
        mr__rec_read(x->b->data + x->order[x->i].ref, r);
    } else {
        x->off += mr__rec_read(x->b->data + x->off, r);
    }
    x->i++;
    return 1;
}

static void plain_free(mr_stream *s)
{
    g_free(s);
}

mr_stream *mr__stream_kvbuf(mr_ctx *ctx, const mr_kvbuf *b,
                            const mr_keyed *order)
{
    kvbuf_stream *x = g_new0(kvbuf_stream, 1);
    x->s = (mr_stream){kvbuf_next, plain_free, ctx};
    x->b = b;
    x->order = order;
    x->end = b->nrec;
    return &x->s;
}

int mr__rec_cmp_key_task(const mr_rec *a, const mr_rec *b, void *arg)
{
    (void)arg;
    int c = mr__bytes_cmp(a->key, b->key);
    if (c)
        return c;
    return (a->task > b->task) - (a->task < b->task);
}

/* ---- the merge ---- */

struct mr_merge {
    mr_stream **src;
    mr_rec *cur;
    int n;
    int *heap, hn;
    mr_rec_cmp *cmp;
    void *arg;
    int err;
};

static int less(const mr_merge *m, int x, int y)
{
    int c = m->cmp(&m->cur[x], &m->cur[y], m->arg);
    return c ? c < 0 : x < y;
}

static void sift_down(mr_merge *m, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, s = i;
        if (l < m->hn && less(m, m->heap[l], m->heap[s]))
            s = l;
        if (r < m->hn && less(m, m->heap[r], m->heap[s]))
            s = r;
        if (s == i)
            return;
        int t = m->heap[i];
        m->heap[i] = m->heap[s];
        m->heap[s] = t;
        i = s;
    }
}

mr_merge *mr__merge_new(mr_stream **src, int n, mr_rec_cmp *cmp, void *arg)
{
    mr_merge *m = g_new0(mr_merge, 1);
    m->src = g_new(mr_stream *, n ? n : 1);
    memcpy(m->src, src, (size_t)n * sizeof *src);
    m->cur = g_new(mr_rec, n ? n : 1);
    m->heap = g_new(int, n ? n : 1);
    m->n = n;
    m->cmp = cmp;
    m->arg = arg;
    for (int i = 0; i < n; i++) {
        int rc = src[i]->next(src[i], &m->cur[i]);
        if (rc < 0 && !m->err)
            m->err = rc;
        if (rc > 0)
            m->heap[m->hn++] = i;
    }
    for (int i = m->hn / 2 - 1; i >= 0; i--)
        sift_down(m, i);
    return m;
}

int mr__merge_peek(mr_merge *m, mr_rec *r)
{
    if (m->err)
        return m->err;
    if (m->hn == 0)
        return 0;
    *r = m->cur[m->heap[0]];
    return 1;
}

void mr__merge_pop(mr_merge *m)
{
    if (m->err || m->hn == 0)
        return;
    int i = m->heap[0];
    int rc = m->src[i]->next(m->src[i], &m->cur[i]);
    if (rc < 0)
        m->err = rc;
    if (rc <= 0)
        m->heap[0] = m->heap[--m->hn];
    sift_down(m, 0);
}

void mr__merge_free(mr_merge *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n; i++)
        mr__stream_free(m->src[i]);
    g_free(m->src);
    g_free(m->cur);
    g_free(m->heap);
    g_free(m);
}

/* ---- the merge as a stream ---- */

typedef struct merge_stream {
    mr_stream s;
    mr_merge *m;
    int taken; /* the last record returned is still the merge's top */
    mr_kvbuf acc; /* fold: the record being built */
    void *accv;   /* fold: the accumulator, aligned as malloc aligns */
    size_t vsize;
    mr_fold_fn *fold;
} merge_stream;

static int merge_next(mr_stream *s, mr_rec *r)
{
    merge_stream *x = (merge_stream *)s;
    if (x->taken)
        mr__merge_pop(x->m);
    int rc = mr__merge_peek(x->m, r);
    x->taken = rc > 0;
    return rc;
}

static void merge_free(mr_stream *s)
{
    merge_stream *x = (merge_stream *)s;
    mr__merge_free(x->m);
    mr__kvbuf_fini(&x->acc);
    g_free(x->accv);
    g_free(x);
}

mr_stream *mr__stream_merge(mr_merge *m)
{
    merge_stream *x = g_new0(merge_stream, 1);
    x->s = (mr_stream){merge_next, merge_free, NULL};
    x->m = m;
    return &x->s;
}

/* The first record of a key, then every equal key's value folded into its
 * copy; the record is built in x->acc, valid until the next call. */
static int fold_next(mr_stream *s, mr_rec *r)
{
    merge_stream *x = (merge_stream *)s;
    mr_rec first = {0};
    int rc = mr__merge_peek(x->m, &first);
    if (rc <= 0)
        return rc;
    x->acc.len = x->acc.nrec = 0;
    mr__kvbuf_append(&x->acc, first.key, first.value, first.task);
    mr__merge_pop(x->m);
    mr_rec built;
    mr__rec_read(x->acc.data, &built);
    if (built.value.len == x->vsize) /* folds may assume an aligned acc */
        memcpy(x->accv, built.value.ptr, x->vsize);
    mr_rec nx = {0};
    while ((rc = mr__merge_peek(x->m, &nx)) > 0 &&
           mr__bytes_cmp(nx.key, built.key) == 0) {
        if (nx.value.len == x->vsize && built.value.len == x->vsize)
            x->fold(x->accv, nx.value.ptr);
        mr__merge_pop(x->m);
    }
    if (rc < 0)
        return rc;
    if (built.value.len == x->vsize)
        memcpy((void *)built.value.ptr, x->accv, x->vsize);
    *r = built;
    return 1;
}

mr_stream *mr__stream_fold(mr_merge *m, size_t vsize, mr_fold_fn *fold)
{
    merge_stream *x = g_new0(merge_stream, 1);
    x->s = (mr_stream){fold_next, merge_free, NULL};
    x->m = m;
    x->vsize = vsize;
    x->fold = fold;
    x->accv = g_malloc0(vsize ? vsize : 1);
    return &x->s;
}
