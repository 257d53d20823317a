/* py_codec.h -- Python objects <-> the canonical encoding of py_text.h.
 *
 * Needs the interpreter (and the GIL, which the python job holds for the
 * whole run on the main thread). Errors set a Python exception and return
 * -1 or NULL, so they surface in the script's traceback like its own.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_PY_CODEC_H
#define MR_PY_CODEC_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "py_text.h"

/* Appends the encoding of `o` to `b`. `key`: a key (no arrays; -0.0 and
 * NaN made canonical). `top`: the whole key or value (not a tuple
 * element). Raises TypeError naming the type for anything unsupported. */
int pyc_encode(PyObject *o, pyc_buf *b, int key, int top);

/* A new object decoded from one top-level item (tuples as tuples, arrays
 * as writable NumPy arrays). NULL and ValueError if malformed. */
PyObject *pyc_decode(const unsigned char *p, size_t n);

/* The 16-byte fold value of an int or float for PYC_FOLD_* `fold`
 * (sum: ints of up to 64 bits only). -1 with TypeError/OverflowError. */
int pyc_fold_value(PyObject *o, int fold, unsigned char out[PYC_FOLD_SIZE]);
/* The Python int or float of a 16-byte fold value. */
PyObject *pyc_fold_decode(int fold, const unsigned char *acc);

#endif /* MR_PY_CODEC_H */
