/* py_codec.c -- Python objects to the canonical encoding and back.
 *
 * The hot cases (str, bytes, small int, float) are written straight into
 * the caller's buffer with no temporary objects: a str's UTF-8 form is
 * cached by CPython, so encoding an ASCII word is a tag byte and a copy.
 * NumPy is used through its Python API (no build-time dependency on its
 * headers): arrays are recognised once the script has imported numpy, are
 * stored C-ordered little-endian with dtype.str and shape, and come back
 * as writable arrays (np.frombuffer over a bytearray: one copy).
 */
/* SPDX-License-Identifier: MIT */
#include "py_codec.h"

#include <math.h>
#include <string.h>

static PyObject *np_ndarray, *np_generic, *np_frombuffer;

/* 1 once numpy is in sys.modules (the script imported it): only then can
 * an object be an array, so scripts without NumPy never pay for it. */
static int find_numpy(void)
{
    if (np_ndarray)
        return 1;
    PyObject *mods = PySys_GetObject("modules"); /* borrowed */
    PyObject *np = mods ? PyDict_GetItemString(mods, "numpy") : NULL;
    if (!np)
        return 0;
    np_ndarray = PyObject_GetAttrString(np, "ndarray");
    np_generic = PyObject_GetAttrString(np, "generic");
    np_frombuffer = PyObject_GetAttrString(np, "frombuffer");
    if (!np_ndarray || !np_generic || !np_frombuffer) {
        PyErr_Clear();
        Py_CLEAR(np_ndarray);
        Py_CLEAR(np_generic);
        Py_CLEAR(np_frombuffer);
        return 0;
    }
    return 1;
}

static void put_u32be(pyc_buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    pyc_buf_put(b, x, 4);
}

static void put_escaped(pyc_buf *b, const char *s, Py_ssize_t n)
{
    const char *z;
    while (n > 0 && (z = memchr(s, 0, (size_t)n))) {
        pyc_buf_put(b, s, (size_t)(z - s));
        pyc_buf_put(b, "\0\xff", 2);
        n -= z - s + 1;
        s = z + 1;
    }
    pyc_buf_put(b, s, (size_t)n);
    pyc_buf_putc(b, 0);
}

static int encode_bigint(PyObject *o, pyc_buf *b)
{
    int neg = PyObject_RichCompareBool(o, Py_False, Py_LT); /* o < 0 */
    if (neg < 0)
        return -1;
    PyObject *mag = neg ? PyNumber_Negative(o) : (Py_INCREF(o), o);
    if (!mag)
        return -1;
    size_t nbits = _PyLong_NumBits(mag);
    size_t n = (nbits + 7) / 8;
    PyObject *bytes = PyObject_CallMethod(mag, "to_bytes", "ns", (Py_ssize_t)n,
                                          "big");
    Py_DECREF(mag);
    if (!bytes)
        return -1;
    if (n > 0x7fffffff) {
        Py_DECREF(bytes);
        PyErr_SetString(PyExc_OverflowError, "int too large for a key");
        return -1;
    }
    pyc_buf_putc(b, neg ? PYC_NEGBIG : PYC_POSBIG);
    put_u32be(b, neg ? ~(uint32_t)n : (uint32_t)n);
    const unsigned char *m = (const unsigned char *)PyBytes_AS_STRING(bytes);
    if (neg) {
        for (size_t k = 0; k < n; k++)
            pyc_buf_putc(b, (unsigned char)~m[k]);
    } else {
        pyc_buf_put(b, m, n);
    }
    Py_DECREF(bytes);
    return 0;
}

static void encode_double(pyc_buf *b, double x, int key)
{
    if (key && x == 0)
        x = 0.0; /* -0.0 == 0.0: one key */
    uint64_t bits;
    if (key && isnan(x))
        bits = UINT64_C(0x7ff8000000000000);
    else
        memcpy(&bits, &x, 8);
    bits = (bits >> 63) ? ~bits : bits ^ (UINT64_C(1) << 63);
    unsigned char v[9];
    v[0] = PYC_FLOAT;
    pyc_put_be64(v + 1, bits);
    pyc_buf_put(b, v, 9);
}

static int encode_array(PyObject *o, pyc_buf *b)
{
    int rc = -1;
    Py_buffer view = {0};
    PyObject *a = NULL, *dt = NULL, *ds = NULL, *shape = NULL;
    /* C order, little-endian: one canonical layout for the bytes. */
    dt = PyObject_GetAttrString(o, "dtype");
    PyObject *le = dt ? PyObject_CallMethod(dt, "newbyteorder", "s", "<")
                      : NULL;
    PyObject *args = le ? PyTuple_Pack(1, le) : NULL;
    PyObject *kw = args ? Py_BuildValue("{s:s,s:O}", "order", "C", "copy",
                                        Py_False)
                        : NULL;
    PyObject *astype = kw ? PyObject_GetAttrString(o, "astype") : NULL;
    a = astype ? PyObject_Call(astype, args, kw) : NULL;
    Py_XDECREF(le);
    Py_XDECREF(args);
    Py_XDECREF(kw);
    Py_XDECREF(astype);
    Py_CLEAR(dt);
    if (!a)
        goto out;
    dt = PyObject_GetAttrString(a, "dtype");
    ds = dt ? PyObject_GetAttrString(dt, "str") : NULL;
    shape = PyObject_GetAttrString(a, "shape");
    if (!ds || !shape || !PyUnicode_Check(ds) || !PyTuple_Check(shape))
        goto out;
    Py_ssize_t dn;
    const char *d = PyUnicode_AsUTF8AndSize(ds, &dn);
    if (!d)
        goto out;
    if (dn < 3 || dn > 15 || !strchr("biufc", d[1])) {
        PyErr_Format(PyExc_TypeError,
                     "unsupported NumPy dtype %s (numbers and bools only)",
                     d);
        goto out;
    }
    Py_ssize_t ndim = PyTuple_GET_SIZE(shape);
    if (ndim > PYC_MAX_DIMS) {
        PyErr_SetString(PyExc_TypeError, "array of more than 32 dimensions");
        goto out;
    }
    if (PyObject_GetBuffer(a, &view, PyBUF_C_CONTIGUOUS) != 0)
        goto out;
    pyc_buf_putc(b, PYC_ARRAY);
    pyc_buf_putc(b, (unsigned char)dn);
    pyc_buf_put(b, d, (size_t)dn);
    pyc_buf_putc(b, (unsigned char)ndim);
    for (Py_ssize_t k = 0; k < ndim; k++) {
        unsigned char x[8];
        pyc_put_be64(x, (uint64_t)PyLong_AsSsize_t(PyTuple_GET_ITEM(shape, k)));
        pyc_buf_put(b, x, 8);
    }
    if (b->cap - b->len < (size_t)view.len)
        pyc_buf_grow(b, (size_t)view.len);
    memcpy(b->data + b->len, view.buf, (size_t)view.len);
    b->len += (size_t)view.len;
    rc = 0;
out:
    if (view.obj)
        PyBuffer_Release(&view);
    Py_XDECREF(a);
    Py_XDECREF(dt);
    Py_XDECREF(ds);
    Py_XDECREF(shape);
    return rc;
}

static int encode_depth(PyObject *o, pyc_buf *b, int key, int top, int depth)
{
    if (PyUnicode_CheckExact(o) || PyUnicode_Check(o)) {
        Py_ssize_t n;
        const char *s = PyUnicode_AsUTF8AndSize(o, &n);
        PyObject *tmp = NULL;
        if (!s) { /* lone surrogates: the ones decoding made stay bytes */
            PyErr_Clear();
            tmp = PyUnicode_AsEncodedString(o, "utf-8", "surrogateescape");
            if (!tmp)
                return -1;
            s = PyBytes_AS_STRING(tmp);
            n = PyBytes_GET_SIZE(tmp);
        }
        pyc_buf_putc(b, PYC_STR);
        if (top)
            pyc_buf_put(b, s, (size_t)n);
        else
            put_escaped(b, s, n);
        Py_XDECREF(tmp);
        return 0;
    }
    if (PyBytes_Check(o) || PyByteArray_Check(o)) {
        const char *s = PyBytes_Check(o) ? PyBytes_AS_STRING(o)
                                         : PyByteArray_AS_STRING(o);
        Py_ssize_t n = PyBytes_Check(o) ? PyBytes_GET_SIZE(o)
                                        : PyByteArray_GET_SIZE(o);
        pyc_buf_putc(b, PYC_BYTES);
        if (top)
            pyc_buf_put(b, s, (size_t)n);
        else
            put_escaped(b, s, n);
        return 0;
    }
    if (PyLong_Check(o)) {
        int overflow;
        long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow)
            return encode_bigint(o, b);
        if (v == -1 && PyErr_Occurred())
            return -1;
        unsigned char x[9];
        x[0] = PYC_INT;
        pyc_put_be64(x + 1, (uint64_t)v ^ (UINT64_C(1) << 63));
        pyc_buf_put(b, x, 9);
        return 0;
    }
    if (PyFloat_Check(o)) {
        encode_double(b, PyFloat_AS_DOUBLE(o), key);
        return 0;
    }
    if (PyTuple_Check(o) || PyList_Check(o)) {
        if (depth >= PYC_MAX_DEPTH) {
            PyErr_SetString(PyExc_ValueError, "tuples nested too deep");
            return -1;
        }
        PyObject *seq = PySequence_Fast(o, "");
        if (!seq)
            return -1;
        pyc_buf_putc(b, PYC_TUPLE);
        Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
        for (Py_ssize_t k = 0; k < n; k++)
            if (encode_depth(PySequence_Fast_GET_ITEM(seq, k), b, key, 0,
                             depth + 1) != 0) {
                Py_DECREF(seq);
                return -1;
            }
        Py_DECREF(seq);
        pyc_buf_putc(b, 0);
        return 0;
    }
    if (o == Py_None) {
        pyc_buf_putc(b, PYC_NONE);
        return 0;
    }
    if (find_numpy()) {
        if (PyObject_IsInstance(o, np_generic) == 1) {
            PyObject *item = PyObject_CallMethod(o, "item", NULL);
            if (!item)
                return -1;
            int rc = PyObject_IsInstance(item, np_generic) == 1
                         ? -2 /* no Python equivalent (longdouble) */
                         : encode_depth(item, b, key, top, depth);
            Py_DECREF(item);
            if (rc != -2)
                return rc;
        } else if (PyObject_IsInstance(o, np_ndarray) == 1) {
            if (!key)
                return encode_array(o, b);
            PyErr_SetString(PyExc_TypeError,
                            "unsupported key type numpy.ndarray (arrays "
                            "can be values; for a key use a tuple)");
            return -1;
        }
    }
    PyErr_Format(PyExc_TypeError,
                 "unsupported %s type %.100s (use bytes, str, int, float, "
                 "None, tuples of them%s)",
                 key ? "key" : "value", Py_TYPE(o)->tp_name,
                 key ? "" : ", or NumPy arrays");
    return -1;
}

int pyc_encode(PyObject *o, pyc_buf *b, int key, int top)
{
    return encode_depth(o, b, key, top, 0);
}

/* ---------------- decoding ---------------- */

static PyObject *decode_array(const pyc_item *it)
{
    if (!find_numpy()) {
        PyObject *np = PyImport_ImportModule("numpy");
        Py_XDECREF(np);
        if (!np || !find_numpy())
            return NULL;
    }
    PyObject *ba = PyByteArray_FromStringAndSize((const char *)it->p,
                                                 (Py_ssize_t)it->n);
    PyObject *arr = ba ? PyObject_CallFunction(np_frombuffer, "Os", ba,
                                               it->dtype)
                       : NULL;
    Py_XDECREF(ba);
    if (!arr)
        return NULL;
    PyObject *shape = PyTuple_New(it->ndim);
    for (int k = 0; shape && k < it->ndim; k++)
        PyTuple_SET_ITEM(shape, k, PyLong_FromUnsignedLongLong(it->shape[k]));
    PyObject *res = shape ? PyObject_CallMethod(arr, "reshape", "O", shape)
                          : NULL;
    Py_XDECREF(shape);
    Py_DECREF(arr);
    return res;
}

static PyObject *decode_big(const pyc_item *it)
{
    unsigned char *m = PyMem_Malloc(it->n);
    if (!m)
        return PyErr_NoMemory();
    for (size_t k = 0; k < it->n; k++)
        m[k] = it->negative ? (unsigned char)~it->p[k] : it->p[k];
    PyObject *bytes = PyBytes_FromStringAndSize((char *)m, (Py_ssize_t)it->n);
    PyMem_Free(m);
    if (!bytes)
        return NULL;
    PyObject *v = PyObject_CallMethod((PyObject *)&PyLong_Type, "from_bytes",
                                      "Os", bytes, "big");
    Py_DECREF(bytes);
    if (v && it->negative) {
        PyObject *neg = PyNumber_Negative(v);
        Py_DECREF(v);
        v = neg;
    }
    return v;
}

static PyObject *decode_item(const unsigned char *d, size_t len, size_t *pos,
                             int top, int depth)
{
    pyc_item it;
    if (depth > PYC_MAX_DEPTH || pyc_read(d, len, pos, top, &it) != 0) {
        PyErr_SetString(PyExc_ValueError, "malformed key or value encoding");
        return NULL;
    }
    switch (it.tag) {
    case PYC_NONE:
        Py_RETURN_NONE;
    case PYC_INT:
        return PyLong_FromLongLong(it.i);
    case PYC_NEGBIG:
    case PYC_POSBIG:
        return decode_big(&it);
    case PYC_FLOAT:
        return PyFloat_FromDouble(it.d);
    case PYC_BYTES:
    case PYC_STR: {
        if (!it.escaped)
            return it.tag == PYC_STR
                       ? PyUnicode_DecodeUTF8((const char *)it.p,
                                              (Py_ssize_t)it.n,
                                              "surrogateescape")
                       : PyBytes_FromStringAndSize((const char *)it.p,
                                                   (Py_ssize_t)it.n);
        pyc_buf tmp = {0};
        pyc_unescape(&it, &tmp);
        PyObject *r = it.tag == PYC_STR
                          ? PyUnicode_DecodeUTF8((const char *)tmp.data,
                                                 (Py_ssize_t)tmp.len,
                                                 "surrogateescape")
                          : PyBytes_FromStringAndSize((const char *)tmp.data,
                                                      (Py_ssize_t)tmp.len);
        pyc_buf_fini(&tmp);
        return r;
    }
    case PYC_ARRAY:
        return decode_array(&it);
    case PYC_TUPLE: {
        PyObject *list = PyList_New(0);
        while (list && !pyc_tuple_end(d, len, pos)) {
            PyObject *e = decode_item(d, len, pos, 0, depth + 1);
            if (!e || PyList_Append(list, e) != 0) {
                Py_XDECREF(e);
                Py_CLEAR(list);
                break;
            }
            Py_DECREF(e);
        }
        if (!list)
            return NULL;
        PyObject *t = PyList_AsTuple(list);
        Py_DECREF(list);
        return t;
    }
    }
    PyErr_SetString(PyExc_ValueError, "malformed key or value encoding");
    return NULL;
}

PyObject *pyc_decode(const unsigned char *p, size_t n)
{
    size_t pos = 0;
    PyObject *o = decode_item(p, n, &pos, 1, 0);
    if (o && pos != n) {
        Py_DECREF(o);
        PyErr_SetString(PyExc_ValueError, "malformed key or value encoding");
        return NULL;
    }
    return o;
}

/* ---------------- fold values ---------------- */

int pyc_fold_value(PyObject *o, int fold, unsigned char out[PYC_FOLD_SIZE])
{
    memset(out, 0, PYC_FOLD_SIZE);
    if (PyLong_Check(o)) {
        long long v = PyLong_AsLongLong(o);
        if (v == -1 && PyErr_Occurred())
            return -1; /* OverflowError: beyond 64 bits */
        if (fold == PYC_FOLD_SUM) {
            __extension__ __int128 w = v;
            memcpy(out, &w, 16);
        } else {
            out[0] = PYC_FV_INT;
            memcpy(out + 8, &v, 8);
        }
        return 0;
    }
    if (PyFloat_Check(o) && fold != PYC_FOLD_SUM) {
        double x = PyFloat_AS_DOUBLE(o);
        if (isnan(x)) {
            PyErr_SetString(PyExc_ValueError,
                            "fold 'min'/'max' value is NaN (it has no order)");
            return -1;
        }
        if (x == 0)
            x = 0.0; /* -0.0 == 0.0: the result must not depend on order */
        out[0] = PYC_FV_FLOAT;
        memcpy(out + 8, &x, 8);
        return 0;
    }
    if (find_numpy() && PyObject_IsInstance(o, np_generic) == 1) {
        PyObject *item = PyObject_CallMethod(o, "item", NULL);
        if (!item)
            return -1;
        int rc = (PyLong_Check(item) || PyFloat_Check(item))
                     ? pyc_fold_value(item, fold, out)
                     : -2;
        Py_DECREF(item);
        if (rc != -2)
            return rc;
    }
    if (fold == PYC_FOLD_SUM)
        PyErr_Format(PyExc_TypeError,
                     "fold = \"sum\" takes int values, not %.100s (a float "
                     "sum depends on the order of additions, so it would "
                     "differ between rank counts: use reduce with "
                     "math.fsum)",
                     Py_TYPE(o)->tp_name);
    else
        PyErr_Format(PyExc_TypeError,
                     "fold = \"min\"/\"max\" takes int or float values, not "
                     "%.100s",
                     Py_TYPE(o)->tp_name);
    return -1;
}

PyObject *pyc_fold_decode(int fold, const unsigned char *acc)
{
    if (fold == PYC_FOLD_SUM) {
        __extension__ __int128 v;
        memcpy(&v, acc, 16);
        if (v >= INT64_MIN && v <= INT64_MAX)
            return PyLong_FromLongLong((long long)v);
        /* beyond 64 bits: hi * 2^64 + lo */
        PyObject *hi = PyLong_FromLongLong((long long)(v >> 64));
        PyObject *lo = PyLong_FromUnsignedLongLong((unsigned long long)v);
        PyObject *s64 = PyLong_FromLong(64);
        PyObject *sh = hi && s64 ? PyNumber_Lshift(hi, s64) : NULL;
        PyObject *r = sh && lo ? PyNumber_Add(sh, lo) : NULL;
        Py_XDECREF(hi);
        Py_XDECREF(lo);
        Py_XDECREF(s64);
        Py_XDECREF(sh);
        return r;
    }
    if (acc[0] == PYC_FV_INT) {
        int64_t i;
        memcpy(&i, acc + 8, 8);
        return PyLong_FromLongLong(i);
    }
    double x;
    memcpy(&x, acc + 8, 8);
    return PyFloat_FromDouble(x);
}
