/* python.c -- jobs written in Python.
 *
 *   mpirun -np N mr-run python SCRIPT.py [script options] [INPUT...]
 *
 * The script defines plain functions, and which ones it defines decide the
 * job's shape (docs/writing-a-job.md, "Jobs in Python"): map(record) over
 * the input layer, or split() + map(task) for tasks of its own; optional
 * setup, combine, reduce (or fold = "sum"/"min"/"max", done in C), order,
 * output and finish; `options` for the command line. This file is the
 * bridge: one C callback per engine slot, each calling the script's
 * function, plus the `mr` module the script imports (mr.emit, mr.rank,
 * mr.options, ...). The interpreter itself is set up in py_interp.c and
 * the key/value encoding is py_codec.c / py_text.c.
 *
 * The record path is the cost that matters: a map over lines makes one
 * str and one call per line; a script that sets `chunks = True` gets up
 * to 1 MiB of whole records per call and can hand back a dict (a
 * collections.Counter) of many pairs at once, which is walked here in C
 * and, with fold = "sum", folded at emit with no Python object per pair.
 *
 * Errors: a Python exception in any callback becomes one mr_error naming
 * the script's file and line, the callback and task, the exception and
 * the traceback's last lines; mr.UsageError raised from setup is a usage
 * error (exit 2). The engine then stops every rank and prints no output.
 */
/* SPDX-License-Identifier: MIT */
#include "py_job.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

pyjob pyjob_state;

static PyObject *usage_error; /* mr.UsageError */

/* ---------------- emitting pairs ---------------- */

/* Encodes (k, v) and emits it: the fold value with fold, the sort key of
 * `order` in front of the key in reduce. 0, or -1 with an exception. */
static int emit_pair(pyjob *pj, PyObject *k, PyObject *v)
{
    if (!pj->ctx) {
        PyErr_SetString(PyExc_RuntimeError,
                        "mr.emit() outside setup, map, combine and reduce");
        return -1;
    }
    pyc_buf *kb = &pj->kbuf, *vb = &pj->vbuf;
    kb->len = 0;
    if (pj->in_reduce && pj->fn[PYF_ORDER]) {
        PyObject *args[2] = {k, v};
        PyObject *sk = PyObject_Vectorcall(pj->fn[PYF_ORDER], args, 2, NULL);
        if (!sk)
            return -1;
        int rc = pyc_encode(sk, kb, 1, 0);
        Py_DECREF(sk);
        if (rc != 0)
            return -1;
    }
    if (pyc_encode(k, kb, 1, 1) != 0)
        return -1;
    unsigned char fv[PYC_FOLD_SIZE];
    mr_bytes val;
    if (pj->fold && !pj->in_reduce) {
        if (pyc_fold_value(v, pj->fold, fv) != 0)
            return -1;
        val = mr_mem(fv, sizeof fv);
    } else {
        vb->len = 0;
        if (pyc_encode(v, vb, 0, 1) != 0)
            return -1;
        val = mr_mem(vb->data, vb->len);
    }
    if (mr_emit(pj->ctx, mr_mem(kb->data, kb->len), val) != MR_OK) {
        PyErr_SetString(PyExc_RuntimeError, "the engine refused the pair");
        return -1;
    }
    return 0;
}

static int emit_item(pyjob *pj, PyObject *item, const char *who)
{
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2) {
        PyErr_Format(PyExc_TypeError,
                     "%s must return or yield (key, value) pairs, got %.100s",
                     who, Py_TYPE(item)->tp_name);
        return -1;
    }
    return emit_pair(pj, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1));
}

/* What map/combine/reduce handed back: None, a dict, or an iterable of
 * pairs (a generator when the function yields). */
static int collect(pyjob *pj, PyObject *res, const char *who)
{
    if (res == Py_None)
        return 0;
    if (PyDict_Check(res)) { /* OPTIMIZATION: Counter, dict: no tuples */
        Py_ssize_t pos = 0;
        PyObject *k, *v;
        while (PyDict_Next(res, &pos, &k, &v))
            if (emit_pair(pj, k, v) != 0)
                return -1;
        return 0;
    }
    if (PyList_Check(res) || PyTuple_Check(res)) {
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(res); i++)
            if (emit_item(pj, PySequence_Fast_GET_ITEM(res, i), who) != 0)
                return -1;
        return 0;
    }
    PyObject *it = PyObject_GetIter(res);
    if (!it) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError,
                     "%s must return None, a dict or an iterable of (key, "
                     "value) pairs, not %.100s",
                     who, Py_TYPE(res)->tp_name);
        return -1;
    }
    PyObject *item;
    int rc = 0;
    while (rc == 0 && (item = PyIter_Next(it))) {
        rc = emit_item(pj, item, who);
        Py_DECREF(item);
    }
    Py_DECREF(it);
    return rc == 0 && PyErr_Occurred() ? -1 : rc;
}

/* The script line to blame when no frame of the script is in the
 * traceback: where a generator stopped, else the function's first line. */
static int blame_line(PyObject *fn, PyObject *res)
{
    long line = 0;
    PyObject *exc_t, *exc_v, *exc_tb;
    PyErr_Fetch(&exc_t, &exc_v, &exc_tb);
    if (res && PyGen_Check(res)) {
        PyObject *fr = PyObject_GetAttrString(res, "gi_frame");
        if (fr && fr != Py_None)
            line = PyFrame_GetLineNumber((PyFrameObject *)fr);
        Py_XDECREF(fr);
    }
    if (!line && fn) {
        PyObject *code = PyObject_GetAttrString(fn, "__code__");
        PyObject *first = code ? PyObject_GetAttrString(code, "co_firstlineno")
                               : NULL;
        line = first ? PyLong_AsLong(first) : 0;
        Py_XDECREF(first);
        Py_XDECREF(code);
    }
    PyErr_Clear();
    PyErr_Restore(exc_t, exc_v, exc_tb);
    return (int)line;
}

/* Turns the pending exception into the rank's error. */
static int fail(pyjob *pj, const char *where, PyObject *fn, PyObject *res)
{
    if (usage_error && PyErr_ExceptionMatches(usage_error)) {
        PyObject *t, *v, *tb;
        PyErr_Fetch(&t, &v, &tb);
        PyObject *s = v ? PyObject_Str(v) : NULL;
        const char *msg = s ? PyUnicode_AsUTF8(s) : NULL;
        int rc = mr_error(pj->ctx, MR_EUSAGE, "%s", msg ? msg : "usage error");
        Py_XDECREF(s);
        Py_XDECREF(t);
        Py_XDECREF(v);
        Py_XDECREF(tb);
        PyErr_Clear();
        return rc;
    }
    char *msg = py_interp_error(pj, where, blame_line(fn, res));
    int rc = mr_error(pj->ctx, MR_ERROR, "%s", msg);
    free(msg);
    return rc;
}

static void describe_task(mr_bytes task, char *buf, size_t size);

/* "map, task 3 (corpus/kjv.txt bytes 0-1048576)" */
static void where_task(pyjob *pj, const char *what, mr_bytes task, char *buf,
                       size_t size)
{
    char desc[160];
    describe_task(task, desc, sizeof desc);
    snprintf(buf, size, "%s, task %ld (%s)", what, mr_ctx_task(pj->ctx),
             desc);
}

/* ---------------- the mr module ---------------- */

static PyObject *mr_emit_py(PyObject *self, PyObject *const *args,
                            Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "emit(key, value)");
        return NULL;
    }
    if (emit_pair(&pyjob_state, args[0], args[1]) != 0)
        return NULL;
    Py_RETURN_NONE;
}

/* mr.count(keys): emits (key, 1) for every key of an iterable. With
 * fold = "sum" that is a word count with no Python object per pair: the
 * list comes from str.split(), and each key goes from its bytes straight
 * into the engine's fold table. */
static PyObject *mr_count_py(PyObject *self, PyObject *keys)
{
    static PyObject *one;
    if (!one && !(one = PyLong_FromLong(1)))
        return NULL;
    if (PyList_Check(keys) || PyTuple_Check(keys)) {
        for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(keys); i++)
            if (emit_pair(&pyjob_state, PySequence_Fast_GET_ITEM(keys, i),
                          one) != 0)
                return NULL;
        Py_RETURN_NONE;
    }
    PyObject *it = PyObject_GetIter(keys), *k;
    if (!it)
        return NULL;
    while ((k = PyIter_Next(it))) {
        int rc = emit_pair(&pyjob_state, k, one);
        Py_DECREF(k);
        if (rc != 0) {
            Py_DECREF(it);
            return NULL;
        }
    }
    Py_DECREF(it);
    if (PyErr_Occurred())
        return NULL;
    Py_RETURN_NONE;
}

/* The values of one key, for combine and reduce: an iterator valid only
 * during the call (the bytes are borrowed from the engine). */
typedef struct values_obj {
    PyObject_HEAD
    mr_values *values;
} values_obj;

static PyObject *values_next(PyObject *self)
{
    values_obj *v = (values_obj *)self;
    mr_bytes b;
    if (!v->values) {
        PyErr_SetString(PyExc_RuntimeError,
                        "the values of a key are only valid during its "
                        "reduce/combine call (make a list of them)");
        return NULL;
    }
    if (!mr_values_next(v->values, &b)) {
        v->values = NULL;
        return NULL; /* StopIteration */
    }
    if (pyjob_state.fold)
        return pyc_fold_decode(pyjob_state.fold, b.ptr);
    return pyc_decode(b.ptr, b.len);
}

static PyTypeObject values_type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "mr.Values",
    .tp_basicsize = sizeof(values_obj),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "the values of one key (an iterator)",
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = values_next,
};

static PyMethodDef mr_methods[] = {
    {"emit", (PyCFunction)(void (*)(void))mr_emit_py, METH_FASTCALL,
     "emit(key, value): one pair (from setup, map, combine or reduce)"},
    {"count", mr_count_py, METH_O,
     "count(keys): emit(key, 1) for every key (with fold = \"sum\": a "
     "count, done in C)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef mr_moddef = {
    PyModuleDef_HEAD_INIT, "mr",
    "The mr engine, for jobs written in Python (mr-run python).\n\n"
    "rank, size, host, options, args are set before setup() runs.",
    -1, mr_methods, NULL, NULL, NULL, NULL,
};

PyObject *py_mr_module_init(void)
{
    if (PyType_Ready(&values_type) != 0)
        return NULL;
    PyObject *m = PyModule_Create(&mr_moddef);
    if (!m)
        return NULL;
    usage_error = PyErr_NewException("mr.UsageError", NULL, NULL);
    if (!usage_error || PyModule_AddObjectRef(m, "UsageError", usage_error) ||
        PyModule_AddObjectRef(m, "Values", (PyObject *)&values_type) ||
        PyModule_AddObjectRef(m, "rank", Py_None) ||
        PyModule_AddObjectRef(m, "size", Py_None) ||
        PyModule_AddObjectRef(m, "host", Py_None) ||
        PyModule_AddObjectRef(m, "options", Py_None) ||
        PyModule_AddObjectRef(m, "args", Py_None)) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}

/* ---------------- callbacks ---------------- */

static PyObject *options_dict(pyjob *pj, mr_ctx *ctx)
{
    PyObject *d = PyDict_New();
    for (const mr_option *o = pj->options; d && o && o->name; o++) {
        PyObject *v = NULL;
        switch (o->type) {
        case MR_OPT_FLAG:
            v = PyBool_FromLong(mr_opt_flag(ctx, o->name));
            break;
        case MR_OPT_INT:
            v = PyLong_FromLong(mr_opt_int(ctx, o->name));
            break;
        case MR_OPT_DOUBLE:
            v = PyFloat_FromDouble(mr_opt_double(ctx, o->name));
            break;
        case MR_OPT_STRING: {
            const char *s = mr_opt_string(ctx, o->name);
            v = s ? PyUnicode_DecodeFSDefault(s) : (Py_INCREF(Py_None), Py_None);
            break;
        }
        }
        if (!v || PyDict_SetItemString(d, o->name, v) != 0)
            Py_CLEAR(d);
        Py_XDECREF(v);
    }
    return d;
}

static int py_setup(mr_ctx *ctx)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    if (pj->load_error)
        return mr_error(ctx, pj->load_status, "%s", pj->load_error);
    if (!pj->script)
        return mr_error(ctx, MR_EUSAGE,
                        "no script: mr-run python SCRIPT.py [script options] "
                        "[INPUT...]");
    int argc = mr_ctx_argc(ctx);
    const char *const *argv = mr_ctx_argv(ctx);
    if (pj->fn[PYF_MAP] && !pj->fn[PYF_SPLIT] && argc < 2)
        return mr_error(ctx, MR_EUSAGE,
                        "no INPUT: give files or folders after the script "
                        "(or define split() in it)");
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    PyObject *args = PyList_New(0);
    for (int i = 1; args && i < argc; i++) {
        PyObject *a = PyUnicode_DecodeFSDefault(argv[i]);
        if (!a || PyList_Append(args, a) != 0)
            Py_CLEAR(args);
        Py_XDECREF(a);
    }
    PyObject *opts = options_dict(pj, ctx);
    if (!args || !opts ||
        PyModule_AddObjectRef(pj->mr, "args", args) ||
        PyModule_AddObjectRef(pj->mr, "options", opts) ||
        PyModule_AddIntConstant(pj->mr, "rank", mr_ctx_rank(ctx)) ||
        PyModule_AddIntConstant(pj->mr, "size", mr_ctx_nranks(ctx)) ||
        PyModule_AddStringConstant(pj->mr, "host", host)) {
        Py_XDECREF(args);
        Py_XDECREF(opts);
        return fail(pj, "setup", NULL, NULL);
    }
    Py_DECREF(args);
    Py_DECREF(opts);
    if (pj->own_out && (pj->out_path = mr_opt_string(ctx, "out")) &&
        mr_ctx_rank(ctx) == 0) {
        int rc = mr_out_check(ctx, pj->out_path); /* now, not at the end */
        if (rc != MR_OK)
            return rc;
    }
    if (!pj->fn[PYF_SETUP])
        return MR_OK;
    PyObject *res = PyObject_CallNoArgs(pj->fn[PYF_SETUP]);
    if (!res)
        return fail(pj, "in setup", pj->fn[PYF_SETUP], NULL);
    Py_DECREF(res);
    return MR_OK;
}

static int py_split(mr_ctx *ctx)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    if (!pj->fn[PYF_SPLIT])
        return mr_input_split(ctx, mr_ctx_argc(ctx) - 1, mr_ctx_argv(ctx) + 1,
                              &pj->plan);
    PyObject *res = PyObject_CallNoArgs(pj->fn[PYF_SPLIT]);
    PyObject *it = res ? PyObject_GetIter(res) : NULL;
    PyObject *task;
    int rc = MR_OK;
    if (!it)
        goto fail;
    while ((task = PyIter_Next(it))) {
        pj->kbuf.len = 0;
        int e = pyc_encode(task, &pj->kbuf, 1, 1);
        Py_DECREF(task);
        if (e != 0)
            goto fail;
        rc = mr_task_add(ctx, mr_mem(pj->kbuf.data, pj->kbuf.len), 1.0);
        if (rc != MR_OK)
            goto out;
    }
    if (PyErr_Occurred())
        goto fail;
    goto out;
fail:
    rc = fail(pj, "in split", pj->fn[PYF_SPLIT], res);
out:
    Py_XDECREF(it);
    Py_XDECREF(res);
    return rc;
}

/* What map returned (a new reference, or NULL with an exception set):
 * its pairs emitted, or the error reported with the task. */
static int map_result(pyjob *pj, PyObject *res, mr_bytes task)
{
    if (res && collect(pj, res, "map") == 0) { /* None: mr.emit() style */
        Py_DECREF(res);
        return MR_OK;
    }
    char where[256];
    where_task(pj, "in map", task, where, sizeof where);
    int rc = fail(pj, where, pj->fn[PYF_MAP], res);
    Py_XDECREF(res);
    return rc;
}

/* One record (or chunk of records) to the script's map. */
static int call_record(pyjob *pj, const unsigned char *p, size_t n,
                       mr_bytes task)
{
    PyObject *arg = pj->text ? PyUnicode_DecodeUTF8((const char *)p,
                                                    (Py_ssize_t)n,
                                                    "surrogateescape")
                             : PyBytes_FromStringAndSize((const char *)p,
                                                         (Py_ssize_t)n);
    PyObject *res = arg ? PyObject_Vectorcall(pj->fn[PYF_MAP], &arg, 1, NULL)
                        : NULL;
    Py_XDECREF(arg);
    return map_result(pj, res, task);
}

static const unsigned char *find_sep(const pyjob *pj, const unsigned char *p,
                                     const unsigned char *end)
{
    if (pj->nsep == 1)
        return memchr(p, pj->sep1, (size_t)(end - p));
    for (; p < end; p++)
        if (pj->sep[*p])
            return p;
    return NULL;
}

/* Cuts a chunk into records; a record cut by the buffer waits in
 * pj->pending for its end. */
static int chunk_records(pyjob *pj, const mr_input_chunk *c, mr_bytes task)
{
    const unsigned char *p = c->data, *end = c->data + c->len;
    int rc = MR_OK;
    if (pj->chunks) {
        if (c->flags & MR_INPUT_CONTINUES) {
            pyc_buf_put(&pj->pending, p, c->len);
            return MR_OK;
        }
        if (pj->pending.len) {
            pyc_buf_put(&pj->pending, p, c->len);
            rc = call_record(pj, pj->pending.data, pj->pending.len, task);
            pj->pending.len = 0;
            return rc;
        }
        return c->len ? call_record(pj, p, c->len, task) : MR_OK;
    }
    while (rc == MR_OK && p < end) {
        const unsigned char *q = find_sep(pj, p, end);
        if (!q && (c->flags & MR_INPUT_CONTINUES)) {
            pyc_buf_put(&pj->pending, p, (size_t)(end - p));
            return MR_OK;
        }
        const unsigned char *rend = q ? q : end;
        if (pj->pending.len) {
            pyc_buf_put(&pj->pending, p, (size_t)(rend - p));
            rc = call_record(pj, pj->pending.data, pj->pending.len, task);
            pj->pending.len = 0;
        } else {
            rc = call_record(pj, p, (size_t)(rend - p), task);
        }
        p = q ? q + 1 : end;
    }
    if (rc == MR_OK && c->len == 0 && pj->pending.len &&
        !(c->flags & MR_INPUT_CONTINUES)) {
        rc = call_record(pj, pj->pending.data, pj->pending.len, task);
        pj->pending.len = 0;
    }
    return rc;
}

static int map_input(pyjob *pj, mr_ctx *ctx, mr_bytes task)
{
    if (!pj->reader)
        pj->reader = mr_input_reader_new(pj->sep, 0);
    pj->pending.len = 0;
    int rc = mr_input_reader_open(pj->reader, task);
    mr_input_chunk c;
    while (rc == MR_OK) {
        int got = mr_input_reader_next(pj->reader, &c);
        if (got == 0)
            break;
        if (got < 0) {
            rc = mr_error(ctx, got, "%s", mr_input_reader_error(pj->reader));
            break;
        }
        mr_ctx_add_bytes(ctx, c.len);
        rc = chunk_records(pj, &c, task);
    }
    if (rc == MR_OK && pj->pending.len) /* a long last record */
        rc = call_record(pj, pj->pending.data, pj->pending.len, task);
    pj->pending.len = 0;
    mr_input_reader_close(pj->reader);
    return rc;
}

static int py_map(mr_ctx *ctx, mr_bytes task)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    if (!pj->fn[PYF_SPLIT])
        return map_input(pj, ctx, task);
    PyObject *t = pyc_decode(task.ptr, task.len);
    PyObject *res = t ? PyObject_Vectorcall(pj->fn[PYF_MAP], &t, 1, NULL)
                      : NULL;
    Py_XDECREF(t);
    return map_result(pj, res, task);
}

/* combine and reduce: fn(key, values) returns the key's value (None: no
 * pair), or yields (key, value) pairs. */
static int call_reduce(pyjob *pj, int slot, const char *what, mr_bytes key,
                       mr_values *values)
{
    PyObject *k = pyc_decode(key.ptr, key.len), *res = NULL;
    values_obj *v = k ? PyObject_New(values_obj, &values_type) : NULL;
    int rc = MR_OK;
    if (!v)
        goto fail;
    v->values = values;
    PyObject *args[2] = {k, (PyObject *)v};
    res = PyObject_Vectorcall(pj->fn[slot], args, 2, NULL);
    if (!res)
        goto fail;
    if (PyGen_Check(res)) {
        if (collect(pj, res, what) != 0)
            goto fail;
    } else if (res != Py_None && emit_pair(pj, k, res) != 0) {
        goto fail;
    }
    goto out;
fail: {
    char where[64];
    snprintf(where, sizeof where, "in %s", what);
    rc = fail(pj, where, pj->fn[slot], res);
}
out:
    if (v)
        v->values = NULL; /* borrowed bytes: dead after the call */
    Py_XDECREF(v);
    Py_XDECREF(k);
    Py_XDECREF(res);
    return rc;
}

static int py_combine(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    return call_reduce(pj, PYF_COMBINE, "combine", key, values);
}

static int py_reduce(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    pj->in_reduce = 1;
    int rc = call_reduce(pj, PYF_REDUCE, "reduce", key, values);
    pj->in_reduce = 0;
    return rc;
}

/* With `order` but no Python reduce (fold or pass-through): each output
 * pair gets its encoded sort key in front of its key, so the engine's
 * bytewise sort is the script's order with no call while sorting. */
static int py_reduce_order(mr_ctx *ctx, mr_bytes key, mr_values *values)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    PyObject *k = pyc_decode(key.ptr, key.len);
    mr_bytes val;
    int rc = MR_OK;
    if (!k)
        return fail(pj, "in order", pj->fn[PYF_ORDER], NULL);
    while (rc == MR_OK && mr_values_next(values, &val)) {
        PyObject *v = pj->fold ? pyc_fold_decode(pj->fold, val.ptr)
                               : pyc_decode(val.ptr, val.len);
        PyObject *args[2] = {k, v};
        PyObject *sk = v ? PyObject_Vectorcall(pj->fn[PYF_ORDER], args, 2,
                                               NULL)
                         : NULL;
        pj->kbuf.len = 0;
        if (!sk || pyc_encode(sk, &pj->kbuf, 1, 0) != 0) {
            rc = fail(pj, "in order", pj->fn[PYF_ORDER], NULL);
        } else {
            pyc_buf_put(&pj->kbuf, key.ptr, key.len);
            rc = mr_emit(ctx, mr_mem(pj->kbuf.data, pj->kbuf.len), val);
        }
        Py_XDECREF(sk);
        Py_XDECREF(v);
    }
    Py_DECREF(k);
    return rc;
}

static int py_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    if (pj->fn[PYF_ORDER]) { /* drop the sort key */
        size_t pos = 0;
        if (pyc_skip(key.ptr, key.len, &pos, 0) != 0)
            return mr_error(ctx, MR_EINVAL, "malformed output key");
        key = mr_mem((const unsigned char *)key.ptr + pos, key.len - pos);
    }
    if (pj->fn[PYF_OUTPUT]) {
        if (!pj->captured) {
            py_interp_capture();
            pj->captured = 1;
        }
        PyObject *k = pyc_decode(key.ptr, key.len);
        PyObject *v = !k          ? NULL
                      : pj->fold ? pyc_fold_decode(pj->fold, value.ptr)
                                 : pyc_decode(value.ptr, value.len);
        PyObject *args[2] = {k, v};
        PyObject *res = v ? PyObject_Vectorcall(pj->fn[PYF_OUTPUT], args, 2,
                                                NULL)
                          : NULL;
        int rc = res ? MR_OK
                     : fail(pj, "in output", pj->fn[PYF_OUTPUT], NULL);
        Py_XDECREF(res);
        Py_XDECREF(k);
        Py_XDECREF(v);
        return rc;
    }
    pyc_buf *o = &pj->obuf;
    o->len = 0;
    if (pyc_text(key.ptr, key.len, o) != 0)
        return mr_error(ctx, MR_EINVAL, "malformed output key");
    pyc_buf_putc(o, '\t');
    if (pj->fold)
        pyc_fold_text(pj->fold, value.ptr, o);
    else if (pyc_text(value.ptr, value.len, o) != 0)
        return mr_error(ctx, MR_EINVAL, "malformed output value");
    pyc_buf_putc(o, '\n');
    FILE *f = stdout;
    if (pj->out_path) {
        if (!pj->out_file && !(pj->out_file = mr_out_open(ctx, pj->out_path)))
            return MR_EIO;
        f = pj->out_file;
    } else {
        pj->stdout_dirty = 1;
    }
    if (fwrite(o->data, 1, o->len, f) != o->len)
        return mr_error(ctx, MR_EIO, "%s: write failed",
                        pj->out_path ? pj->out_path : "standard output");
    return MR_OK;
}

static int py_finish(mr_ctx *ctx)
{
    pyjob *pj = &pyjob_state;
    pj->ctx = ctx;
    if (pj->stdout_dirty && fflush(stdout) != 0)
        return mr_error(ctx, MR_EIO, "standard output: write failed");
    if (pj->out_path) { /* an empty result still makes an (empty) file */
        if (!pj->out_file && !(pj->out_file = mr_out_open(ctx, pj->out_path)))
            return MR_EIO;
        pj->out_file = NULL; /* mr_out_commit closes it */
        int rc = mr_out_commit(ctx);
        if (rc != MR_OK)
            return rc;
    }
    int rc = MR_OK;
    if (pj->fn[PYF_FINISH]) {
        if (!pj->captured) {
            py_interp_capture();
            pj->captured = 1;
        }
        PyObject *res = PyObject_CallNoArgs(pj->fn[PYF_FINISH]);
        rc = res ? MR_OK : fail(pj, "in finish", pj->fn[PYF_FINISH], NULL);
        Py_XDECREF(res);
    }
    if (rc == MR_OK && pj->captured) {
        pj->captured = 0;
        if (py_interp_release(1) != 0)
            rc = fail(pj, "writing the output", NULL, NULL);
    }
    if (rc == MR_OK) {
        py_interp_flush(1); /* the script's prints, before mr-run's own */
        pj->finished = 1;
    }
    return rc;
}

static void py_teardown(mr_ctx *ctx)
{
    pyjob *pj = &pyjob_state;
    /* Rank 0's prints are the output: kept only if the run got through
     * finish. Other ranks' prints (debugging) are always let out. */
    if (pj->captured) { /* the run failed in output or finish */
        py_interp_release(0);
        PyErr_Clear();
        pj->captured = 0;
    }
    py_interp_flush(pj->finished || mr_ctx_rank(ctx) != 0);
    mr_input_reader_free(pj->reader);
    pj->reader = NULL;
    mr_input_plan_free(pj->plan);
    pj->plan = NULL;
    pyc_buf_fini(&pj->kbuf);
    pyc_buf_fini(&pj->vbuf);
    pyc_buf_fini(&pj->obuf);
    pyc_buf_fini(&pj->pending);
    pj->out_file = NULL; /* the engine removes an uncommitted file */
    pj->ctx = NULL;
}

static void describe_task(mr_bytes task, char *buf, size_t size)
{
    if (!pyjob_state.fn[PYF_SPLIT]) {
        mr_input_describe(task, buf, size);
        return;
    }
    pyc_buf t = {0};
    if (pyc_text(task.ptr, task.len, &t) != 0)
        pyc_buf_put(&t, "?", 1);
    size_t n = t.len < size - 1 ? t.len : size - 1;
    for (size_t i = 0; i < n; i++)
        buf[i] = t.data[i] == '\t' ? ' ' : (char)t.data[i];
    buf[n] = '\0';
    pyc_buf_fini(&t);
}

/* ---------------- registration ---------------- */

MR_JOB_PLUGIN(python)
{
    pyjob *pj = &pyjob_state;
    static struct mr_job job;
    py_interp_load(pj);
    job = (struct mr_job){
        .name = "python",
        .summary = "a job written in Python: mr-run python SCRIPT.py ...",
        .usage = "SCRIPT.py [script options] [INPUT...]",
        .options = pj->options,
        .setup = py_setup,
        .split = pj->fn[PYF_MAP] || pj->fn[PYF_SPLIT] ? py_split : NULL,
        .map = py_map,
        .combine = pj->fn[PYF_COMBINE] ? py_combine : NULL,
        .reduce = pj->fn[PYF_REDUCE]  ? py_reduce
                  : pj->fn[PYF_ORDER] ? py_reduce_order
                                      : NULL,
        .value_size = pj->fold ? PYC_FOLD_SIZE : 0,
        .fold = pj->fold == PYC_FOLD_SUM   ? pyc_fold_sum
                : pj->fold == PYC_FOLD_MIN ? pyc_fold_min
                : pj->fold == PYC_FOLD_MAX ? pyc_fold_max
                                           : NULL,
        .output = py_output,
        .finish = py_finish,
        .teardown = py_teardown,
        .describe = describe_task,
    };
    return mr_job_register(reg, &job);
}
