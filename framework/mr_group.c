/* mr_group.c -- group records by key, and the mr_values iterator.
 *
 * The general (non-fold) path: the records of one or more runs are
 * indexed by address, the index is sorted by (key bytes, task id,
 * position in the run) and equal keys form a group. Sorting by task id is
 * what makes the order of a key's values independent of the number of
 * ranks: all records of one task were
 * emitted on one rank, in order, and reach the same destination in order,
 * so (task, position) is the emission order whatever rank ran the task.
 *
 * The sort is mr_keysort (mr_keysort.h): a radix sort on the first 8 key
 * bytes (big-endian, so integer order is memcmp order), then, among
 * records whose prefixes agree, the whole key, the task and the position.
 */
/* SPDX-License-Identifier: MIT */
#include <glib.h>

#include "mr_group.h"
#include "mr_keysort.h"

#include <stdlib.h>

/* ref is the record's address. Records of one task all come from one
 * rank, so they sit in one run, in emission order: among them, address
 * order is position order. */
static const unsigned char *rec_at(const mr_keyed *x)
{
    return (const unsigned char *)(uintptr_t)x->ref;
}

/* Two records with equal 8-byte prefixes: the whole key, then task, then
 * position. */
static int tie_cmp(const mr_keyed *x, const mr_keyed *y, void *arg)
{
    (void)arg;
    mr_rec ra, rb;
    mr__rec_read(rec_at(x), &ra);
    mr__rec_read(rec_at(y), &rb);
    int c = mr__bytes_cmp(ra.key, rb.key);
    if (c)
        return c;
    if (ra.task != rb.task)
        return ra.task < rb.task ? -1 : 1;
    return (x->ref > y->ref) - (x->ref < y->ref);
}

void mr__group_build(mr_group *g, const mr_kvbuf *runs, int nruns)
{
    g->n = 0;
    for (int k = 0; k < nruns; k++)
        g->n += runs[k].nrec;
    g->recs = g_new(const unsigned char *, g->n ? g->n : 1);
    mr_keyed *e = g_new(mr_keyed, g->n ? g->n : 1);
    size_t i = 0;
    for (int k = 0; k < nruns; k++) {
        size_t off = 0;
        for (size_t j = 0; j < runs[k].nrec; j++, i++) {
            mr_rec r;
            e[i].ref = (uint64_t)(uintptr_t)(runs[k].data + off);
            off += mr__rec_read(runs[k].data + off, &r);
            e[i].key = mr_prefix64(r.key.ptr, r.key.len);
        }
        g_assert(off == runs[k].len);
    }
    mr_keysort(e, g->n, tie_cmp, NULL);
    for (i = 0; i < g->n; i++)
        g->recs[i] = rec_at(&e[i]);
    g_free(e);
}

void mr__group_fini(mr_group *g)
{
    g_free(g->recs);
    memset(g, 0, sizeof *g);
}

int mr_values_next(mr_values *v, mr_bytes *value)
{
    if (v->pull)
        return v->pull(v->src, value);
    if (!v->recs) {
        if (!v->one_left)
            return 0;
        v->one_left = 0;
        *value = v->one;
        return 1;
    }
    if (v->i >= v->end)
        return 0;
    mr_rec r;
    mr__rec_read(v->recs[v->i++], &r);
    *value = r.value;
    return 1;
}

int mr__group_next(const mr_group *g, size_t *pos, mr_bytes *key,
                   mr_values *values, uint32_t *task)
{
    size_t i = *pos;
    if (i >= g->n)
        return 0;
    mr_rec first, r;
    mr__rec_read(g->recs[i], &first);
    size_t j = i + 1;
    while (j < g->n) {
        mr__rec_read(g->recs[j], &r);
        if (mr__bytes_cmp(first.key, r.key) != 0)
            break;
        j++;
    }
    *key = first.key;
    *values = (mr_values){.recs = g->recs, .i = i, .end = j};
    if (task)
        *task = first.task;
    *pos = j;
    return 1;
}
