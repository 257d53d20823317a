/* fuzz_pytext.c -- libFuzzer target: the python job's key/value encoding
 * read back in C (jobs/python/py_text.c): validation, the default output
 * text and skipping, on arbitrary bytes.
 *
 * Any input must be either refused (-1) or read within its bounds; what
 * pyc_valid accepts, pyc_text must accept too (and pyc_skip, for a
 * tuple, must consume exactly); fold texts never fail.
 */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../jobs/python/py_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a private copy, so reads past the end are caught by ASan */
    unsigned char *d = malloc(size ? size : 1);
    memcpy(d, data, size);
    pyc_buf out = {0};
    int valid = pyc_valid(d, size);
    int text = pyc_text(d, size, &out);
    if (valid == 0 && text != 0)
        abort();
    size_t pos = 0;
    /* a top-level tuple is also its nested form: skip reads it whole */
    if (valid == 0 && d[0] == PYC_TUPLE &&
        (pyc_skip(d, size, &pos, 0) != 0 || pos != size))
        abort();
    if (size >= PYC_FOLD_SIZE) {
        out.len = 0;
        pyc_fold_text(PYC_FOLD_SUM, d, &out);
        pyc_fold_text(PYC_FOLD_MIN, d, &out);
        unsigned char acc[PYC_FOLD_SIZE];
        memcpy(acc, d, sizeof acc);
        pyc_fold_sum(acc, d);
        pyc_fold_min(acc, d);
        pyc_fold_max(acc, d);
    }
    pyc_buf_fini(&out);
    free(d);
    return 0;
}
