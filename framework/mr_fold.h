/* mr_fold.h -- PRIVATE to the framework: the fold-at-emit accumulator table
 * (mr_fold.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_FOLD_H
#define MR_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "mr/mr_job.h"

#define MR_FOLD_RING 16      /* adds in flight (prefetch distance) */
#define MR_FOLD_RING_KEY 48  /* longer keys bypass the ring */
#define MR_FOLD_RING_VAL 16  /* so do larger values */

typedef struct mr_fold_pend {
    uint64_t hash;
    uint32_t klen;
    unsigned char key[MR_FOLD_RING_KEY];
    unsigned char val[MR_FOLD_RING_VAL];
} mr_fold_pend;

typedef struct mr_fold {
    size_t vsize, vstride; /* value size, and rounded up to 8 */
    mr_fold_fn *fold;
    int sum_u64;     /* fold is mr_fold_sum_u64: added in line */
    uint64_t *slots; /* (hash high 32 bits) << 32 | (entry offset / 8 + 1) */
    size_t mask, count;
    unsigned char *arena; /* entries: [acc vstride][u32 klen][key][pad 8] */
    size_t alen, acap;
    size_t released; /* the arena's bytes before this went back (release) */
    mr_fold_pend ring[MR_FOLD_RING]; /* adds waiting for their prefetch */
    unsigned rhead, rcount;
    size_t limit_bytes, limit_count; /* 0: none; past either, over is set */
    int over; /* the table reached its share of the budget: spill it */
} mr_fold;

void mr__fold_init(mr_fold *f, size_t vsize, mr_fold_fn *fold);
void mr__fold_fini(mr_fold *f);
/* Folds value into key's accumulator. The add may be deferred (see
 * mr_combine.c): call mr__fold_flush before reading the table. */
int mr__fold_add(mr_fold *f, mr_bytes key, const void *value); /* MR_OK */
void mr__fold_flush(mr_fold *f);
/* Iterates entries in insertion order: start with *pos = 0; returns 0 at
 * the end. Borrowed: valid until the next add or fini. Flush first. */
int mr__fold_next(const mr_fold *f, size_t *pos, mr_bytes *key, void **acc);
/* Drops the entry whose key mr__fold_next just returned: iteration skips
 * it from then on, and it never matches an add again (an add of the same
 * key makes a new entry). Its memory stays until fini. */
void mr__fold_drop(mr_fold *f, mr_bytes key);
size_t mr__fold_bytes(const mr_fold *f);
/* Removes the dropped entries: the others move down in the arena (their
 * order kept), the memory past them goes back to the system, and the
 * slots are rebuilt, as few as the remaining keys need. */
void mr__fold_compact(mr_fold *f);
/* Called by mr__fold_take on each entry in order: sets *taken when the
 * entry leaves the table (the callee has copied what it needs). */
typedef int mr_fold_take_fn(void *arg, mr_bytes key, const void *acc,
                            int *taken);
/* Compacts the table as mr__fold_compact does, in the same pass taking
 * out the entries take() claims; the memory between the entries kept and
 * those not yet read goes back as the pass goes, and the slots are freed
 * first. After a failure of take (its result is returned) the remaining
 * entries stay. mr__fold_compact is mr__fold_take with take NULL. */
int mr__fold_take(mr_fold *f, mr_fold_take_fn *take, void *arg);
/* After the last add: flushes and frees the slots. The entries can still
 * be read with mr__fold_next, no longer looked up or added to. */
void mr__fold_seal(mr_fold *f);
/* A sealed table's entries before pos (from mr__fold_next) will not be
 * read again: their memory goes back to the system, a few MiB at a time,
 * so that a reader copying the table out holds it about once, not twice. */
void mr__fold_release(mr_fold *f, size_t pos);

#endif /* MR_FOLD_H */
