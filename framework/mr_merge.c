/* mr_merge.c -- the output phase: sort per rank, merge on rank 0.
 *
 * Every rank sorts its own output run (its partition of the keys) by the
 * job's order, in parallel; rank 0 then merges the P sorted runs and calls
 * the job's output callback once per pair, so the output is in one global
 * order whatever the number of ranks. The per-rank sort is a radix sort
 * on a 64-bit summary of the order, then comparisons among equal
 * summaries (mr_keysort.h). Ties under the job's order are
 * broken by key and then value bytes: a total order on distinct records,
 * independent of which rank held them.
 *
 * Streaming: ranks send their sorted runs to rank 0 in chunks (of the
 * shuffle round size), each chunk a blocking send that rank 0 receives
 * only when its merge cursor for that rank runs dry. Rank 0 therefore
 * holds one chunk per rank, not the whole table, and other ranks hold
 * their own runs. If output fails on rank 0, it keeps draining the other
 * ranks (without calling the job) so no rank is left in a send.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"
#include "mr_keysort.h"

#include <stdio.h>
#include <stdlib.h>

enum { TAG_CHUNK = 4721 };

int mr__out_compare(const struct mr_job *job, const mr_rec *a,
                    const mr_rec *b)
{
    if (job->order) {
        int c = job->order(a->key, a->value, b->key, b->value);
        if (c)
            return c;
    }
    int c = mr__bytes_cmp(a->key, b->key);
    return c ? c : mr__bytes_cmp(a->value, b->value);
}

typedef struct sort_arg {
    const struct mr_job *job;
    const unsigned char *base;
} sort_arg;

/* Two records of a run by the output order, then by offset: a total
 * order, so the result does not depend on the order records arrived in. */
static int keyed_cmp(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    const sort_arg *s = arg;
    mr_rec ra, rb;
    mr__rec_read(s->base + x->ref, &ra);
    mr__rec_read(s->base + y->ref, &rb);
    int c = mr__out_compare(s->job, &ra, &rb);
    return c ? c : (x->ref > y->ref) - (x->ref < y->ref);
}

/* The 64-bit summary of a record's place in the output order: the job's
 * order_key, or, when the job orders by key bytes (no order), the first
 * eight key bytes. A job with an order but no order_key gets 0 for every
 * record: the radix passes are skipped and the merge sort compares
 * everything. */
static uint64_t order_key(const struct mr_job *job, const mr_rec *r)
{
    if (!job->order)
        return mr_prefix64(r->key.ptr, r->key.len);
    return job->order_key ? job->order_key(r->key, r->value) : 0;
}

/* Rewrites b in sorted order. */
static void sort_run(const struct mr_job *job, mr_kvbuf *b)
{
    if (b->nrec < 2)
        return;
    /* OPTIMIZATION: a run that is already in order (matmul's blocks,
     * mandelbrot's rows) needs neither the sort nor the copy. */
    int in_order = 1;
    mr_rec prev, cur;
    size_t off = mr__rec_read(b->data, &prev);
    for (size_t i = 1; i < b->nrec && in_order; i++) {
        off += mr__rec_read(b->data + off, &cur);
        if (mr__out_compare(job, &prev, &cur) > 0)
            in_order = 0;
        prev = cur;
    }
    if (in_order)
        return;
    mr_keyed *recs = g_new(mr_keyed, b->nrec), *tmp = g_new(mr_keyed, b->nrec);
    off = 0;
    for (size_t i = 0; i < b->nrec; i++) {
        mr_rec r;
        size_t sz = mr__rec_read(b->data + off, &r);
        recs[i].key = order_key(job, &r);
        recs[i].ref = off;
        off += sz;
    }
    sort_arg arg = {job, b->data};
    mr_keysort(recs, tmp, b->nrec, keyed_cmp, &arg);
    g_free(tmp);
    mr_kvbuf sorted;
    mr__kvbuf_init(&sorted);
    mr__kvbuf_reserve(&sorted, b->len);
    for (size_t i = 0; i < b->nrec; i++)
        mr__kvbuf_append_raw(&sorted, b->data + recs[i].ref,
                             mr__rec_size(b->data + recs[i].ref), 1);
    g_free(recs);
    mr__kvbuf_move(b, &sorted);
}

/* A source of sorted records on rank 0: its own run, or chunks from a
 * remote rank. */
typedef struct cursor {
    int rank;
    unsigned char *buf; /* remote chunk (owned), or NULL for the own run */
    const unsigned char *p, *end;
    int finished;
    mr_rec cur;
    uint64_t key; /* order_key of cur */
} cursor;

static void fetch(mr_ctx *ctx, cursor *c)
{
    g_free(c->buf);
    c->buf = NULL;
    MPI_Status st;
    int n;
    MPI_Probe(c->rank, TAG_CHUNK, ctx->comm, &st);
    MPI_Get_count(&st, MPI_BYTE, &n);
    c->buf = g_malloc(n ? (size_t)n : 1);
    MPI_Recv(c->buf, n, MPI_BYTE, c->rank, TAG_CHUNK, ctx->comm,
             MPI_STATUS_IGNORE);
    c->p = c->buf;
    c->end = c->buf + n;
    if (n == 0)
        c->finished = 1; /* the empty chunk ends a rank's stream */
}

/* Moves c to its next record; returns 0 when it is exhausted. */
static int advance(mr_ctx *ctx, cursor *c)
{
    while (c->p == c->end) {
        if (c->finished || !c->buf) {
            c->finished = 1;
            return 0;
        }
        fetch(ctx, c);
    }
    c->p += mr__rec_read(c->p, &c->cur);
    c->key = order_key(&ctx->job, &c->cur);
    return 1;
}

static int default_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    if (fwrite(key.ptr, 1, key.len, stdout) != key.len ||
        putchar('\t') == EOF ||
        fwrite(value.ptr, 1, value.len, stdout) != value.len ||
        putchar('\n') == EOF)
        return mr_error(ctx, MR_EIO, "writing to standard output failed");
    return MR_OK;
}

/* A binary heap of cursor indices, ordered by their current record. */
typedef struct heap {
    int *a;
    int n;
    cursor *c;
    const struct mr_job *job;
} heap;

/* OPTIMIZATION: the order keys first, as in the sort; the job's order
 * only when they are equal. */
static int less(const heap *h, int x, int y)
{
    if (h->c[x].key != h->c[y].key)
        return h->c[x].key < h->c[y].key;
    int c = mr__out_compare(h->job, &h->c[x].cur, &h->c[y].cur);
    return c ? c < 0 : h->c[x].rank < h->c[y].rank;
}

static void sift_down(heap *h, int i)
{
    for (;;) {
        int l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->n && less(h, h->a[l], h->a[m]))
            m = l;
        if (r < h->n && less(h, h->a[r], h->a[m]))
            m = r;
        if (m == i)
            return;
        int t = h->a[i];
        h->a[i] = h->a[m];
        h->a[m] = t;
        i = m;
    }
}

static int merge_on_root(mr_ctx *ctx)
{
    int P = ctx->nranks, rc = MR_OK;
    mr_output_fn *out = ctx->job.output ? ctx->job.output : default_output;
    cursor *cs = g_new0(cursor, P);
    heap h = {.a = g_new(int, P), .n = 0, .c = cs, .job = &ctx->job};
    for (int r = 0; r < P; r++) {
        cs[r].rank = r;
        if (r == 0) {
            cs[r].p = ctx->out.data;
            cs[r].end = ctx->out.data + ctx->out.len;
        } else {
            fetch(ctx, &cs[r]);
        }
        if (advance(ctx, &cs[r]))
            h.a[h.n++] = r;
    }
    for (int i = h.n / 2 - 1; i >= 0; i--)
        sift_down(&h, i);
    while (h.n > 0) {
        cursor *c = &cs[h.a[0]];
        if (rc == MR_OK) {
            rc = out(ctx, c->cur.key, c->cur.value);
            if (rc != MR_OK && ctx->status == MR_OK)
                mr_error(ctx, rc, "output callback failed (%s)",
                         mr_strerror(rc));
        }
        if (!advance(ctx, c))
            h.a[0] = h.a[--h.n];
        sift_down(&h, 0);
    }
    for (int r = 0; r < P; r++)
        g_free(cs[r].buf);
    g_free(cs);
    g_free(h.a);
    if (fflush(stdout) != 0 && rc == MR_OK)
        rc = mr_error(ctx, MR_EIO, "writing to standard output failed");
    return rc;
}

static void send_run(mr_ctx *ctx)
{
    size_t limit = (size_t)ctx->cfg->shuffle_round;
    size_t pos = 0, nrec;
    while (pos < ctx->out.len) {
        size_t n = mr__shuffle_cut(ctx->out.data + pos, ctx->out.len - pos,
                                   limit, &nrec);
        MPI_Send(ctx->out.data + pos, (int)n, MPI_BYTE, 0, TAG_CHUNK,
                 ctx->comm);
        pos += n;
    }
    MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_CHUNK, ctx->comm);
}

int mr__merge_output(mr_ctx *ctx)
{
    sort_run(&ctx->job, &ctx->out);
    if (ctx->rank != 0) {
        send_run(ctx);
        return MR_OK;
    }
    return merge_on_root(ctx);
}
