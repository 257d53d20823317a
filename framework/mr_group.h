/* mr_group.h -- PRIVATE to the framework: records grouped by key, and
 * the mr_values iterator (mr_group.c). Combine and reduce use it.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_GROUP_H
#define MR_GROUP_H

#include "mr_kvbuf.h"

/* Sorts the records of one or more runs by (key, task, position) so that
 * the values of a key arrive in task order whatever rank ran which task.
 * The index holds record addresses, so the runs need not be one buffer
 * (the shuffle leaves two: the rank's own pairs and what arrived). */
typedef struct mr_group {
    const unsigned char **recs;
    size_t n;
} mr_group;

void mr__group_build(mr_group *g, const mr_kvbuf *runs, int nruns);
void mr__group_fini(mr_group *g);

struct mr_values {
    const unsigned char *const *recs; /* NULL: a single value in `one` */
    size_t i, end;
    mr_bytes one;
    int one_left;
    int (*pull)(void *src, mr_bytes *value); /* set: values come from here */
    void *src;
};

/* The next group from *pos (start at 0): its key, its values in task
 * order, and the task of its first value, the lowest (task may be NULL).
 * Returns 0 after the last. Borrowed: valid until mr__group_fini. */
int mr__group_next(const mr_group *g, size_t *pos, mr_bytes *key,
                   mr_values *values, uint32_t *task);

#endif /* MR_GROUP_H */
