/* mr_input_desc.c -- the input layer's task descriptor: encode, decode,
 * describe.
 *
 * A descriptor is a compact byte string, so that ten thousand small files
 * grouped into a few dozen tasks do not blow up the task list that split
 * broadcasts:
 *
 *   u8 version (1), varint count, then per entry:
 *   u8 flags, varint shared, varint suffix_len, suffix bytes,
 *   varint offset, varint length
 *
 * where the path is the previous entry's first `shared` bytes followed by
 * the suffix (files grouped in path order share long prefixes). Varints
 * are LEB128. Decoding checks every length against the bytes left and
 * refuses a NUL inside a path, so a corrupt descriptor is an error, never
 * a read out of bounds (tests/fuzz/fuzz_input.c). The contract is in
 * mr_input_desc.h.
 */
/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mr/mr_input.h"
#include "mr_input_desc.h"

#define DESC_VERSION 1

int mr__input_fail(char **msg, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_free(*msg);
    *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return status;
}

/* ---------------- encoding ---------------- */

static void put_varint(GByteArray *b, uint64_t v)
{
    unsigned char tmp[10];
    size_t n = 0;
    do {
        tmp[n] = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v)
            tmp[n] |= 0x80;
        n++;
    } while (v);
    g_byte_array_append(b, tmp, (guint)n);
}

void mr__desc_add(mr__desc_writer *w, const mr__desc_entry *e)
{
    if (!w->entries)
        w->entries = g_byte_array_new();
    size_t shared = 0;
    if (w->prev)
        while (w->prev[shared] && w->prev[shared] == e->path[shared])
            shared++;
    size_t plen = strlen(e->path);
    unsigned char flags = (unsigned char)e->flags;
    g_byte_array_append(w->entries, &flags, 1);
    put_varint(w->entries, shared);
    put_varint(w->entries, plen - shared);
    g_byte_array_append(w->entries, (const guint8 *)e->path + shared,
                        (guint)(plen - shared));
    put_varint(w->entries, e->off);
    put_varint(w->entries, e->len);
    w->prev = e->path;
    w->count++;
}

GByteArray *mr__desc_finish(mr__desc_writer *w)
{
    if (!w->count)
        return NULL;
    GByteArray *d = g_byte_array_new();
    unsigned char v = DESC_VERSION;
    g_byte_array_append(d, &v, 1);
    put_varint(d, w->count);
    g_byte_array_append(d, w->entries->data, w->entries->len);
    g_byte_array_unref(w->entries);
    *w = (mr__desc_writer){0};
    return d;
}

/* ---------------- decoding ---------------- */

static int get_varint(const unsigned char **p, const unsigned char *end,
                      uint64_t *v)
{
    uint64_t x = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end)
            return -1;
        unsigned char c = *(*p)++;
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return 0;
        }
    }
    return -1;
}

int mr__desc_open(mr__desc_cursor *c, mr_bytes task)
{
    if (!c->path)
        c->path = g_string_new(NULL);
    g_string_truncate(c->path, 0);
    c->p = task.ptr;
    c->end = c->p + task.len;
    c->left = 0;
    if (task.len < 1 || *c->p != DESC_VERSION)
        return -1;
    c->p++;
    return get_varint(&c->p, c->end, &c->left);
}

int mr__desc_next(mr__desc_cursor *c, mr__desc_entry *e)
{
    uint64_t left = c->left;
    if (!left)
        return 0;
    c->left = 0; /* until the entry proves whole */
    uint64_t shared, slen;
    const unsigned char *p = c->p, *end = c->end;
    if (p >= end)
        return -1;
    e->flags = *p++;
    if (get_varint(&p, end, &shared) || get_varint(&p, end, &slen) ||
        shared > c->path->len || slen > (uint64_t)(end - p))
        return -1;
    g_string_truncate(c->path, (gsize)shared);
    g_string_append_len(c->path, (const char *)p, (gssize)slen);
    p += slen;
    if (get_varint(&p, end, &e->off) || get_varint(&p, end, &e->len) ||
        memchr(c->path->str, 0, c->path->len))
        return -1;
    e->path = c->path->str;
    c->p = p;
    c->left = left - 1;
    return 1;
}

void mr__desc_cursor_fini(mr__desc_cursor *c)
{
    if (c->path)
        g_string_free(c->path, TRUE);
    *c = (mr__desc_cursor){0};
}

/* ---------------- describing ---------------- */

void mr_input_describe(mr_bytes task, char *buf, size_t size)
{
    mr__desc_cursor c = {0};
    mr__desc_entry e = {0};
    char *first = NULL;
    uint64_t n = 0;
    int ok = mr__desc_open(&c, task) == 0 && c.left > 0, got;
    while (ok && (got = mr__desc_next(&c, &e)) != 0) {
        ok = got > 0;
        if (ok && n++ == 0)
            first = g_strdup(e.path);
    }
    if (!ok)
        snprintf(buf, size, "(malformed input task)");
    else if (n == 1)
        snprintf(buf, size, "%s bytes %llu-%llu", e.path,
                 (unsigned long long)e.off,
                 (unsigned long long)(e.off + e.len));
    else
        snprintf(buf, size, "%s .. %s (%llu files)", first, e.path,
                 (unsigned long long)n);
    g_free(first);
    mr__desc_cursor_fini(&c);
}
