/* py_interp.c -- the python job's interpreter: start CPython, load the
 * script, describe the job it defines, and format its errors.
 *
 * When: in the module's init function, on every rank, before the engine
 * parses the command line, because the script declares its own options
 * (`mr-run python x.py --help` lists them). The job ABI gives init no
 * argv, so we read this process's command line (/proc/self/cmdline) and
 * take the first positional argument after the job name, skipping the
 * engine's options (the ones that take a value are listed in
 * engine_valued[]; keep it in step with mr_opt.c). Loaded for --list, or
 * with no script named, the job registers without starting Python.
 *
 * How the interpreter is set up (a security choice, see README):
 *   - the current folder is never on sys.path (PyConfig.safe_path, as
 *     `python3 -P`), the script's own folder is put first, as `python3
 *     script.py` does;
 *   - PYTHON* environment variables are ignored (use_environment = 0, as
 *     `python3 -E`): a PYTHONPATH or PYTHONHOME exported to every rank
 *     cannot redirect imports or break the embedding; the user's site
 *     folder (~/.local) is kept, as a plain `python3` keeps it;
 *   - UTF-8 mode, and the process locale is left alone (mr's C code
 *     formats numbers); no Python signal handlers (mr-run has its own);
 *   - libpython is re-opened RTLD_GLOBAL, since this module is opened
 *     RTLD_LOCAL and extension modules (NumPy) resolve Python's symbols
 *     from the global scope;
 *   - OMP_NUM_THREADS and the BLAS thread variables default to 1: the
 *     ranks already use the cores.
 * The interpreter is never finalised: the process ends with the run, and
 * finalising NumPy is neither needed nor reliable.
 */
/* SPDX-License-Identifier: MIT */
#include "py_job.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

/* Python source of the helpers: loading the script, reading its
 * declarations, formatting its errors. Kept in Python because the
 * traceback module does it better than C would. */
static const char helpers_src[] =
    "import sys, types, traceback, os\n"
    "def load(path):\n"
    "    with open(path, 'rb') as f:\n"
    "        src = f.read()\n"
    "    code = compile(src, path, 'exec', dont_inherit=True)\n"
    "    mod = types.ModuleType('__mr_job__')\n"
    "    mod.__file__ = path\n"
    "    mod.__builtins__ = __builtins__\n"
    "    sys.modules['__mr_job__'] = mod\n"
    "    exec(code, mod.__dict__)\n"
    "    return mod\n"
    "def format(exc, script, where, fallback):\n"
    "    line = fallback\n"
    "    if isinstance(exc, SyntaxError) and exc.filename == script:\n"
    "        line = exc.lineno\n"
    "        text = exc.msg\n"
    "    else:\n"
    "        for fr, ln in traceback.walk_tb(exc.__traceback__):\n"
    "            if fr.f_code.co_filename == script:\n"
    "                line = ln\n"
    "        text = str(exc)\n"
    "    head = '%s:%s: %s: %s' % (script, line if line else '?', where,\n"
    "                              type(exc).__name__)\n"
    "    if text:\n"
    "        head += ': ' + text\n"
    "    te = traceback.TracebackException.from_exception(exc)\n"
    "    te.stack = traceback.StackSummary.from_list(\n"
    "        [f for f in te.stack if f.filename != '<mr helpers>'])\n"
    "    body = ''.join(te.format()).rstrip('\\n').split('\\n')\n"
    "    body = [l for l in body if not l.startswith('Traceback (')]\n"
    "    tail = [l[:160] for l in body[-7:-1]]\n"
    "    msg = head[:400]\n"
    "    if tail:\n"
    "        msg += '\\n  traceback (last lines):\\n' + '\\n'.join('    ' + l "
    "for l in tail)\n"
    "    return msg[:980]\n"
    "_real_stdout = None\n"
    "def capture():\n"
    "    global _real_stdout\n"
    "    import io, tempfile\n"
    "    if _real_stdout is None:\n"
    "        _real_stdout = sys.stdout\n"
    "        sys.stdout = io.TextIOWrapper(tempfile.TemporaryFile(),\n"
    "            encoding=_real_stdout.encoding, errors=_real_stdout.errors)\n"
    "def release(ok):\n"
    "    global _real_stdout\n"
    "    import shutil\n"
    "    if _real_stdout is None:\n"
    "        return\n"
    "    cap, sys.stdout, _real_stdout = sys.stdout, _real_stdout, None\n"
    "    if ok:\n"
    "        cap.flush()\n"
    "        cap.buffer.seek(0)\n"
    "        sys.stdout.flush()\n"
    "        shutil.copyfileobj(cap.buffer, sys.stdout.buffer)\n"
    "        sys.stdout.flush()\n"
    "    cap.close()\n"
    "def flush(out):\n"
    "    for f in ((sys.stdout, sys.stderr) if out else (sys.stderr,)):\n"
    "        try:\n"
    "            f.flush()\n"
    "        except Exception:\n"
    "            pass\n";

/* Engine options that take a value (mr_opt.c's engine_options). */
static const char *const engine_valued[] = {
    "schedule", "shuffle-round", "mem-limit", "stall-timeout", "stats-json",
    "trace", NULL};
static const char *const engine_names[] = {
    "schedule", "shuffle-round", "mem-limit", "stall-timeout", "stats",
    "stats-json", "trace", "quiet", "help", "plugin", NULL};

static int in_list(const char *const *list, const char *s, size_t n)
{
    for (; *list; list++)
        if (strlen(*list) == n && strncmp(*list, s, n) == 0)
            return 1;
    return 0;
}

/* This process's argv (NULL-terminated, one malloc). */
static char **read_cmdline(int *argc)
{
    FILE *f = fopen("/proc/self/cmdline", "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap + 1);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len, f)) > 0) {
        len += got;
        if (len == cap) {
            cap *= 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb)
                abort();
            buf = nb;
        }
    }
    fclose(f);
    if (!buf)
        abort();
    buf[len] = '\0';
    int n = 0;
    for (size_t i = 0; i < len; i++)
        n += buf[i] == '\0';
    char **argv = malloc((size_t)(n + 1) * sizeof *argv + len + 1);
    if (!argv)
        abort();
    char *copy = (char *)(argv + n + 1);
    memcpy(copy, buf, len + 1);
    free(buf);
    int k = 0;
    for (size_t i = 0; i < len && k < n; i += strlen(copy + i) + 1)
        argv[k++] = copy + i;
    argv[k] = NULL;
    *argc = k;
    return argv;
}

/* The index of the script argument, or -1; *first_opt: where the job's
 * arguments start (for the options of a script that failed to load). */
static int find_script(char **argv, int argc)
{
    int i = 1, plugin = 0;
    while (i < argc) {
        if (strcmp(argv[i], "--plugin") == 0 && i + 1 < argc) {
            plugin |= strstr(argv[i + 1], "python.so") != NULL;
            i += 2;
        } else if (strncmp(argv[i], "--plugin=", 9) == 0) {
            plugin |= strstr(argv[i], "python.so") != NULL;
            i++;
        } else {
            break;
        }
    }
    if (i < argc && strcmp(argv[i], "python") == 0)
        i++;
    else if (!plugin)
        return -1; /* --list, --help, or another job */
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1 < argc ? i + 1 : -1;
        if (a[0] != '-' || a[1] == '\0')
            return i;
        if (a[1] == '-' && !strchr(a, '=') &&
            in_list(engine_valued, a + 2, strlen(a + 2)))
            i++;
    }
    return -1;
}

static void set_error(pyjob *pj, int status, char *msg)
{
    if (!pj->load_error) {
        pj->load_error = msg;
        pj->load_status = status;
    } else {
        free(msg);
    }
}

static char *str_printf(const char *fmt, const char *a, const char *b)
{
    size_t n = strlen(fmt) + strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (!s)
        abort();
    snprintf(s, n, fmt, a, b);
    return s;
}

/* The options of a script that did not load: every --name after the
 * script, so that the command line parses and setup can report the real
 * error instead of "unknown option". */
static void placeholder_options(pyjob *pj, char **argv, int argc, int from)
{
    size_t n = 0;
    mr_option *t = calloc((size_t)argc + 1, sizeof *t);
    if (!t)
        abort();
    for (int i = from; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            break;
        if (strncmp(a, "--", 2) != 0)
            continue;
        size_t len = strcspn(a + 2, "=");
        if (len == 0 || in_list(engine_names, a + 2, len))
            continue;
        int dup = 0;
        for (size_t k = 0; k < n; k++)
            dup |= strlen(t[k].name) == len &&
                   strncmp(t[k].name, a + 2, len) == 0;
        if (dup)
            continue;
        t[n].name = strndup(a + 2, len);
        int valued = a[2 + len] == '=' ||
                     (i + 1 < argc && argv[i + 1][0] != '-');
        t[n].type = valued ? MR_OPT_STRING : MR_OPT_FLAG;
        t[n].help = "(script not loaded)";
        n++;
    }
    pj->options = t;
}

static int valid_option_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return 0;
    return 1;
}

static char *py_strdup(PyObject *o)
{
    PyObject *s = PyObject_Str(o);
    const char *c = s ? PyUnicode_AsUTF8(s) : NULL;
    char *r = strdup(c ? c : "");
    Py_XDECREF(s);
    PyErr_Clear();
    return r;
}

/* The job's own --out, for scripts that print through the default output
 * (no output() of their own) and do not declare an "out" option: the
 * key<TAB>value lines go to FILE, atomically (mr_out_open/commit), as
 * with the C jobs' --out. Writing a big table to a file rather than
 * through mpirun's forwarding of standard output is also much faster. */
static void add_out_option(pyjob *pj)
{
    size_t n = 0;
    while (pj->options[n].name) {
        if (strcmp(pj->options[n].name, "out") == 0)
            return;
        n++;
    }
    if (pj->fn[PYF_OUTPUT])
        return;
    pj->options[n] = (mr_option){
        "out", MR_OPT_STRING, NULL,
        "write the output lines to this file (all or nothing) instead of "
        "standard output"};
    pj->own_out = 1;
}

/* options = {"name": (default, "help"), ...} -> pj->options. */
static int read_options(pyjob *pj)
{
    PyObject *decl = PyObject_GetAttrString(pj->module, "options");
    if (!decl) {
        PyErr_Clear();
        pj->options = calloc(2, sizeof *pj->options);
        add_out_option(pj);
        return 0;
    }
    int rc = -1;
    if (!PyDict_Check(decl)) {
        PyErr_SetString(PyExc_TypeError,
                        "options must be a dict: {\"name\": (default, "
                        "\"help\"), ...}");
        goto out;
    }
    Py_ssize_t n = PyDict_Size(decl), pos = 0, k = 0;
    mr_option *t = calloc((size_t)n + 2, sizeof *t); /* + --out */
    if (!t)
        abort();
    pj->options = t;
    PyObject *name, *spec;
    while (PyDict_Next(decl, &pos, &name, &spec)) {
        const char *nm = PyUnicode_Check(name) ? PyUnicode_AsUTF8(name) : NULL;
        if (!nm || !valid_option_name(nm)) {
            PyErr_Format(PyExc_ValueError,
                         "options: %R is not a valid option name (letters, "
                         "digits, '-')",
                         name);
            goto out;
        }
        if (in_list(engine_names, nm, strlen(nm))) {
            PyErr_Format(PyExc_ValueError,
                         "options: --%s is an option of mr-run itself", nm);
            goto out;
        }
        PyObject *def = spec, *help = NULL;
        if (PyTuple_Check(spec) && PyTuple_GET_SIZE(spec) == 2) {
            def = PyTuple_GET_ITEM(spec, 0);
            help = PyTuple_GET_ITEM(spec, 1);
        }
        mr_option *o = &t[k++];
        o->name = strdup(nm);
        o->help = help ? py_strdup(help) : "";
        if (PyBool_Check(def)) {
            if (def == Py_True) {
                PyErr_Format(PyExc_ValueError,
                             "options: flag --%s must default to False", nm);
                goto out;
            }
            o->type = MR_OPT_FLAG;
        } else if (PyLong_Check(def)) {
            o->type = MR_OPT_INT;
            o->fallback = py_strdup(def);
        } else if (PyFloat_Check(def)) {
            o->type = MR_OPT_DOUBLE;
            PyObject *r = PyObject_Repr(def);
            o->fallback = r ? strdup(PyUnicode_AsUTF8(r)) : NULL;
            Py_XDECREF(r);
        } else if (PyUnicode_Check(def)) {
            o->type = MR_OPT_STRING;
            o->fallback = strdup(PyUnicode_AsUTF8(def));
        } else if (def == Py_None) {
            o->type = MR_OPT_STRING;
        } else {
            PyErr_Format(PyExc_TypeError,
                         "options: the default of --%s must be an int, "
                         "float, str, None or False, not %.100s",
                         nm, Py_TYPE(def)->tp_name);
            goto out;
        }
    }
    add_out_option(pj);
    rc = 0;
out:
    Py_DECREF(decl);
    return rc;
}

/* The script's declarations: functions, fold, input records. */
static int read_shape(pyjob *pj)
{
    static const char *const names[PYF_N] = {
        "setup", "split", "map", "combine", "reduce", "order", "output",
        "finish"};
    for (int k = 0; k < PYF_N; k++) {
        PyObject *f = PyObject_GetAttrString(pj->module, names[k]);
        if (!f) {
            PyErr_Clear();
            continue;
        }
        if (!PyCallable_Check(f)) {
            PyErr_Format(PyExc_TypeError, "'%s' must be a function", names[k]);
            Py_DECREF(f);
            return -1;
        }
        pj->fn[k] = f;
    }
    if (pj->fn[PYF_SPLIT] && !pj->fn[PYF_MAP]) {
        PyErr_SetString(PyExc_TypeError, "the script defines split() but "
                                         "no map(task)");
        return -1;
    }
    PyObject *fold = PyObject_GetAttrString(pj->module, "fold");
    if (!fold) {
        PyErr_Clear();
    } else {
        const char *f = PyUnicode_Check(fold) ? PyUnicode_AsUTF8(fold) : "";
        pj->fold = strcmp(f, "sum") == 0   ? PYC_FOLD_SUM
                   : strcmp(f, "min") == 0 ? PYC_FOLD_MIN
                   : strcmp(f, "max") == 0 ? PYC_FOLD_MAX
                                           : -1;
        Py_DECREF(fold);
        if (pj->fold < 0) {
            PyErr_SetString(PyExc_ValueError,
                            "fold must be \"sum\", \"min\" or \"max\"");
            return -1;
        }
        if (pj->fn[PYF_REDUCE] || pj->fn[PYF_COMBINE]) {
            PyErr_SetString(PyExc_TypeError,
                            "the script sets fold and defines reduce or "
                            "combine: fold replaces both, keep one");
            return -1;
        }
    }
    PyObject *chunks = PyObject_GetAttrString(pj->module, "chunks");
    if (!chunks)
        PyErr_Clear();
    else {
        pj->chunks = PyObject_IsTrue(chunks) == 1;
        Py_DECREF(chunks);
    }
    pj->text = 1;
    PyObject *enc = PyObject_GetAttrString(pj->module, "encoding");
    if (!enc) {
        PyErr_Clear();
    } else {
        if (enc == Py_None)
            pj->text = 0;
        else if (!PyUnicode_Check(enc) ||
                 (strcmp(PyUnicode_AsUTF8(enc), "utf-8") != 0 &&
                  strcmp(PyUnicode_AsUTF8(enc), "utf8") != 0)) {
            Py_DECREF(enc);
            PyErr_SetString(PyExc_ValueError,
                            "encoding must be \"utf-8\" (records as str) or "
                            "None (records as bytes)");
            return -1;
        }
        Py_XDECREF(enc);
    }
    memset(pj->sep, 0, sizeof pj->sep);
    PyObject *sep = PyObject_GetAttrString(pj->module, "separator");
    const char *s = "\n";
    Py_ssize_t n = 1;
    PyObject *bytes = NULL;
    if (!sep) {
        PyErr_Clear();
    } else {
        bytes = PyUnicode_Check(sep) ? PyUnicode_AsUTF8String(sep)
                                     : (Py_INCREF(sep), sep);
        Py_DECREF(sep);
        if (!bytes || !PyBytes_Check(bytes) || PyBytes_GET_SIZE(bytes) == 0) {
            Py_XDECREF(bytes);
            PyErr_Clear();
            PyErr_SetString(PyExc_TypeError,
                            "separator must be a non-empty str or bytes "
                            "(each of its bytes ends a record)");
            return -1;
        }
        s = PyBytes_AS_STRING(bytes);
        n = PyBytes_GET_SIZE(bytes);
    }
    for (Py_ssize_t k = 0; k < n; k++)
        pj->sep[(unsigned char)s[k]] = 1;
    pj->nsep = 0;
    for (int b = 0; b < 256; b++)
        if (pj->sep[b]) {
            pj->nsep++;
            pj->sep1 = (unsigned char)b;
        }
    Py_XDECREF(bytes);
    return 0;
}

static int start_python(pyjob *pj, char **error)
{
    /* The ranks already use the cores: one thread each, unless the user
     * says otherwise (mpirun -x OMP_NUM_THREADS=4). */
    static const char *const threads[] = {
        "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
        "BLIS_NUM_THREADS", "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS"};
    for (size_t k = 0; k < sizeof threads / sizeof *threads; k++)
        setenv(threads[k], "1", 0);

    if (!dlopen(MR_PY_LIBRARY, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD) &&
        !dlopen(MR_PY_LIBRARY, RTLD_NOW | RTLD_GLOBAL)) {
        *error = str_printf("cannot open %s: %s", MR_PY_LIBRARY, dlerror());
        return -1;
    }
    if (PyImport_AppendInittab("mr", py_mr_module_init) != 0) {
        *error = strdup("cannot register the mr module");
        return -1;
    }
    PyPreConfig pre;
    PyPreConfig_InitPythonConfig(&pre);
    pre.utf8_mode = 1;
    pre.configure_locale = 0;
    pre.use_environment = 0;
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st))
        goto fail;
    PyConfig cfg;
    PyConfig_InitPythonConfig(&cfg);
    cfg.use_environment = 0;
    cfg.safe_path = 1;
    cfg.parse_argv = 0;
    cfg.install_signal_handlers = 0;
    cfg.configure_c_stdio = 0;
    cfg.pathconfig_warnings = 0;
    cfg.user_site_directory = 1;
    st = PyConfig_SetBytesString(&cfg, &cfg.program_name, MR_PY_EXECUTABLE);
    if (!PyStatus_Exception(st)) {
        char *argv1[] = {pj->script};
        st = PyConfig_SetBytesArgv(&cfg, 1, argv1);
    }
    if (!PyStatus_Exception(st))
        st = Py_InitializeFromConfig(&cfg);
    PyConfig_Clear(&cfg);
    if (PyStatus_Exception(st))
        goto fail;
    return 0;
fail:
    *error = str_printf("cannot start Python%s%s", st.err_msg ? ": " : "",
                        st.err_msg ? st.err_msg : "");
    return -1;
}

/* The pending exception, normalised, with its traceback (3.11 has no
 * PyErr_GetRaisedException). New reference or NULL. */
static PyObject *fetch_exception(void)
{
    PyObject *t, *v, *tb;
    PyErr_Fetch(&t, &v, &tb);
    if (!t)
        return NULL;
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v)
        PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    return v;
}

char *py_interp_error(pyjob *pj, const char *where, int fallback_line)
{
    PyObject *exc = fetch_exception();
    char *msg = NULL;
    if (!exc)
        return str_printf("%s: %s: error", pj->script, where);
    PyObject *fmt = pj->helpers ? PyObject_GetAttrString(pj->helpers,
                                                          "format")
                                : NULL;
    PyObject *line = fallback_line > 0 ? PyLong_FromLong(fallback_line)
                                       : (Py_INCREF(Py_None), Py_None);
    PyObject *m = fmt ? PyObject_CallFunction(fmt, "OssO", exc, pj->script,
                                              where, line)
                      : NULL;
    if (m && PyUnicode_Check(m)) {
        msg = strdup(PyUnicode_AsUTF8(m));
    } else {
        PyErr_Clear();
        char *text = py_strdup(exc);
        msg = str_printf("%s: %s", pj->script, text);
        free(text);
    }
    PyErr_Clear();
    Py_XDECREF(m);
    Py_XDECREF(line);
    Py_XDECREF(fmt);
    Py_DECREF(exc);
    return msg;
}

void py_interp_flush(int out)
{
    if (!Py_IsInitialized() || !pyjob_state.helpers)
        return;
    PyObject *r = PyObject_CallMethod(pyjob_state.helpers, "flush", "i", out);
    Py_XDECREF(r);
    PyErr_Clear();
}

void py_interp_capture(void)
{
    PyObject *r = PyObject_CallMethod(pyjob_state.helpers, "capture", NULL);
    Py_XDECREF(r);
    PyErr_Clear(); /* no temporary file: prints go out directly */
}

int py_interp_release(int ok)
{
    if (!Py_IsInitialized() || !pyjob_state.helpers)
        return 0;
    PyObject *r = PyObject_CallMethod(pyjob_state.helpers, "release", "i",
                                      ok);
    Py_XDECREF(r);
    return r ? 0 : -1;
}

int py_interp_load(pyjob *pj)
{
    int argc = 0;
    char **argv = read_cmdline(&argc);
    int at = argv ? find_script(argv, argc) : -1;
    char *err = NULL;
    if (at < 0) {
        free(argv);
        pj->options = calloc(1, sizeof *pj->options);
        return 0;
    }
    pj->script = strdup(argv[at]);
    if (start_python(pj, &err) != 0) {
        set_error(pj, MR_ERROR, err);
        goto fail;
    }
    /* before the script's folder is on sys.path, so that a script
     * named types.py cannot replace what the helpers import */
    pj->mr = PyImport_ImportModule("mr");
    PyObject *code = Py_CompileString(helpers_src, "<mr helpers>",
                                      Py_file_input);
    pj->helpers = code ? PyImport_ExecCodeModule("_mr_helpers", code) : NULL;
    Py_XDECREF(code);
    if (!pj->mr || !pj->helpers) {
        set_error(pj, MR_ERROR, py_interp_error(pj, "starting Python", 0));
        goto fail;
    }
    /* the script's folder first, as `python3 script.py` does */
    PyObject *path = PySys_GetObject("path"); /* borrowed */
    PyObject *dir = PyUnicode_DecodeFSDefault(pj->script);
    PyObject *abs = NULL;
    PyObject *osp = PyImport_ImportModule("os.path");
    if (osp && dir) {
        abs = PyObject_CallMethod(osp, "abspath", "O", dir);
        PyObject *d = abs ? PyObject_CallMethod(osp, "dirname", "O", abs)
                          : NULL;
        if (d && path)
            PyList_Insert(path, 0, d);
        Py_XDECREF(d);
    }
    Py_XDECREF(osp);
    Py_XDECREF(dir);
    Py_XDECREF(abs);
    pj->module = PyObject_CallMethod(pj->helpers, "load", "s", pj->script);
    if (!pj->module) {
        int usage = PyErr_ExceptionMatches(PyExc_FileNotFoundError) ||
                    PyErr_ExceptionMatches(PyExc_IsADirectoryError) ||
                    PyErr_ExceptionMatches(PyExc_PermissionError);
        if (usage) {
            PyObject *e = fetch_exception();
            char *t = py_strdup(e);
            Py_DECREF(e);
            set_error(pj, MR_EUSAGE, str_printf("cannot read the script: "
                                                "%s%s",
                                                t, ""));
            free(t);
        } else {
            set_error(pj, MR_ERROR, py_interp_error(pj, "loading the script",
                                                    0));
        }
        goto fail;
    }
    if (read_shape(pj) != 0 || read_options(pj) != 0) {
        set_error(pj, MR_ERROR, py_interp_error(pj, "the script's "
                                                    "declarations",
                                                0));
        goto fail;
    }
    free(argv);
    return 1;
fail:
    for (int k = 0; k < PYF_N; k++)
        Py_CLEAR(pj->fn[k]);
    pj->fold = PYC_FOLD_NONE;
    free(pj->options);
    placeholder_options(pj, argv, argc, at + 1);
    free(argv);
    return 1;
}
