/* py_job.h -- private to the python job: its one state object.
 *
 * The python job keeps a single process-wide state (pyjob) rather than
 * per-ctx state: CPython is one interpreter per process, and the script
 * must be loaded in the module's init function (before any mr_ctx exists)
 * because its `options` become the job's option table. Callbacks store the
 * current mr_ctx in it so that mr.emit() can reach the engine.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_PY_JOB_H
#define MR_PY_JOB_H

#include "py_codec.h"

#include <mr/mr_input.h>
#include <mr/mr_job.h>

/* The script's functions, by slot. */
enum {
    PYF_SETUP, PYF_SPLIT, PYF_MAP, PYF_COMBINE, PYF_REDUCE, PYF_ORDER,
    PYF_OUTPUT, PYF_FINISH, PYF_N
};

typedef struct pyjob {
    /* set by init (py_interp.c) */
    char *script;            /* the SCRIPT argument as given */
    char *load_error;        /* the script did not load: setup reports it */
    int load_status;         /* MR_ERROR or MR_EUSAGE for load_error */
    PyObject *module;        /* the script's module */
    PyObject *fn[PYF_N];     /* its functions, or NULL */
    PyObject *helpers;       /* the embedded helper module (_mr_helpers) */
    PyObject *mr;            /* the `mr` module */
    int fold;                /* PYC_FOLD_* */
    int chunks;              /* map gets chunks of whole records */
    int text;                /* records are str (UTF-8), else bytes */
    unsigned char sep[256];  /* record separator bytes */
    int nsep;                /* how many; 1: memchr fast path */
    unsigned char sep1;
    mr_option *options;      /* the job's option table (NULL-terminated) */
    int own_out;             /* the table has the job's own --out */

    /* set per run */
    mr_ctx *ctx;             /* the rank's ctx during a callback */
    int in_reduce;           /* emit applies `order` (reduce output) */
    int stdout_dirty;        /* C stdio has output not yet flushed */
    int finished;            /* finish went through (rank 0) */
    int captured;            /* rank 0's sys.stdout is being held */
    const char *out_path;    /* --out: the default output goes there */
    FILE *out_file;          /* ... through mr_out_open, rank 0 */
    mr_input_plan *plan;
    mr_input_reader *reader;
    pyc_buf kbuf, vbuf, obuf, pending;
} pyjob;

extern pyjob pyjob_state;

/* py_interp.c */
/* Finds the script in this process's command line, starts CPython and
 * loads it; fills pyjob_state. Never fails: a script that does not load
 * leaves its message in load_error. Returns 1 if a script was named. */
int py_interp_load(pyjob *pj);
/* The pending Python exception as one message: "SCRIPT:LINE: WHERE:
 * Type: text" and the traceback's last lines; clears it. Caller frees
 * with free(). `fallback_line`: used if no frame is in the script. */
char *py_interp_error(pyjob *pj, const char *where, int fallback_line);
/* Flushes sys.stderr and, if `out`, sys.stdout. A failed run never
 * flushes sys.stdout: what the script printed is dropped with the
 * interpreter (never finalised), so a failure prints no partial output. */
void py_interp_flush(int out);

/* Rank 0's sys.stdout goes to an unlinked temporary file while output and
 * finish run; py_interp_release(1) copies it to the real stdout (after a
 * successful finish), py_interp_release(0) drops it. So a run that fails
 * in output or finish prints nothing, however much the script printed,
 * and memory does not grow with the output. release returns -1 with a
 * Python exception if copying fails. */
void py_interp_capture(void);
int py_interp_release(int ok);

/* python.c: the `mr` module, registered before the interpreter starts */
PyObject *py_mr_module_init(void);

#endif /* MR_PY_JOB_H */
