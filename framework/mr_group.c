/* mr_group.c -- group records by key, and the mr_values iterator.
 *
 * The general (non-fold) path: a run of records is indexed, the index is
 * sorted by (key bytes, task id, position in the run) and equal keys form
 * a group. Sorting by task id is what makes the order of a key's values
 * independent of the number of ranks: all records of one task were
 * emitted on one rank, in order, and reach the same destination in order,
 * so (task, position) is the emission order whatever rank ran the task.
 *
 * The index holds the first 8 key bytes (big-endian, so integer compare
 * equals memcmp order), the key length and the task next to the record
 * offset: keys of up to 8 bytes (most words) are compared and their ties
 * broken without touching the records at all, and longer keys only when
 * their prefixes agree. (Measured on stream's reduce of 24.5 M records:
 * this index was most of the phase when every tie read both records.)
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

#include <stdlib.h>

typedef struct ent {
    uint64_t prefix;
    size_t off;
    uint32_t klen, task;
} ent;

static uint64_t key_prefix(mr_bytes k)
{
    unsigned char b[8] = {0};
    memcpy(b, k.ptr, k.len < 8 ? k.len : 8);
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | b[i];
    return v;
}

static const unsigned char *sort_base;

static int ent_cmp(const void *pa, const void *pb)
{
    const ent *a = pa, *b = pb;
    if (a->prefix != b->prefix)
        return a->prefix < b->prefix ? -1 : 1;
    if (a->klen > 8 || b->klen > 8) {
        /* Same first 8 bytes: the rest decides (the records are read). */
        mr_rec ra, rb;
        mr__rec_read(sort_base + a->off, &ra);
        mr__rec_read(sort_base + b->off, &rb);
        int c = mr__bytes_cmp(ra.key, rb.key);
        if (c)
            return c;
    } else if (a->klen != b->klen) {
        /* Both keys fit the prefix, zero-padded: the shorter one first. */
        return a->klen < b->klen ? -1 : 1;
    }
    if (a->task != b->task)
        return a->task < b->task ? -1 : 1;
    return (a->off > b->off) - (a->off < b->off);
}

void mr__group_build(mr_group *g, const mr_kvbuf *b)
{
    g->base = b->data;
    g->n = b->nrec;
    g->offs = g_new(size_t, g->n ? g->n : 1);
    ent *e = g_new(ent, g->n ? g->n : 1);
    size_t off = 0;
    for (size_t i = 0; i < g->n; i++) {
        mr_rec r;
        e[i].off = off;
        off += mr__rec_read(b->data + off, &r);
        e[i].prefix = key_prefix(r.key);
        e[i].klen = (uint32_t)r.key.len;
        e[i].task = r.task;
    }
    g_assert(off == b->len);
    /* qsort has no context argument in C11; the framework runs one sort at
     * a time per process, so a file-static base is safe here. */
    sort_base = b->data;
    if (g->n > 1)
        qsort(e, g->n, sizeof *e, ent_cmp);
    for (size_t i = 0; i < g->n; i++)
        g->offs[i] = e[i].off;
    g_free(e);
}

void mr__group_fini(mr_group *g)
{
    g_free(g->offs);
    memset(g, 0, sizeof *g);
}

int mr_values_next(mr_values *v, mr_bytes *value)
{
    if (!v->offs) {
        if (!v->one_left)
            return 0;
        v->one_left = 0;
        *value = v->one;
        return 1;
    }
    if (v->i >= v->end)
        return 0;
    mr_rec r;
    mr__rec_read(v->base + v->offs[v->i++], &r);
    *value = r.value;
    return 1;
}

int mr__group_each(mr_ctx *ctx, const mr_group *g, mr_reduce_fn *fn)
{
    size_t i = 0;
    while (i < g->n) {
        mr_rec first, r;
        mr__rec_read(g->base + g->offs[i], &first);
        size_t j = i + 1;
        while (j < g->n) {
            mr__rec_read(g->base + g->offs[j], &r);
            if (mr__bytes_cmp(first.key, r.key) != 0)
                break;
            j++;
        }
        int rc;
        if (fn) {
            mr_values v = {.base = g->base, .offs = g->offs, .i = i, .end = j};
            rc = fn(ctx, first.key, &v);
        } else {
            rc = MR_OK;
            for (size_t k = i; k < j && rc == MR_OK; k++) {
                mr__rec_read(g->base + g->offs[k], &r);
                rc = mr_emit(ctx, r.key, r.value);
            }
        }
        if (rc != MR_OK)
            return rc;
        i = j;
    }
    return MR_OK;
}
