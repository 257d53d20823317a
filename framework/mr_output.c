/* mr_output.c -- the output phase: sort per rank, merge on rank 0; or, for
 * jobs with output_part, a sample sort across the ranks (below).
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
 * The sort leaves the run in place and returns an index of it in order
 * (sort_run). Streaming: ranks send their sorted runs to rank 0 in chunks
 * (of the shuffle round size, at most 4 MiB when gathered through the
 * index), each chunk a blocking send that rank 0 receives only when its
 * merge cursor for that rank runs dry. Rank 0 therefore holds one chunk
 * per rank, not the whole table, and other ranks hold their own runs. If
 * output fails on rank 0, it keeps draining the other ranks (without
 * calling the job) so no rank is left in a send.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include "mr_bigmem.h"
#include "mr_keysort.h"
#include "mr_mpierr.h"
#include "mr_output.h"
#include "mr_phases.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { TAG_CHUNK = 4721 };

/* The total order the output follows (order, then key, then value). */
int mr__out_compare(const mr_ctx *ctx, const mr_rec *a, const mr_rec *b)
{
    const struct mr_job *job = &ctx->job;
    int c = 0;
    if (job->order_ctx)
        c = job->order_ctx(ctx, a->key, a->value, b->key, b->value);
    else if (job->order)
        c = job->order(a->key, a->value, b->key, b->value);
    if (c)
        return c;
    c = mr__bytes_cmp(a->key, b->key);
    return c ? c : mr__bytes_cmp(a->value, b->value);
}

typedef struct sort_arg {
    const mr_ctx *ctx;
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
    int c = mr__out_compare(s->ctx, &ra, &rb);
    return c ? c : (x->ref > y->ref) - (x->ref < y->ref);
}

static const void *run_at(uint64_t ref, void *arg)
{
    return ((const sort_arg *)arg)->base + ref;
}

/* The 64-bit summary of a record's place in the output order: the job's
 * order_key, or, when the job orders by key bytes (no order), the first
 * eight key bytes. A job with an order but no order_key gets 0 for every
 * record: the radix passes are skipped and the merge sort compares
 * everything. */
static uint64_t order_key(const mr_ctx *ctx, const mr_rec *r)
{
    const struct mr_job *job = &ctx->job;
    if (job->order_ctx)
        return job->order_key_ctx ? job->order_key_ctx(ctx, r->key, r->value)
                                  : 0;
    if (!job->order)
        return mr_prefix64(r->key.ptr, r->key.len);
    return job->order_key ? job->order_key(r->key, r->value) : 0;
}

/* The key of r at `level` >= 1 below order_key: the job's order_key_at,
 * or, under the default order, the next eight key bytes. */
static uint64_t order_key_at(const mr_ctx *ctx, const mr_rec *r,
                             unsigned level)
{
    if (!ctx->job.order && !ctx->job.order_ctx) {
        size_t off = (size_t)level * 8;
        return off < r->key.len
                   ? mr_prefix64((const unsigned char *)r->key.ptr + off,
                                 r->key.len - off)
                   : 0;
    }
    return ctx->job.order_key_at(ctx, r->key, r->value, level);
}

/* Whether order_key_at has anything to say: the default order, or a job
 * with both order_key and order_key_at. */
static int has_levels(const mr_ctx *ctx)
{
    const struct mr_job *job = &ctx->job;
    if (job->order_ctx)
        return job->order_key_ctx && job->order_key_at;
    return !job->order || (job->order_key && job->order_key_at);
}

/* Appends an index entry for every record of b to idx: its order key and
 * its offset, with `bit` set in it. Returns how many. */
static size_t index_run(const mr_ctx *ctx, const mr_kvbuf *b, mr_keyed *idx,
                        uint64_t bit)
{
    size_t off = 0;
    for (size_t i = 0; i < b->nrec; i++) {
        mr_rec r;
        size_t sz = mr__rec_read(b->data + off, &r);
        idx[i] = (mr_keyed){order_key(ctx, &r), off | bit};
        off += sz;
    }
    return b->nrec;
}

/* The records of run b in output order: their offsets (ref) with their
 * order keys, or NULL when b is already in order (read it front to back).
 *
 * The run is not rewritten in order: rank 0 merges its own run through
 * this index and the other ranks gather their chunks through it
 * (send_run), so no sorted copy of the run is faulted in on the output
 * phase's critical path (docs/performance.md, "The output phase"). The
 * index also carries each record's order key, which rank 0's merge would
 * otherwise compute again. */
mr_keyed *mr__out_sort(const mr_ctx *ctx, const mr_kvbuf *b)
{
    if (b->nrec < 2)
        return NULL;
    /* OPTIMIZATION: a run that is already in order (matmul's blocks,
     * mandelbrot's rows) needs no sort and no index. */
    int in_order = 1;
    mr_rec prev, cur;
    size_t off = mr__rec_read(b->data, &prev);
    for (size_t i = 1; i < b->nrec && in_order; i++) {
        off += mr__rec_read(b->data + off, &cur);
        if (mr__out_compare(ctx, &prev, &cur) > 0)
            in_order = 0;
        prev = cur;
    }
    if (in_order)
        return NULL;
    mr_keyed *recs = g_new(mr_keyed, b->nrec);
    index_run(ctx, b, recs, 0);
    sort_arg arg = {ctx, b->data};
    mr_keysort_pf(recs, b->nrec, keyed_cmp, run_at, &arg);
    return recs;
}

/* How many records ahead a walk through a run's index prefetches. */
#define PREFETCH_AHEAD 16

/* Record i of a run of n records through its index.
 * OPTIMIZATION: the index visits the run at random; fetching the record
 * PREFETCH_AHEAD entries further on hides the cache miss of each visit. */
static inline const unsigned char *indexed_rec(const unsigned char *base,
                                               const mr_keyed *order, size_t i,
                                               size_t n)
{
    if (i + PREFETCH_AHEAD < n)
        __builtin_prefetch(base + order[i + PREFETCH_AHEAD].ref);
    return base + order[i].ref;
}

/* A source of sorted records on rank 0: its own run (through its index,
 * or in place), or chunks from a remote rank. */
typedef struct cursor {
    int rank, remote, finished;
    const unsigned char *base; /* own run */
    const mr_keyed *order;     /* own run's index, or NULL: in place */
    size_t next, n;            /* own run's index: next entry, entries */
    unsigned char *buf;        /* remote chunk (owned, reused) */
    size_t cap;
    const unsigned char *p, *end; /* records left in place or in buf */
    mr_rec cur;
    uint64_t key; /* order_key of cur */
} cursor;

static void fetch(mr_ctx *ctx, cursor *c)
{
    MPI_Status st;
    int n;
    MR_MPI(MPI_Probe(c->rank, TAG_CHUNK, ctx->comm, &st));
    MR_MPI(MPI_Get_count(&st, MPI_BYTE, &n));
    if (!c->buf || (size_t)n > c->cap) { /* never NULL: p and end */
        g_free(c->buf);
        c->cap = n ? (size_t)n : 1;
        c->buf = g_malloc(c->cap);
    }
    MR_MPI(MPI_Recv(c->buf, n, MPI_BYTE, c->rank, TAG_CHUNK, ctx->comm,
             MPI_STATUS_IGNORE));
    c->p = c->buf;
    c->end = c->buf + n;
    if (n == 0)
        c->finished = 1; /* the empty chunk ends a rank's stream */
}

/* Moves c to its next record; returns 0 when it is exhausted. */
static int advance(mr_ctx *ctx, cursor *c)
{
    if (c->order) {
        if (c->next == c->n)
            return 0;
        mr__rec_read(indexed_rec(c->base, c->order, c->next, c->n), &c->cur);
        c->key = c->order[c->next++].key;
        return 1;
    }
    while (c->p == c->end) {
        if (!c->remote || c->finished)
            return 0;
        fetch(ctx, c);
    }
    c->p += mr__rec_read(c->p, &c->cur);
    c->key = order_key(ctx, &c->cur);
    return 1;
}

int mr__out_default(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    if (fwrite(key.ptr, 1, key.len, stdout) != key.len ||
        putchar('\t') == EOF ||
        fwrite(value.ptr, 1, value.len, stdout) != value.len ||
        putchar('\n') == EOF)
        return mr_error(ctx, MR_EIO, "standard output: %s", strerror(errno));
    return MR_OK;
}

/* A binary heap of cursor indices, ordered by their current record. */
typedef struct heap {
    int *a;
    int n;
    cursor *c;
    const mr_ctx *ctx;
} heap;

/* OPTIMIZATION: the order keys first, as in the sort; the job's order
 * only when they are equal. */
static int less(const heap *h, int x, int y)
{
    if (h->c[x].key != h->c[y].key)
        return h->c[x].key < h->c[y].key;
    int c = mr__out_compare(h->ctx, &h->c[x].cur, &h->c[y].cur);
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

static int merge_on_root(mr_ctx *ctx, const mr_kvbuf *run,
                         const mr_keyed *order)
{
    int P = ctx->nranks, rc = MR_OK;
    mr_output_fn *out = ctx->job.output ? ctx->job.output : mr__out_default;
    cursor *cs = g_new0(cursor, P);
    heap h = {.a = g_new(int, P), .n = 0, .c = cs, .ctx = ctx};
    for (int r = 0; r < P; r++) {
        cs[r].rank = r;
        if (r == 0) {
            cs[r].base = cs[r].p = run->data;
            cs[r].end = run->data + run->len;
            cs[r].order = order;
            cs[r].n = run->nrec;
        } else {
            cs[r].remote = 1;
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
        rc = mr_error(ctx, MR_EIO, "standard output: %s", strerror(errno));
    return rc;
}

/* A sorted run travels in chunks gathered through its index into one
 * buffer of at most this many bytes (or one record, if bigger), reused:
 * small enough to stay in cache, big enough that a chunk's handshake
 * costs little next to its copy. */
#define GATHER_CHUNK ((size_t)4 << 20)

/* Sends the own run to rank 0 in order: chunks of at most shuffle_round
 * bytes (at least one record each), then an empty chunk. */
static void send_run(mr_ctx *ctx, const mr_kvbuf *b, const mr_keyed *order)
{
    size_t limit = (size_t)ctx->cfg->shuffle_round;
    if (!order) { /* in order already: straight from the run */
        for (size_t pos = 0; pos < b->len;) {
            size_t n = mr__rec_cut(b->data + pos, b->len - pos, limit);
            MR_MPI(MPI_Send(b->data + pos, (int)n, MPI_BYTE, 0, TAG_CHUNK, ctx->comm));
            pos += n;
        }
    } else {
        if (limit > GATHER_CHUNK)
            limit = GATHER_CHUNK;
        unsigned char *chunk = NULL;
        size_t cap = 0;
        for (size_t i = 0; i < b->nrec;) {
            size_t len = 0;
            do {
                const unsigned char *r =
                    indexed_rec(b->data, order, i, b->nrec);
                size_t sz = mr__rec_size(r);
                if (len > 0 && len + sz > limit)
                    break;
                if (len + sz > cap) { /* the first chunk, or a big record */
                    cap = len + sz > limit ? len + sz : limit;
                    chunk = g_realloc(chunk, cap);
                }
                memcpy(chunk + len, r, sz);
                len += sz;
                i++;
            } while (i < b->nrec && len < limit);
            MR_MPI(MPI_Send(chunk, (int)len, MPI_BYTE, 0, TAG_CHUNK, ctx->comm));
        }
        g_free(chunk);
    }
    MR_MPI(MPI_Send(NULL, 0, MPI_BYTE, 0, TAG_CHUNK, ctx->comm));
}

/* ---- parallel output (output_part): sample sort across the ranks ---- */

/* Records of a rank's run picked as samples for the splitters: at most
 * this many, evenly spaced in the run as it is (not yet sorted). */
#define SAMPLES 1024
#define SAMPLE_BYTES ((size_t)256 << 10) /* at most, about, per rank */
/* In a combined index, refs with this bit are offsets into the received
 * records, the others into the rank's own run. */
#define IN_BIT ((uint64_t)1 << 63)

static int rec_ptr_cmp(gconstpointer a, gconstpointer b, gpointer arg)
{
    const mr_ctx *ctx = arg;
    mr_rec ra, rb;
    mr__rec_read(*(const unsigned char *const *)a, &ra);
    mr__rec_read(*(const unsigned char *const *)b, &rb);
    return mr__out_compare(ctx, &ra, &rb);
}

unsigned char *mr__out_splitters(mr_ctx *ctx, const mr_kvbuf *mine,
                                 const unsigned char ***spl)
{
    int P = ctx->nranks;
    int len = (int)mine->len, *lens = g_new(int, P), *displs = g_new(int, P);
    MR_MPI(MPI_Allgather(&len, 1, MPI_INT, lens, 1, MPI_INT, ctx->comm));
    size_t total = 0;
    for (int r = 0; r < P; r++) {
        displs[r] = (int)total;
        total += (size_t)lens[r];
    }
    unsigned char *all = g_malloc(total ? total : 1);
    MR_MPI(MPI_Allgatherv(mine->data, len, MPI_BYTE, all, lens, displs,
                          MPI_BYTE, ctx->comm));
    g_free(lens);
    g_free(displs);
    GPtrArray *recs = g_ptr_array_new();
    for (size_t off = 0; off < total; off += mr__rec_size(all + off))
        g_ptr_array_add(recs, all + off);
    g_ptr_array_sort_with_data(recs, rec_ptr_cmp, ctx);
    *spl = g_new0(const unsigned char *, P);
    for (int d = 0; d + 1 < P; d++)
        (*spl)[d] = recs->len ? recs->pdata[(size_t)(d + 1) * recs->len / P]
                              : NULL;
    g_ptr_array_free(recs, TRUE);
    return all;
}

/* The splitters of the ranks' runs, from records evenly spaced in each
 * (collective). A run's order is unrelated to the output order, or is
 * that order already: either way, even spacing samples it fairly. */
static unsigned char *splitters(mr_ctx *ctx, const mr_kvbuf *b,
                                const unsigned char ***spl)
{
    mr_kvbuf mine;
    mr__kvbuf_init(&mine);
    size_t n = b->nrec, s = MIN(n, (size_t)SAMPLES);
    /* Big records (a job's image rows): fewer samples, not more bytes
     * gathered on every rank. */
    if (s && b->len / n > SAMPLE_BYTES / s)
        s = MAX(1, SAMPLE_BYTES / (b->len / n));
    size_t off = 0;
    for (size_t i = 0, k = 0; k < s; i++) {
        size_t sz = mr__rec_size(b->data + off);
        if (i == (k * n + n / 2) / s) {
            mr__kvbuf_append_raw(&mine, b->data + off, sz, 1);
            k++;
        }
        off += sz;
    }
    unsigned char *all = mr__out_splitters(ctx, &mine, spl);
    mr__kvbuf_fini(&mine);
    return all;
}

typedef struct part_arg {
    const mr_ctx *ctx;
    const unsigned char *own, *in;
} part_arg;

static inline const unsigned char *part_rec(const part_arg *a, uint64_t ref)
{
    return ref & IN_BIT ? a->in + (ref & ~IN_BIT) : a->own + ref;
}

static const void *part_at(uint64_t ref, void *arg)
{
    return part_rec(arg, ref);
}

static uint64_t part_level(uint64_t ref, unsigned level, void *arg)
{
    const part_arg *a = arg;
    mr_rec r;
    mr__rec_read(part_rec(a, ref), &r);
    return order_key_at(a->ctx, &r, level);
}

/* By the output order, then by ref: a total order. */
static int part_cmp(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    const part_arg *a = arg;
    mr_rec ra, rb;
    mr__rec_read(part_rec(a, x->ref), &ra);
    mr__rec_read(part_rec(a, y->ref), &rb);
    int c = mr__out_compare(a->ctx, &ra, &rb);
    return c ? c : (x->ref > y->ref) - (x->ref < y->ref);
}

/* The rank a record belongs to: the first splitter it does not pass (the
 * last rank if it passes them all). Order keys first, as in the sort. */
static int dest_of(const mr_ctx *ctx, const mr_rec *r, uint64_t key,
                   const mr_rec *spl, const uint64_t *skey, int nspl)
{
    int lo = 0, hi = nspl; /* the answer is in [lo, hi] */
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        int c = key != skey[mid] ? (key < skey[mid] ? -1 : 1)
                                 : mr__out_compare(ctx, r, &spl[mid]);
        if (c <= 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

_Static_assert(MR_KEYSORT_DIGIT <= 16, "a bucket's number in 16 bits");

/* The records a rank writes, copied into buckets by the first digit of
 * their sort (mr_keysort_digit), so that the sort and the output visit
 * each bucket's records at random, not the whole run's.
 *
 * *idx (*icap bytes) indexes the own run and then the received records,
 * each in the order they lie. Both are given back as they are copied, and
 * the index is traded for a 16-bit digit per record meanwhile: the copy
 * and its sources are never all resident together with the index. Returns
 * the copy (*len bytes), with *idx indexing it (*start[0..*nb] the
 * buckets' bounds there); or NULL, having done nothing, when the index is
 * too short for buckets. */
static unsigned char *scatter(const mr_ctx *ctx, mr_kvbuf *own,
                              mr_kvbuf *in, mr_keyed **idx, size_t icap,
                              size_t m, size_t *len, size_t **start,
                              size_t *nb, int *shift)
{
    int bits;
    if (!mr_keysort_digit(*idx, m, shift, &bits))
        return NULL;
    size_t n = (size_t)1 << bits, mask = n - 1;
    uint16_t *dig = mr_bigmem_grow(NULL, 0, m * sizeof *dig);
    /* Records and bytes per bucket; the records lie as the index has
     * them: the own run, then the received ones. */
    size_t *count = g_new0(size_t, n + 1), *head = g_new0(size_t, n);
    mr_kvbuf *src[2] = {own, in};
    size_t i = 0;
    for (int s = 0; s < 2; s++)
        for (size_t off = 0; off < src[s]->len; i++) {
            size_t sz = mr__rec_size(src[s]->data + off);
            dig[i] = (uint16_t)(((*idx)[i].key >> *shift) & mask);
            count[dig[i]]++;
            head[dig[i]] += sz;
            off += sz;
        }
    mr_bigmem_free(*idx, icap);
    /* Bytes and records per bucket become where each bucket starts. */
    size_t sum = 0, rsum = 0;
    for (size_t v = 0; v < n; v++) {
        size_t b = head[v], c = count[v];
        head[v] = sum;
        sum += b;
        count[v] = rsum;
        rsum += c;
    }
    count[n] = m;
    unsigned char *dst = mr_bigmem_grow(NULL, 0, sum);
    i = 0;
    for (int s = 0; s < 2; s++) {
        size_t done = 0;
        for (size_t off = 0; off < src[s]->len; i++) {
            const unsigned char *r = src[s]->data + off;
            size_t sz = mr__rec_size(r);
            memcpy(dst + head[dig[i]], r, sz);
            head[dig[i]] += sz;
            off += sz;
            mr_bigmem_release_behind(src[s]->data, src[s]->cap, 0, off,
                                     &done);
        }
    }
    g_free(head);
    mr_bigmem_free(dig, m * sizeof *dig);
    mr_bigmem_release(own->data, own->cap, 0, own->cap);
    own->len = own->nrec = 0;
    mr__kvbuf_fini(in);
    /* The index again, of the copy: bucket by bucket, in order. */
    *idx = mr_bigmem_grow(NULL, 0, icap);
    size_t off = 0;
    for (i = 0; i < m; i++) {
        mr_rec r;
        size_t sz = mr__rec_read(dst + off, &r);
        (*idx)[i] = (mr_keyed){order_key(ctx, &r), off};
        off += sz;
    }
    *len = sum;
    *start = count;
    *nb = n;
    return dst;
}

/* Every rank writes its share of the global order (sample sort): the run
 * is cut at splitters in one pass in place, each rank gets its range of
 * every rank's run, copies its own records and the received ones into
 * buckets (scatter), sorts an index of them once, and calls output_part
 * per pair in order, then output_end (always: it may hold collective
 * commits). */
static int output_parts(mr_ctx *ctx, mr_kvbuf *out)
{
    int P = ctx->nranks, me = ctx->rank, rc = MR_OK;
    /* Mappings of their own (mr_bigmem.h), so that they go back to the
     * system when freed (Open MPI keeps malloc's big blocks in the heap). */
    size_t icap = (out->nrec + 1) * sizeof(mr_keyed);
    mr_keyed *idx = mr_bigmem_grow(NULL, 0, icap);
    size_t m = 0;
    mr_kvbuf in;
    mr__kvbuf_init(&in);
    if (P == 1) {
        m = index_run(ctx, out, idx, 0);
    } else {
        const unsigned char **sp = NULL;
        unsigned char *samples = splitters(ctx, out, &sp);
        int nspl = 0;
        mr_rec *spl = g_new(mr_rec, P);
        uint64_t *skey = g_new(uint64_t, P);
        for (; nspl + 1 < P && sp[nspl]; nspl++) {
            mr__rec_read(sp[nspl], &spl[nspl]);
            skey[nspl] = order_key(ctx, &spl[nspl]);
        }
        /* The own records move down to the front of the run as the others
         * leave it, and what lies between goes back to the system as the
         * pass goes: the run and the pieces for the others are held about
         * once, not twice, through the exchange and the sort. */
        mr_kvbuf *runs = g_new0(mr_kvbuf, P);
        size_t off = 0, keep = 0, freed = 0;
        for (size_t i = 0; i < out->nrec; i++) {
            mr_rec r;
            size_t sz = mr__rec_read(out->data + off, &r);
            uint64_t k = order_key(ctx, &r);
            int d = dest_of(ctx, &r, k, spl, skey, nspl);
            if (d == me) {
                if (keep != off)
                    memmove(out->data + keep, out->data + off, sz);
                idx[m++] = (mr_keyed){k, keep};
                keep += sz;
            } else {
                mr__kvbuf_append_raw(&runs[d], out->data + off, sz, 1);
            }
            off += sz;
            mr_bigmem_release_behind(out->data, out->cap, keep, off, &freed);
        }
        mr_bigmem_release(out->data, out->cap, keep, out->cap);
        out->len = keep;
        out->nrec = m;
        g_free(sp);
        g_free(samples);
        g_free(spl);
        g_free(skey);
        /* The exchange is the shuffle's; its counters are not. */
        uint64_t sent = ctx->shuffle_sent, recv = ctx->shuffle_recv;
        int rounds = ctx->shuffle_rounds;
        mr_received got;
        memset(&got, 0, sizeof got);
        rc = mr__shuffle_run(ctx, runs, &got);
        ctx->shuffle_sent = sent;
        ctx->shuffle_recv = recv;
        ctx->shuffle_rounds = rounds;
        for (int d = 0; d < P; d++)
            mr__kvbuf_fini(&runs[d]);
        g_free(runs);
        mr__kvbuf_fini(&got.own); /* empty: the own range never left */
        mr__kvbuf_move(&in, &got.in);
        size_t need = (m + in.nrec + 1) * sizeof(mr_keyed);
        if (need > icap) {
            idx = mr_bigmem_grow(idx, icap, need);
            icap = need;
        }
        m += index_run(ctx, &in, idx + m, IN_BIT);
    }
    size_t slen = 0, *start = NULL, nb = 0;
    int shift = 0;
    unsigned char *sorted =
        scatter(ctx, out, &in, &idx, icap, m, &slen, &start, &nb, &shift);
    part_arg arg = {ctx, sorted ? sorted : out->data, in.data};
    mr_keysort_level *lv = has_levels(ctx) ? part_level : NULL;
    if (sorted)
        mr_keysort_buckets_sort(idx, start, nb, shift, part_cmp, part_at, lv,
                                &arg);
    else
        mr_keysort_lv(idx, m, part_cmp, part_at, lv, &arg);
    g_free(start);
    uint64_t n = m, base = 0;
    MR_MPI(MPI_Exscan(&n, &base, 1, MPI_UINT64_T, MPI_SUM, ctx->comm));
    if (me == 0)
        base = 0; /* Exscan leaves rank 0's undefined */
    /* The index goes back as it is read: the output the job makes of the
     * records grows as it shrinks. */
    size_t idone = 0;
    for (size_t i = 0; rc == MR_OK && i < m; i++) {
        mr_bigmem_release_behind(idx, icap, 0, i * sizeof *idx, &idone);
        /* OPTIMIZATION: the index visits the records at random. */
        if (i + PREFETCH_AHEAD < m)
            __builtin_prefetch(part_rec(&arg, idx[i + PREFETCH_AHEAD].ref));
        mr_rec r;
        mr__rec_read(part_rec(&arg, idx[i].ref), &r);
        ctx->out_index = base + i;
        rc = ctx->job.output_part(ctx, r.key, r.value);
        if (rc != MR_OK && ctx->status == MR_OK)
            mr_error(ctx, rc, "output_part callback failed (%s)",
                     mr_strerror(rc));
    }
    mr_bigmem_free(idx, icap);
    mr_bigmem_free(sorted, slen);
    mr__kvbuf_fini(&in);
    if (ctx->job.output_end) {
        int erc = ctx->job.output_end(ctx);
        if (rc == MR_OK)
            rc = erc;
    }
    return rc;
}

int mr__output_run(mr_ctx *ctx, mr_kvbuf *out)
{
    if (ctx->job.output_part)
        return output_parts(ctx, out);
    mr_keyed *order = mr__out_sort(ctx, out);
    int rc = MR_OK;
    if (ctx->rank != 0)
        send_run(ctx, out, order);
    else
        rc = merge_on_root(ctx, out, order);
    g_free(order);
    return rc;
}
