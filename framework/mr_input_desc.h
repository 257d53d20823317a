/* mr_input_desc.h -- private to the input layer: the task descriptor codec.
 *
 * A map task of the input layer is a byte string (the `desc` of
 * mr_task_add) that lists file entries: a path, a byte range and how to
 * read it. The planner (mr_input_plan.c) encodes it, the reader
 * (mr_input_read.c) and mr_input_describe() decode it; this codec
 * (mr_input_desc.c) is the one place that knows the format, so jobs and
 * the public header see only an opaque mr_bytes.
 *
 * The input layer's objects (plan, reader) keep the message of their last
 * failure the same way, through mr__input_fail(), declared here because
 * every file of the layer uses it.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_INPUT_DESC_H
#define MR_INPUT_DESC_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

#include "mr/mr_job.h"

/* Entry flags. */
#define MR__DESC_GZIP 0x01u /* the file is gzip (or zlib) data */
/* The range ends where the file ended when it was planned, so reading
 * finds more bytes only if the file grew. */
#define MR__DESC_TAIL 0x80u

/* One entry; `path` is borrowed (see the functions). */
typedef struct mr__desc_entry {
    const char *path;
    unsigned flags; /* MR__DESC_* */
    uint64_t off, len;
} mr__desc_entry;

/* ---------------- encoding ---------------- */

/* A descriptor under construction; zero-initialise it. */
typedef struct mr__desc_writer {
    GByteArray *entries;
    size_t count;
    const char *prev; /* the last entry's path (borrowed) */
} mr__desc_writer;

/* Appends an entry. Borrowed: e->path must stay valid until the next add
 * or mr__desc_finish(). */
void mr__desc_add(mr__desc_writer *w, const mr__desc_entry *e);
/* The descriptor of the entries added (caller owns it; free with
 * g_byte_array_unref()), or NULL if there were none. Resets the writer. */
GByteArray *mr__desc_finish(mr__desc_writer *w);

/* ---------------- decoding ---------------- */

/* A cursor over a descriptor's entries. */
typedef struct mr__desc_cursor {
    const unsigned char *p, *end;
    uint64_t left; /* entries not yet read */
    GString *path; /* the last entry's path (owned; made by _open) */
} mr__desc_cursor;

/* Starts decoding `task` (borrowed: it must outlive the cursor's use).
 * Zero-initialise the cursor before its first open; it may be opened
 * again (it keeps its path buffer). Returns 0, or -1 if the header is
 * malformed. mr__desc_cursor_fini() frees it, whatever open returned. */
int mr__desc_open(mr__desc_cursor *c, mr_bytes task);
/* The next entry: returns 1 and fills *e (e->path borrowed until the next
 * call), 0 after the last, -1 if malformed (and then 0 for ever after). */
int mr__desc_next(mr__desc_cursor *c, mr__desc_entry *e);
void mr__desc_cursor_fini(mr__desc_cursor *c);

/* ---------------- the layer's error channel ---------------- */

/* Replaces *msg (owned; g_free) with the formatted message and returns
 * status, so the idiom is `return mr__input_fail(&r->error, ...)`. Jobs
 * read it through mr_input_plan_error()/mr_input_reader_error(), or get
 * it through mr_error() from mr_input_split() and mr_input_each(). */
int mr__input_fail(char **msg, int status, const char *fmt, ...)
    MR_PRINTF(3, 4);

#endif /* MR_INPUT_DESC_H */
