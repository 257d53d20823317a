/* py_text.h -- the python job's canonical key/value encoding, C side.
 *
 * Every key and value a script hands to the engine is turned into bytes by
 * py_codec.c; this header defines that encoding and the pure-C half that
 * reads it back without an interpreter (for the default output, task
 * descriptions and the fuzz harness). An encoded item is a tag byte and a
 * payload:
 *
 *   0x05 None       (no payload)
 *   0x10 int < -2^63    ~len (u32 BE), ~magnitude (BE, minimal)
 *   0x11 int64      8 bytes BE of (n XOR 2^63)
 *   0x12 int >= 2^63    len (u32 BE), magnitude (BE, minimal)
 *   0x20 float      8 bytes BE: IEEE bits, all flipped if negative, else
 *                   the sign bit flipped (keys: -0.0 is 0.0, one NaN)
 *   0x30 bytes      top level: the raw bytes; nested: 0x00 -> 0x00 0xFF,
 *   0x40 str        then a 0x00 terminator (str is UTF-8, surrogateescape)
 *   0x50 tuple      the elements (nested form), then 0x00
 *   0x60 ndarray    (values only) u8 n, dtype.str (n bytes, e.g. "<f8"),
 *                   u8 ndim, ndim x u64 BE dims, the C-order data
 *
 * Why this shape: the bytes depend only on the value (never on hash() or
 * pickle, which change between versions and runs), so every rank hashes a
 * key to the same partition; and comparing two encodings bytewise orders
 * them as Python orders values of one type (numbers numerically, strings
 * by code point, tuples element by element, a prefix first). The engine's
 * default bytewise order and a script's `order` sort key (encoded the same
 * way) therefore need no call into Python while sorting. Different types
 * order by tag: None < int < float < bytes < str < tuple.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_PY_TEXT_H
#define MR_PY_TEXT_H

#include <stddef.h>
#include <stdint.h>

enum {
    PYC_NONE = 0x05,
    PYC_NEGBIG = 0x10,
    PYC_INT = 0x11,
    PYC_POSBIG = 0x12,
    PYC_FLOAT = 0x20,
    PYC_BYTES = 0x30,
    PYC_STR = 0x40,
    PYC_TUPLE = 0x50,
    PYC_ARRAY = 0x60,
};

#define PYC_MAX_DIMS 32
#define PYC_MAX_DEPTH 64 /* tuples nested deeper are refused */

/* Fold values: 16 bytes, fixed, so the engine can fold at emit. */
enum { PYC_FOLD_NONE, PYC_FOLD_SUM, PYC_FOLD_MIN, PYC_FOLD_MAX };
#define PYC_FOLD_SIZE 16
enum { PYC_FV_INT = 1, PYC_FV_FLOAT = 2 }; /* byte 0 of a min/max value */

/* A growable byte buffer; zero-initialise, free with pyc_buf_fini(). */
typedef struct pyc_buf {
    unsigned char *data;
    size_t len, cap;
} pyc_buf;

void pyc_buf_grow(pyc_buf *b, size_t more);
void pyc_buf_fini(pyc_buf *b);
static inline void pyc_buf_put(pyc_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len < n)
        pyc_buf_grow(b, n);
    if (n) {
        unsigned char *d = b->data + b->len;
        for (size_t i = 0; i < n; i++) /* short puts: no memcpy call */
            d[i] = ((const unsigned char *)p)[i];
    }
    b->len += n;
}
void pyc_buf_putc(pyc_buf *b, unsigned char c);

/* One item as read by pyc_read (borrowed pointers into the input). */
typedef struct pyc_item {
    int tag;
    int64_t i;              /* PYC_INT */
    double d;               /* PYC_FLOAT */
    const unsigned char *p; /* bytes/str payload, big-int magnitude, array
                               data */
    size_t n;               /* its length in bytes (escaped form if nested) */
    int escaped;            /* nested bytes/str: p holds 0x00 0xFF escapes */
    int negative;           /* PYC_NEGBIG: p is the complemented magnitude */
    char dtype[16];         /* PYC_ARRAY: NUL-terminated dtype.str */
    int kind, itemsize;     /* PYC_ARRAY: 'b','i','u','f','c'; bytes */
    int ndim;
    uint64_t shape[PYC_MAX_DIMS];
} pyc_item;

/* Reads the item at data[*pos]. `top` says the item is the whole rest of
 * the buffer (top-level bytes/str run to the end). A PYC_TUPLE item is
 * only its tag: its elements follow, read with top = 0 until
 * pyc_tuple_end() says the terminator is next. Returns 0, or -1 if the
 * bytes are not a valid encoding. */
int pyc_read(const unsigned char *data, size_t len, size_t *pos, int top,
             pyc_item *it);
/* 1 (and steps over it) if data[*pos] is a tuple's terminator. */
int pyc_tuple_end(const unsigned char *data, size_t len, size_t *pos);
/* Appends the payload of a bytes/str item, escapes removed. */
void pyc_unescape(const pyc_item *it, pyc_buf *out);
/* Skips one complete item (tuples included). 0 or -1. */
int pyc_skip(const unsigned char *data, size_t len, size_t *pos, int depth);
/* Checks that data[0..len) is exactly one valid top-level item. */
int pyc_valid(const unsigned char *data, size_t len);

/* Appends the default text of an encoded item: str and bytes as they are,
 * numbers as Python's repr, None as "None", tuple elements joined by tabs,
 * array elements by spaces. 0, or -1 if malformed. */
int pyc_text(const unsigned char *data, size_t len, pyc_buf *out);
/* Appends the text of a 16-byte fold value of the given PYC_FOLD_*. */
void pyc_fold_text(int fold, const unsigned char *acc, pyc_buf *out);
/* Appends repr(x) as Python 3 prints it (shortest round-trip digits). */
void pyc_put_double(pyc_buf *out, double x);

/* Fold functions over 16-byte values (struct mr_job's fold). The sum is
 * a signed 128-bit integer (little-endian two's complement), exact for
 * any number of 64-bit addends below 2^64; min and max keep a tag byte
 * and order ints and floats by value (ties: the int first). */
void pyc_fold_sum(void *acc, const void *value);
void pyc_fold_min(void *acc, const void *value);
void pyc_fold_max(void *acc, const void *value);

/* Big-endian helpers. */
static inline uint64_t pyc_get_be64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int k = 0; k < 8; k++)
        v = v << 8 | p[k];
    return v;
}
static inline void pyc_put_be64(unsigned char *p, uint64_t v)
{
    for (int k = 7; k >= 0; k--, v >>= 8)
        p[k] = (unsigned char)v;
}

#endif /* MR_PY_TEXT_H */
