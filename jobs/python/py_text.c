/* py_text.c -- reading the python job's key/value encoding without an
 * interpreter: validation, the default output text, fold functions.
 *
 * The encoding is defined in py_text.h. Everything here works on borrowed
 * bytes and never trusts them: lengths are checked before every read, so
 * a malformed encoding is an error (-1), never a read past the end (see
 * tests/fuzz/fuzz_pytext.c). Output text follows Python where it can:
 * numbers print as repr() prints them, so an int or float key looks the
 * same whether the script prints it or the engine does.
 */
/* SPDX-License-Identifier: MIT */
#include "py_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef __int128 i128;

void pyc_buf_grow(pyc_buf *b, size_t more)
{
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len < more)
        cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d)
        abort(); /* out of memory is fatal (STYLE E5.4) */
    b->data = d;
    b->cap = cap;
}

void pyc_buf_putc(pyc_buf *b, unsigned char c)
{
    if (b->len == b->cap)
        pyc_buf_grow(b, 1);
    b->data[b->len++] = c;
}

void pyc_buf_fini(pyc_buf *b)
{
    free(b->data);
    *b = (pyc_buf){0};
}

/* ---------------- reading ---------------- */

static int read_array_header(const unsigned char *d, size_t len, size_t *pos,
                             pyc_item *it)
{
    size_t p = *pos;
    if (p >= len)
        return -1;
    size_t n = d[p++];
    if (n < 3 || n > 15 || len - p < n)
        return -1;
    memcpy(it->dtype, d + p, n);
    it->dtype[n] = '\0';
    p += n;
    if (!strchr("<>|=", it->dtype[0]) || !strchr("biufc", it->dtype[1]))
        return -1;
    long size = 0;
    for (size_t k = 2; k < n; k++) {
        if (it->dtype[k] < '0' || it->dtype[k] > '9')
            return -1;
        size = size * 10 + (it->dtype[k] - '0');
    }
    if (size < 1 || size > 16)
        return -1;
    it->kind = it->dtype[1];
    it->itemsize = (int)size;
    if (p >= len)
        return -1;
    it->ndim = d[p++];
    if (it->ndim > PYC_MAX_DIMS || len - p < (size_t)it->ndim * 8)
        return -1;
    uint64_t count = 1;
    for (int k = 0; k < it->ndim; k++) {
        it->shape[k] = pyc_get_be64(d + p);
        p += 8;
        if (it->shape[k] && count > UINT64_MAX / it->shape[k])
            return -1;
        count *= it->shape[k];
    }
    if (count > (len - p) / (uint64_t)size)
        return -1;
    it->p = d + p;
    it->n = (size_t)count * (size_t)size;
    *pos = p + it->n;
    return 0;
}

int pyc_read(const unsigned char *d, size_t len, size_t *pos, int top,
             pyc_item *it)
{
    size_t p = *pos;
    if (p >= len)
        return -1;
    memset(it, 0, offsetof(pyc_item, dtype));
    it->tag = d[p++];
    switch (it->tag) {
    case PYC_NONE:
    case PYC_TUPLE:
        break;
    case PYC_INT:
        if (len - p < 8)
            return -1;
        it->i = (int64_t)(pyc_get_be64(d + p) ^ (UINT64_C(1) << 63));
        p += 8;
        break;
    case PYC_FLOAT: {
        if (len - p < 8)
            return -1;
        uint64_t bits = pyc_get_be64(d + p);
        bits = (bits >> 63) ? bits ^ (UINT64_C(1) << 63) : ~bits;
        memcpy(&it->d, &bits, 8);
        p += 8;
        break;
    }
    case PYC_NEGBIG:
    case PYC_POSBIG: {
        if (len - p < 4)
            return -1;
        uint32_t n = (uint32_t)d[p] << 24 | (uint32_t)d[p + 1] << 16 |
                     (uint32_t)d[p + 2] << 8 | d[p + 3];
        p += 4;
        if (it->tag == PYC_NEGBIG)
            n = ~n;
        if (n < 8 || len - p < n) /* smaller ones are PYC_INT */
            return -1;
        it->negative = it->tag == PYC_NEGBIG;
        it->p = d + p;
        it->n = n;
        p += n;
        break;
    }
    case PYC_BYTES:
    case PYC_STR:
        it->p = d + p;
        if (top) {
            it->n = len - p;
            p = len;
            break;
        }
        it->escaped = 1;
        for (;;) { /* the terminator is a 0x00 not followed by 0xFF */
            const unsigned char *z = memchr(d + p, 0, len - p);
            if (!z)
                return -1;
            p = (size_t)(z - d) + 1;
            if (p < len && d[p] == 0xFF) {
                p++;
                continue;
            }
            it->n = (size_t)(z - it->p);
            break;
        }
        break;
    case PYC_ARRAY:
        *pos = p;
        return read_array_header(d, len, pos, it);
    default:
        return -1;
    }
    *pos = p;
    return 0;
}

int pyc_tuple_end(const unsigned char *d, size_t len, size_t *pos)
{
    if (*pos < len && d[*pos] == 0) {
        (*pos)++;
        return 1;
    }
    return 0;
}

void pyc_unescape(const pyc_item *it, pyc_buf *out)
{
    if (!it->escaped) {
        pyc_buf_put(out, it->p, it->n);
        return;
    }
    for (size_t k = 0; k < it->n; k++) {
        pyc_buf_putc(out, it->p[k]);
        if (it->p[k] == 0)
            k++; /* the 0xFF of an escaped 0x00 */
    }
}

int pyc_skip(const unsigned char *d, size_t len, size_t *pos, int depth)
{
    pyc_item it;
    if (depth > PYC_MAX_DEPTH || pyc_read(d, len, pos, 0, &it) != 0)
        return -1;
    if (it.tag == PYC_TUPLE)
        while (!pyc_tuple_end(d, len, pos))
            if (pyc_skip(d, len, pos, depth + 1) != 0)
                return -1;
    return 0;
}

int pyc_valid(const unsigned char *d, size_t len)
{
    size_t pos = 0;
    pyc_item it;
    if (len == 0 || pyc_read(d, len, &pos, 1, &it) != 0)
        return -1;
    if (it.tag == PYC_TUPLE)
        while (!pyc_tuple_end(d, len, &pos))
            if (pyc_skip(d, len, &pos, 1) != 0)
                return -1;
    return pos == len ? 0 : -1;
}

/* ---------------- text ---------------- */

void pyc_put_double(pyc_buf *out, double x)
{
    char buf[40], digits[24];
    if (isnan(x)) {
        pyc_buf_put(out, "nan", 3);
        return;
    }
    if (isinf(x)) {
        if (x < 0)
            pyc_buf_putc(out, '-');
        pyc_buf_put(out, "inf", 3);
        return;
    }
    if (signbit(x))
        pyc_buf_putc(out, '-');
    x = fabs(x);
    if (x == 0) {
        pyc_buf_put(out, "0.0", 3);
        return;
    }
    /* The shortest %e form that reads back as x: repr's digits. */
    int prec = 1;
    for (; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
        if (strtod(buf, NULL) == x)
            break;
    }
    snprintf(buf, sizeof buf, "%.*e", prec - 1, x);
    size_t nd = 0;
    const char *c = buf;
    for (; *c && *c != 'e'; c++)
        if (*c >= '0' && *c <= '9')
            digits[nd++] = *c;
    int e = atoi(c + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    if (e >= -4 && e < 16) {
        if (e >= 0) {
            for (int k = 0; k <= e; k++)
                pyc_buf_putc(out, (size_t)k < nd ? (unsigned char)digits[k]
                                                 : '0');
            pyc_buf_putc(out, '.');
            if (nd > (size_t)e + 1)
                pyc_buf_put(out, digits + e + 1, nd - (size_t)e - 1);
            else
                pyc_buf_putc(out, '0');
        } else {
            pyc_buf_put(out, "0.", 2);
            for (int k = 0; k < -e - 1; k++)
                pyc_buf_putc(out, '0');
            pyc_buf_put(out, digits, nd);
        }
        return;
    }
    pyc_buf_putc(out, (unsigned char)digits[0]);
    if (nd > 1) {
        pyc_buf_putc(out, '.');
        pyc_buf_put(out, digits + 1, nd - 1);
    }
    int n = snprintf(buf, sizeof buf, "e%c%02d", e < 0 ? '-' : '+',
                     e < 0 ? -e : e);
    pyc_buf_put(out, buf, (size_t)n);
}

static void put_i64(pyc_buf *out, int64_t v)
{
    char buf[24];
    int n = snprintf(buf, sizeof buf, "%lld", (long long)v);
    pyc_buf_put(out, buf, (size_t)n);
}

/* A big magnitude (big-endian bytes) in decimal: schoolbook division by
 * 10^9, quadratic but only for ints beyond 64 bits. */
static void put_big(pyc_buf *out, const unsigned char *p, size_t n,
                    int complemented)
{
    unsigned char *m = malloc(n);
    char *dec = malloc(n * 3 + 2);
    if (!m || !dec)
        abort();
    for (size_t k = 0; k < n; k++)
        m[k] = complemented ? (unsigned char)~p[k] : p[k];
    size_t nd = 0, start = 0;
    while (start < n) {
        uint64_t rem = 0;
        for (size_t k = start; k < n; k++) {
            uint64_t cur = rem << 8 | m[k];
            m[k] = (unsigned char)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        while (start < n && m[start] == 0)
            start++;
        for (int k = 0; k < 9 && (start < n || rem); k++, rem /= 10)
            dec[nd++] = (char)('0' + rem % 10);
    }
    if (nd == 0)
        dec[nd++] = '0';
    if (complemented)
        pyc_buf_putc(out, '-');
    while (nd)
        pyc_buf_putc(out, (unsigned char)dec[--nd]);
    free(m);
    free(dec);
}

static void put_array(pyc_buf *out, const pyc_item *it)
{
    size_t count = it->n / (size_t)it->itemsize;
    int swap = it->dtype[0] == '>';
    for (size_t k = 0; k < count; k++) {
        unsigned char v[16];
        const unsigned char *src = it->p + k * (size_t)it->itemsize;
        for (int b = 0; b < it->itemsize; b++)
            v[b] = swap ? src[it->itemsize - 1 - b] : src[b];
        if (k)
            pyc_buf_putc(out, ' ');
        switch (it->kind) {
        case 'b':
            if (v[0])
                pyc_buf_put(out, "True", 4);
            else
                pyc_buf_put(out, "False", 5);
            break;
        case 'i':
        case 'u': {
            uint64_t u = 0;
            int n = it->itemsize > 8 ? 8 : it->itemsize;
            memcpy(&u, v, (size_t)n); /* little-endian host */
            if (it->kind == 'i' && n < 8 && (u >> (8 * n - 1)) & 1)
                u |= ~UINT64_C(0) << (8 * n);
            if (it->kind == 'u') {
                char buf[24];
                int len = snprintf(buf, sizeof buf, "%llu",
                                   (unsigned long long)u);
                pyc_buf_put(out, buf, (size_t)len);
            } else {
                put_i64(out, (int64_t)u);
            }
            break;
        }
        case 'f':
        case 'c':
            for (int part = 0; part < (it->kind == 'c' ? 2 : 1); part++) {
                int sz = it->kind == 'c' ? it->itemsize / 2 : it->itemsize;
                double d = 0;
                if (sz == 8) {
                    memcpy(&d, v + part * 8, 8);
                } else if (sz == 4) {
                    float f;
                    memcpy(&f, v + part * 4, 4);
                    d = f;
                } else {
                    pyc_buf_putc(out, '?'); /* half, long double */
                    continue;
                }
                if (part)
                    pyc_buf_putc(out, ',');
                pyc_put_double(out, d);
            }
            break;
        }
    }
}

static int text_item(const unsigned char *d, size_t len, size_t *pos,
                     int top, int depth, pyc_buf *out)
{
    pyc_item it;
    if (depth > PYC_MAX_DEPTH || pyc_read(d, len, pos, top, &it) != 0)
        return -1;
    switch (it.tag) {
    case PYC_NONE:
        pyc_buf_put(out, "None", 4);
        break;
    case PYC_INT:
        put_i64(out, it.i);
        break;
    case PYC_NEGBIG:
    case PYC_POSBIG:
        put_big(out, it.p, it.n, it.negative);
        break;
    case PYC_FLOAT:
        pyc_put_double(out, it.d);
        break;
    case PYC_BYTES:
    case PYC_STR:
        pyc_unescape(&it, out);
        break;
    case PYC_ARRAY:
        put_array(out, &it);
        break;
    case PYC_TUPLE:
        for (int first = 1; !pyc_tuple_end(d, len, pos); first = 0) {
            if (!first)
                pyc_buf_putc(out, '\t');
            if (text_item(d, len, pos, 0, depth + 1, out) != 0)
                return -1;
        }
        break;
    }
    return 0;
}

int pyc_text(const unsigned char *d, size_t len, pyc_buf *out)
{
    size_t pos = 0;
    if (text_item(d, len, &pos, 1, 0, out) != 0 || pos != len)
        return -1;
    return 0;
}

/* ---------------- folds ---------------- */

static i128 get_i128(const void *p)
{
    i128 v;
    memcpy(&v, p, sizeof v);
    return v;
}

void pyc_fold_text(int fold, const unsigned char *acc, pyc_buf *out)
{
    if (fold == PYC_FOLD_SUM) {
        i128 v = get_i128(acc);
        unsigned __int128 u = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
        char dec[48];
        int n = 0;
        do {
            dec[n++] = (char)('0' + (int)(u % 10));
            u /= 10;
        } while (u);
        if (v < 0)
            pyc_buf_putc(out, '-');
        while (n)
            pyc_buf_putc(out, (unsigned char)dec[--n]);
        return;
    }
    if (acc[0] == PYC_FV_INT) {
        int64_t i;
        memcpy(&i, acc + 8, 8);
        put_i64(out, i);
    } else {
        double x;
        memcpy(&x, acc + 8, 8);
        pyc_put_double(out, x);
    }
}

void pyc_fold_sum(void *acc, const void *value)
{
    i128 a = get_i128(acc), v = get_i128(value);
    a = (i128)((unsigned __int128)a + (unsigned __int128)v);
    memcpy(acc, &a, sizeof a);
}

/* The total order of min/max values: by value (exactly: long double holds
 * every int64 and double on x86-64), and an int before an equal float. */
static int fv_cmp(const unsigned char *a, const unsigned char *b)
{
    int64_t ai = 0, bi = 0;
    double ad = 0, bd = 0;
    if (a[0] == PYC_FV_INT)
        memcpy(&ai, a + 8, 8);
    else
        memcpy(&ad, a + 8, 8);
    if (b[0] == PYC_FV_INT)
        memcpy(&bi, b + 8, 8);
    else
        memcpy(&bd, b + 8, 8);
    if (a[0] == PYC_FV_INT && b[0] == PYC_FV_INT)
        return (ai > bi) - (ai < bi);
    long double x = a[0] == PYC_FV_INT ? (long double)ai : (long double)ad;
    long double y = b[0] == PYC_FV_INT ? (long double)bi : (long double)bd;
    if (x != y)
        return x < y ? -1 : 1;
    return (a[0] > b[0]) - (a[0] < b[0]); /* PYC_FV_INT < PYC_FV_FLOAT */
}

void pyc_fold_min(void *acc, const void *value)
{
    if (fv_cmp(value, acc) < 0)
        memcpy(acc, value, PYC_FOLD_SIZE);
}

void pyc_fold_max(void *acc, const void *value)
{
    if (fv_cmp(value, acc) > 0)
        memcpy(acc, value, PYC_FOLD_SIZE);
}
