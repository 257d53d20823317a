/* mr_combine.c -- fold-at-emit accumulator tables.
 *
 * For jobs that declare a fixed value size and a fold function, mr_emit()
 * folds each value into the accumulator of its key here instead of storing
 * a pair: word count then moves one (word, count) per distinct word instead
 * of one per token (Phoenix++'s combiner objects do the same).
 *
 * This is the hot path of word count, so it is a specialised open
 * addressing table rather than a GHashTable: slots are one u64 each (32
 * bits of hash as a tag, and the entry's offset in the arena), linear
 * probing, load kept at most 3/4. Entries live back to back in one arena,
 * [acc (value size rounded up to 8)][u32 klen][key][pad to 8], so the
 * accumulator is 8-byte aligned, a lookup touches one slot and one entry,
 * and iteration is a walk over the arena in insertion order. No malloc per
 * key.
 *
 * Memory per distinct key, over its bytes, with an 8-byte value: the
 * entry's 12 bytes and 0-7 of padding, and 8 / load bytes of slots
 * (10.7-21.3 at loads of 3/8 to 3/4). Nothing is held twice while the
 * table grows: the arena grows by mremap (mr_bigmem.h), and the slots are
 * freed before their double is filled from a walk of the arena. At load
 * 3/4 an add probes more slots than at 1/2, but the 32-bit tags keep each
 * extra probe a compare in a line already fetched (docs/performance.md,
 * "Memory of many keys").
 *
 * With many distinct keys the table is far bigger than the caches and an
 * add costs two cache misses (its slot, then its entry), which dominated
 * word count. So adds go through a small ring: mr__fold_add hashes the
 * key, prefetches its slot and parks the add (key and value copied; long
 * keys and large values skip the ring); halfway through the ring the slot
 * has arrived and the entry it points to is prefetched, both its first
 * and its last byte (as long as the parked key, if it is a match), since
 * an entry of 16 to 64 bytes often straddles two cache lines; an add is
 * done when it leaves the ring, MR_FOLD_RING adds later, with its lines in
 * cache. Folds are commutative, so the delay changes no result; readers
 * call mr__fold_flush first. tools/bench/engine.sh measures this table
 * against GHashTable (bench-fold_table).
 *
 * Both ends of an entry are prefetched because the line the first prefetch
 * missed took a third of the add's time (docs/performance.md, "The fold
 * table").
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include <glib.h>

#include "mr_bigmem.h"
#include "mr_fold.h"
#include "mr_kvbuf.h"

#define ENTRY_HDR 4
/* In an entry's key length: the entry was dropped (its key now belongs
 * to another rank's run). Keys are under MR_MAX_ITEM, so the bit is free,
 * and a dropped entry can never match a lookup. */
#define DROPPED 0x80000000u

/* Slots are kept at most 3/4 full. */
static int over_load(size_t keys, size_t slots)
{
    return keys * 4 > slots * 3;
}

static size_t entry_size(const mr_fold *f, size_t klen)
{
    return (f->vstride + ENTRY_HDR + klen + 7) & ~(size_t)7;
}

static inline void sum_u64(void *acc, const void *value)
{
    uint64_t a, v;
    memcpy(&a, acc, 8);
    memcpy(&v, value, 8);
    a += v;
    memcpy(acc, &a, 8);
}

void mr_fold_sum_u64(void *acc, const void *value)
{
    sum_u64(acc, value);
}

void mr__fold_init(mr_fold *f, size_t vsize, mr_fold_fn *fold)
{
    memset(f, 0, sizeof *f);
    f->vsize = vsize;
    f->vstride = (vsize + 7) & ~(size_t)7;
    f->fold = fold;
    f->sum_u64 = fold == mr_fold_sum_u64 && vsize == 8;
    f->mask = 1023;
    f->slots = mr_bigmem_zalloc((f->mask + 1) * sizeof(uint64_t));
}

void mr__fold_fini(mr_fold *f)
{
    if (f->slots)
        mr_bigmem_free(f->slots, (f->mask + 1) * sizeof(uint64_t));
    mr_bigmem_free(f->arena, f->acap);
    memset(f, 0, sizeof *f);
}

/* Replaces the slots with nmask + 1 of them. The old ones are freed first
 * and the new ones filled from a walk of the arena (every entry's key is
 * there, in order), so the two arrays are never held at once. */
static void rebuild_slots(mr_fold *f, size_t nmask)
{
    mr_bigmem_free(f->slots, (f->mask + 1) * sizeof(uint64_t));
    uint64_t *ns = mr_bigmem_zalloc((nmask + 1) * sizeof(uint64_t));
    size_t n = 0;
    /* In batches: hash a batch's keys and prefetch their slots, then
     * place them, so that the slots' cache misses overlap. */
    enum { BATCH = 32 };
    uint64_t hs[BATCH], at[BATCH];
    for (size_t off = 0; off < f->alen;) {
        int b = 0;
        while (b < BATCH && off < f->alen) {
            const unsigned char *e = f->arena + off;
            uint32_t kl = mr__load32(e + f->vstride);
            size_t here = off;
            off += entry_size(f, kl & ~DROPPED);
            if (kl & DROPPED) /* not carried over */
                continue;
            hs[b] = mr__hash(e + f->vstride + ENTRY_HDR, kl);
            at[b] = here / 8 + 1;
            __builtin_prefetch(&ns[hs[b] & nmask], 1);
            b++;
        }
        for (int i = 0; i < b; i++) {
            size_t j = hs[i] & nmask;
            while (ns[j])
                j = (j + 1) & nmask;
            ns[j] = (hs[i] & 0xffffffff00000000ULL) | at[i];
        }
        n += (size_t)b;
    }
    f->slots = ns;
    f->mask = nmask;
    f->count = n;
}

static void grow_slots(mr_fold *f)
{
    rebuild_slots(f, f->mask * 2 + 1);
}

/* Appends key's entry with value as its accumulator and claims slot i
 * (empty). Out of line: new keys are the rare case. */
__attribute__((noinline)) static void
insert_new(mr_fold *f, mr_bytes key, uint64_t tag, size_t i, const void *value)
{
    size_t need = entry_size(f, key.len);
    if (f->acap - f->alen < need) {
        size_t cap = f->acap ? f->acap : 65536;
        while (cap - f->alen < need)
            cap *= 2;
        f->arena = mr_bigmem_grow(f->arena, f->acap, cap);
        f->acap = cap;
    }
    g_assert(f->alen / 8 + 1 < 0xffffffffu); /* 32 GiB per table */
    unsigned char *e = f->arena + f->alen;
    memcpy(e, value, f->vsize);
    uint32_t kl = (uint32_t)key.len;
    memcpy(e + f->vstride, &kl, 4);
    memcpy(e + f->vstride + ENTRY_HDR, key.ptr, key.len);
    f->slots[i] = tag | (f->alen / 8 + 1);
    f->alen += need;
    if (over_load(++f->count, f->mask + 1))
        grow_slots(f);
    if ((f->limit_bytes &&
         f->alen + (f->mask + 1) * sizeof(uint64_t) > f->limit_bytes) ||
        (f->limit_count && f->count >= f->limit_count))
        f->over = 1;
}

/* Folds value into key's accumulator, or makes the entry. vstride and
 * sum are f->vstride and f->sum_u64, passed so that mr__fold_add's count
 * path can pass constants (see fold_add).
 * Inlined into mr__fold_add, with the new-key path out of line, so that
 * the common add (its key is there) makes no call (docs/performance.md,
 * "The fold table"). */
static inline __attribute__((always_inline)) void
add_now(mr_fold *f, mr_bytes key, uint64_t h, const void *value, size_t vstride,
        int sum)
{
    uint64_t tag = h & 0xffffffff00000000ULL;
    size_t i = h & f->mask;
    for (;;) {
        uint64_t s = f->slots[i];
        if (!s)
            break;
        if ((s & 0xffffffff00000000ULL) == tag) {
            unsigned char *e = f->arena + ((s & 0xffffffffu) - 1) * 8;
            if (mr__load32(e + vstride) == key.len &&
                mr__small_eq(e + vstride + ENTRY_HDR, key.ptr, key.len)) {
                if (sum) /* OPTIMIZATION: no call (mr_fold_sum_u64) */
                    sum_u64(e, value);
                else
                    f->fold(e, value);
                return;
            }
        }
        i = (i + 1) & f->mask;
    }
    insert_new(f, key, tag, i, value);
}

/* Does the parked add that has waited longest; vstride and sum as for
 * add_now. */
static inline __attribute__((always_inline)) void
ring_pop(mr_fold *f, size_t vstride, int sum)
{
    mr_fold_pend *p = &f->ring[f->rhead];
    add_now(f, mr_mem(p->key, p->klen), p->hash, p->val, vstride, sum);
    f->rhead = (f->rhead + 1) % MR_FOLD_RING;
    f->rcount--;
}

void mr__fold_flush(mr_fold *f)
{
    while (f->rcount)
        ring_pop(f, f->vstride, f->sum_u64);
}

/* Long keys and large values skip the ring. */
__attribute__((noinline)) static void add_unparked(mr_fold *f, mr_bytes key,
                                                   const void *value)
{
    add_now(f, key, mr__hash(key.ptr, key.len), value, f->vstride,
            f->sum_u64);
}

/* Parks an add in the ring (or does it now, for a long key or value).
 * vsize, vstride and sum are f's own, passed as constants by the count
 * path of mr__fold_add. */
static inline __attribute__((always_inline)) int
fold_add(mr_fold *f, mr_bytes key, const void *value, size_t vsize,
         size_t vstride, int sum)
{
    if (key.len > MR_FOLD_RING_KEY || vsize > MR_FOLD_RING_VAL) {
        add_unparked(f, key, value);
        return MR_OK;
    }
    uint64_t h = mr__hash(key.ptr, key.len);
    __builtin_prefetch(&f->slots[h & f->mask]);
    /* Once the ring is full, the oldest add is done and the new one takes
     * its place. */
    if (f->rcount == MR_FOLD_RING)
        ring_pop(f, vstride, sum);
    mr_fold_pend *p = &f->ring[(f->rhead + f->rcount++) % MR_FOLD_RING];
    p->hash = h;
    p->klen = (uint32_t)key.len;
    mr__small_copy(p->key, key.ptr, key.len);
    if (vsize == 8) /* OPTIMIZATION: 8-byte values in the general copy too */
        memcpy(p->val, value, 8);
    else
        memcpy(p->val, value, vsize);
    /* The add halfway through the ring: its slot is in cache by now, so
     * fetch the entry it points to (a tag match is likely a hit), both
     * ends. If the entry is another key's, the end may lie past the arena:
     * a prefetch never faults. */
    if (f->rcount > MR_FOLD_RING / 2) {
        const mr_fold_pend *q =
            &f->ring[(f->rhead + f->rcount - 1 - MR_FOLD_RING / 2) %
                     MR_FOLD_RING];
        uint64_t s = f->slots[q->hash & f->mask];
        if (s) {
            const unsigned char *e = f->arena + ((s & 0xffffffffu) - 1) * 8;
            __builtin_prefetch(e);
            __builtin_prefetch(e + vstride + ENTRY_HDR + q->klen - 1);
        }
    }
    return MR_OK;
}

__attribute__((noinline)) static int
fold_add_any(mr_fold *f, mr_bytes key, const void *value)
{
    return fold_add(f, key, value, f->vsize, f->vstride, 0);
}

/* Counts and u64 sums (mr_fold_sum_u64, the fold of word count) get their
 * own copy of the add, compiled with the value size, stride and fold as
 * constants: offsets fold into addressing, the value copy is one move, the
 * fold an add with no test (docs/performance.md, "The fold table"). Every
 * other fold takes the general copy. */
int mr__fold_add(mr_fold *f, mr_bytes key, const void *value)
{
    if (f->sum_u64)
        return fold_add(f, key, value, 8, 8, 1);
    return fold_add_any(f, key, value);
}

int mr__fold_next(const mr_fold *f, size_t *pos, mr_bytes *key, void **acc)
{
    g_assert(f->rcount == 0); /* readers flush first */
    for (;;) {
        if (*pos >= f->alen)
            return 0;
        unsigned char *e = f->arena + *pos;
        uint32_t kl = mr__load32(e + f->vstride);
        *pos += entry_size(f, kl & ~DROPPED);
        if (kl & DROPPED)
            continue;
        *acc = e;
        *key = (mr_bytes){e + f->vstride + ENTRY_HDR, kl};
        return 1;
    }
}

void mr__fold_drop(mr_fold *f, mr_bytes key)
{
    unsigned char *kl = (unsigned char *)key.ptr - ENTRY_HDR;
    g_assert(kl >= f->arena && kl < f->arena + f->alen);
    uint32_t v = mr__load32(kl) | DROPPED;
    memcpy(kl, &v, 4);
}

size_t mr__fold_bytes(const mr_fold *f)
{
    return f->acap - f->released +
           (f->slots ? (f->mask + 1) * sizeof(uint64_t) : 0);
}

void mr__fold_seal(mr_fold *f)
{
    mr__fold_flush(f);
    mr_bigmem_free(f->slots, (f->mask + 1) * sizeof(uint64_t));
    f->slots = NULL;
}

void mr__fold_release(mr_fold *f, size_t pos)
{
    g_assert(!f->slots);
    if (pos >= f->alen)
        f->released = mr_bigmem_release(f->arena, f->acap, f->released, pos);
    else
        mr_bigmem_release_behind(f->arena, f->acap, 0, pos, &f->released);
}

int mr__fold_take(mr_fold *f, mr_fold_take_fn *take, void *arg)
{
    mr__fold_flush(f);
    /* Rebuilt at the end: their memory goes first. */
    mr_bigmem_free(f->slots, (f->mask + 1) * sizeof(uint64_t));
    f->slots = NULL;
    size_t to = 0, n = 0, freed = 0;
    int rc = MR_OK;
    for (size_t off = 0; off < f->alen;) {
        unsigned char *e = f->arena + off;
        uint32_t kl = mr__load32(e + f->vstride);
        size_t sz = entry_size(f, kl & ~DROPPED);
        int gone = (kl & DROPPED) != 0;
        if (!gone && take && rc == MR_OK)
            rc = take(arg, (mr_bytes){e + f->vstride + ENTRY_HDR, kl}, e,
                      &gone);
        if (!gone) {
            if (to != off)
                memmove(f->arena + to, e, sz);
            to += sz;
            n++;
        }
        off += sz;
        /* Read and moved down: what lies between goes back now, so that
         * the table and what was taken from it are held about once. */
        mr_bigmem_release_behind(f->arena, f->acap, to, off, &freed);
    }
    f->alen = to;
    mr_bigmem_release(f->arena, f->acap, f->alen, f->acap);
    size_t slots = 1024;
    while (over_load(n, slots))
        slots *= 2;
    rebuild_slots(f, slots - 1);
    return rc;
}

void mr__fold_compact(mr_fold *f)
{
    (void)mr__fold_take(f, NULL, NULL);
}
