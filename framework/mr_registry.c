/* mr_job.c -- finding, loading and validating job modules.
 *
 * `mr-run NAME` looks for NAME.so in $MR_JOB_PATH and then in the job
 * folder of the installation, which is found from the executable itself
 * (<bin>/../lib/mr/jobs): the build tree has the same layout, so the same
 * rule serves `build/bin/mr-run` and an installed one, with no environment.
 * The current directory is never searched.
 *
 * A module is opened with G_MODULE_BIND_LOCAL (no lazy binding: undefined
 * symbols fail at open, not in the middle of a run), its one entry symbol
 * mr_job_<NAME>_init is called with a registry, and the job must call
 * mr_job_register() exactly once. The ABI rule (GStreamer's): same major,
 * job minor <= host minor. The descriptor is copied into a zeroed
 * host-sized struct, so fields appended after the job was built read as
 * NULL. Accepted modules stay loaded for the life of the process.
 *
 * Trust: a module runs with the user's rights on every rank, so it is
 * loaded only if nobody else could have written it. The rule is the one
 * OpenSSH applies to its keys: the path is made absolute and its symlinks
 * resolved first (what is checked is what is opened: dlopen() of a name
 * without a slash would search LD_LIBRARY_PATH); the file must be owned by
 * the user or root and be writable by neither group nor others; and so
 * must every folder from the file's up to /, except that a sticky folder
 * (like /tmp) owned by the user or root may be writable by others, since
 * they cannot replace what they do not own there. MR_ALLOW_UNSAFE_PLUGINS=1
 * overrides this for development.
 *
 * A module that crashes in its init function takes the process down: when
 * a job is run, the crash handler (mr_signal.c) names the file; --list
 * first tries each candidate in a child process, so one bad file is
 * reported and skipped instead of ending the listing.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_optint.h"
#include "mr_signal.h"

#include <errno.h>
#include <fcntl.h>
#include <glib-unix.h>
#include <gmodule.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct entry {
    struct mr_job job;
    char *path;
    GModule *module;
} entry;

struct mr_registry {
    GPtrArray *entries; /* entry *, sorted by name on demand */
    /* State of the init call in progress. */
    const char *loading_path;
    int registrations;
    struct mr_job pending;
    char *pending_error;
    int pending_status;
    void (*warn)(const char *msg); /* NULL: warnings are dropped */
};

static void entry_free(gpointer p)
{
    entry *e = p;
    if (e->module)
        g_module_close(e->module);
    g_free(e->path);
    g_free(e);
}

mr_registry *mr_registry_new(void)
{
    mr_registry *reg = g_new0(mr_registry, 1);
    reg->entries = g_ptr_array_new_with_free_func(entry_free);
    return reg;
}

void mr_registry_set_warn(mr_registry *reg, void (*warn)(const char *msg))
{
    reg->warn = warn;
}

static void warn(const mr_registry *reg, char *msg)
{
    if (reg->warn)
        reg->warn(msg);
    g_free(msg);
}

void mr_registry_free(mr_registry *reg)
{
    if (!reg)
        return;
    g_ptr_array_free(reg->entries, TRUE);
    g_free(reg->pending_error);
    g_free(reg);
}

void mr_strv_free(char **strv)
{
    g_strfreev(strv);
}

static entry *lookup(const mr_registry *reg, const char *name)
{
    for (guint i = 0; i < reg->entries->len; i++) {
        entry *e = g_ptr_array_index(reg->entries, i);
        if (strcmp(e->job.name, name) == 0)
            return e;
    }
    return NULL;
}

static int valid_name(const char *name)
{
    if (!name || !*name)
        return 0;
    for (const char *p = name; *p; p++)
        if (!g_ascii_isalnum(*p) && *p != '_')
            return 0;
    return 1;
}

int mr_job_register_v(mr_registry *reg, const struct mr_job *job,
                      uint32_t abi, size_t size)
{
    int rc = MR_OK;
    reg->registrations++;
    if (reg->registrations > 1) {
        rc = MR_EINVAL;
        g_free(reg->pending_error);
        reg->pending_error = g_strdup("the job registers more than once");
        goto out;
    }
    if (abi >> 16 != MR_ABI_MAJOR || (abi & 0xffff) > MR_ABI_MINOR) {
        rc = MR_EABI;
        reg->pending_error = g_strdup_printf(
            "built for plugin ABI %u.%u, but this mr-run speaks %u.%u "
            "(rebuild the job against this version of mr)",
            abi >> 16, abi & 0xffff, MR_ABI_MAJOR, MR_ABI_MINOR);
        goto out;
    }
    if (!job || size < offsetof(struct mr_job, map) + sizeof job->map) {
        rc = MR_EABI;
        reg->pending_error = g_strdup_printf(
            "job descriptor of %zu bytes is too small", size);
        goto out;
    }
    memset(&reg->pending, 0, sizeof reg->pending);
    memcpy(&reg->pending, job,
           size < sizeof reg->pending ? size : sizeof reg->pending);
    const struct mr_job *j = &reg->pending;
    const char *clash = NULL;
    if (!valid_name(j->name)) {
        rc = MR_EINVAL;
        reg->pending_error = g_strdup("the job has no valid name "
                                      "(letters, digits and _ only)");
    } else if (j->split && !j->map) {
        rc = MR_EINVAL;
        reg->pending_error = g_strdup_printf("job '%s' has split but no map",
                                             j->name);
    } else if (j->fold && j->value_size == 0) {
        rc = MR_EINVAL;
        reg->pending_error = g_strdup_printf(
            "job '%s' has fold but value_size 0", j->name);
    } else if (mr__opt_engine_clash(j->options, &clash)) {
        rc = MR_EINVAL;
        reg->pending_error = g_strdup_printf(
            "job '%s' declares option --%s, which is an engine option",
            j->name, clash);
    }
out:
    if (rc != MR_OK && reg->pending_status == MR_OK)
        reg->pending_status = rc;
    return rc;
}

static int trusted_owner(uid_t uid)
{
    return uid == geteuid() || uid == 0;
}

static char *owner_name(uid_t uid)
{
    struct passwd pw, *res = NULL;
    char buf[1024];
    if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res)
        return g_strdup(res->pw_name);
    return g_strdup_printf("uid %u", (unsigned)uid);
}

/* Why a file or folder with status `st` could have been written by someone
 * else, or NULL. `what` is "the file" or "its folder X". */
static char *untrusted_node(const struct stat *st, const char *what,
                            int folder)
{
    if (!trusted_owner(st->st_uid)) {
        char *who = owner_name(st->st_uid);
        char *why = g_strdup_printf("%s belongs to %s, not to you or root",
                                    what, who);
        g_free(who);
        return why;
    }
    if ((st->st_mode & (S_IWGRP | S_IWOTH)) &&
        !(folder && (st->st_mode & S_ISVTX)))
        return g_strdup_printf("%s is writable by %s", what,
                               st->st_mode & S_IWOTH ? "other users"
                                                     : "its group");
    return NULL;
}

/* NULL if the module at `real` (absolute, links resolved) may be loaded,
 * else the reason (caller frees). */
static char *untrusted(const char *real)
{
    const char *allow = getenv("MR_ALLOW_UNSAFE_PLUGINS");
    if (allow && strcmp(allow, "1") == 0)
        return NULL;
    struct stat st;
    if (stat(real, &st) != 0)
        return g_strdup_printf("cannot stat it: %s", g_strerror(errno));
    char *why = untrusted_node(&st, "the file", 0);
    char *dir = g_path_get_dirname(real);
    while (!why) {
        char *what = g_strdup_printf("its folder %s", dir);
        if (stat(dir, &st) != 0)
            why = g_strdup_printf("cannot stat %s: %s", what,
                                  g_strerror(errno));
        else
            why = untrusted_node(&st, what, 1);
        g_free(what);
        if (strcmp(dir, "/") == 0)
            break;
        char *up = g_path_get_dirname(dir);
        g_free(dir);
        dir = up;
    }
    g_free(dir);
    return why;
}

static char *name_from_path(const char *path)
{
    char *base = g_path_get_basename(path);
    if (g_str_has_suffix(base, ".so"))
        base[strlen(base) - 3] = '\0';
    return base;
}

/* g_module_open's error, but a job built against a newer libmr (a symbol
 * version this one lacks, libmr.map) gets the versions instead. */
static char *load_error(const char *shown, const char *why, int *rc)
{
    *rc = MR_EINVAL;
    const char *v = strstr(why, "version `MR_");
    if (!v)
        v = strstr(why, "version 'MR_");
    if (v && strstr(why, "not found")) {
        int major = 0, minor = 0;
        if (sscanf(v + 12, "%d.%d", &major, &minor) == 2) {
            *rc = MR_EABI;
            return g_strdup_printf(
                "%s: built for mr %d.%d: it needs libmr's symbols of ABI "
                "%d.%d, and this mr has ABI %d.%d; rebuild the job "
                "against this mr or install a newer mr",
                shown, major, minor, major, minor, MR_ABI_MAJOR,
                MR_ABI_MINOR);
        }
    }
    return g_strdup_printf("%s: cannot load plugin: %s", shown, why);
}

int mr_registry_load_file(mr_registry *reg, const char *path, char **error)
{
    int rc = MR_OK;
    char *name = name_from_path(path);
    char *sym = g_strdup_printf("mr_job_%s_init", name);
    GModule *mod = NULL;
    char *shown = NULL;
    *error = NULL;

    char *real = realpath(path, NULL);
    if (!real || !g_file_test(real, G_FILE_TEST_IS_REGULAR)) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: no such plugin file", path);
        goto out;
    }
    if (!valid_name(name)) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: '%s' is not a valid job name", path,
                                 name);
        goto out;
    }
    /* `shown` names the file as given and, if links led elsewhere, where */
    shown = strcmp(real, path) == 0
                ? g_strdup(path)
                : g_strdup_printf("%s (%s)", path, real);
    char *unsafe = untrusted(real);
    if (unsafe) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: refused: %s (anyone who can write "
                                 "there could have replaced it; set "
                                 "MR_ALLOW_UNSAFE_PLUGINS=1 to load it "
                                 "anyway)",
                                 shown, unsafe);
        g_free(unsafe);
        goto out;
    }
    mr__signal_loading(real);
    mod = g_module_open(real, G_MODULE_BIND_LOCAL);
    if (!mod) {
        mr__signal_loading(NULL);
        *error = load_error(shown, g_module_error(), &rc);
        goto out;
    }
    gpointer fn = NULL;
    if (!g_module_symbol(mod, sym, &fn) || !fn) {
        mr__signal_loading(NULL);
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: not an mr job: it has no entry symbol "
                                 "%s",
                                 path, sym);
        goto out;
    }
    reg->loading_path = path;
    reg->registrations = 0;
    reg->pending_status = MR_OK;
    g_free(reg->pending_error);
    reg->pending_error = NULL;
    int init_rc = ((mr_job_init_fn *)fn)(reg);
    mr__signal_loading(NULL);
    if (reg->pending_status != MR_OK) {
        rc = reg->pending_status;
        *error = g_strdup_printf("%s: refused: %s", path,
                                 reg->pending_error);
    } else if (reg->registrations == 0) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: refused: %s() did not call "
                                 "mr_job_register()",
                                 path, sym);
    } else if (init_rc != MR_OK) {
        rc = init_rc;
        *error = g_strdup_printf("%s: refused: %s() returned %d (%s)", path,
                                 sym, init_rc, mr_strerror(init_rc));
    } else if (strcmp(reg->pending.name, name) != 0) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: refused: the file registers job '%s'; "
                                 "a job's file must be named after it",
                                 path, reg->pending.name);
    } else if (lookup(reg, name)) {
        rc = MR_EINVAL;
        *error = g_strdup_printf("%s: refused: job '%s' is already "
                                 "registered from %s",
                                 path, name, lookup(reg, name)->path);
    }
    if (rc != MR_OK)
        goto out;
    entry *e = g_new0(entry, 1);
    e->job = reg->pending;
    e->path = g_strdup(real);
    /* Job modules are never unloaded (as Python never unloads extension
     * modules): code that outlives its module is a crash, and leak reports
     * from sanitizers can only name frames of modules still mapped. */
    g_module_make_resident(mod);
    e->module = mod;
    mod = NULL;
    g_ptr_array_add(reg->entries, e);
out:
    if (mod) /* refused: messages are copies, nothing points into it */
        g_module_close(mod);
    free(real);
    g_free(shown);
    g_free(sym);
    g_free(name);
    return rc;
}

static char *exe_job_dir(void)
{
    char *exe = g_file_read_link("/proc/self/exe", NULL);
    if (!exe)
        return NULL;
    char *bin = g_path_get_dirname(exe);
    char *dir = g_build_filename(bin, "..", MR_JOB_DIR_REL, NULL);
    char *canon = g_canonicalize_filename(dir, NULL);
    g_free(exe);
    g_free(bin);
    g_free(dir);
    return canon;
}

char **mr_job_dirs(void)
{
    GPtrArray *dirs = g_ptr_array_new();
    const char *env = getenv("MR_JOB_PATH");
    if (env && *env) {
        char **parts = g_strsplit(env, ":", -1);
        for (char **p = parts; *p; p++)
            if (**p) /* an empty element would mean ".": never */
                g_ptr_array_add(dirs, g_strdup(*p));
        g_strfreev(parts);
    }
    char *own = exe_job_dir();
    if (own)
        g_ptr_array_add(dirs, own);
    g_ptr_array_add(dirs, NULL);
    return (char **)g_ptr_array_free(dirs, FALSE);
}

/* The first job of a name in the search path wins; another file of that
 * name later in the path is said, so that it cannot go unnoticed that one
 * hides the other. */
static void shadowed(const mr_registry *reg, const entry *e,
                     const char *dir, const char *file)
{
    char *path = g_build_filename(dir, file, NULL);
    char *real = realpath(path, NULL);
    if (real && strcmp(real, e->path) != 0)
        warn(reg, g_strdup_printf("job '%s' is loaded from %s; %s, later in "
                                  "the job path, is ignored",
                                  e->job.name, e->path, path));
    free(real);
    g_free(path);
}

const struct mr_job *mr_registry_find(mr_registry *reg, const char *name,
                                      char **error)
{
    *error = NULL;
    entry *e = lookup(reg, name);
    if (e)
        return &e->job;
    if (!valid_name(name)) {
        *error = g_strdup_printf("'%s' is not a job name", name);
        return NULL;
    }
    char **dirs = mr_job_dirs();
    char *file = g_strconcat(name, ".so", NULL);
    const struct mr_job *job = NULL;
    char **d = dirs;
    for (; *d && !job && !*error; d++) {
        char *path = g_build_filename(*d, file, NULL);
        if (g_file_test(path, G_FILE_TEST_EXISTS) &&
            mr_registry_load_file(reg, path, error) == MR_OK)
            job = &lookup(reg, name)->job;
        g_free(path);
    }
    if (job)
        for (; *d; d++)
            shadowed(reg, lookup(reg, name), *d, file);
    if (!job && !*error) {
        char *where = g_strjoinv(":", dirs);
        *error = g_strdup_printf("unknown job '%s' (searched %s)", name,
                                 where);
        g_free(where);
    }
    g_free(file);
    g_strfreev(dirs);
    return job;
}

static gint by_name(gconstpointer a, gconstpointer b)
{
    const entry *x = *(entry *const *)a, *y = *(entry *const *)b;
    return strcmp(x->job.name, y->job.name);
}

/* Tries a module in a child process, so that one that crashes or hangs
 * in its init function cannot take the caller down. NULL if the child
 * came back (loaded or refused: the caller loads it again, for real, and
 * gets the refusal's message), else what went wrong. The child says it
 * came back through a pipe, not its exit status, which a tool that runs
 * us (valgrind's --error-exitcode) may change. */
static char *probe(const char *path)
{
    int fds[2];
    if (!g_unix_open_pipe(fds, FD_CLOEXEC, NULL))
        return NULL; /* no child: load it here, as before */
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return NULL;
    }
    if (pid == 0) {
        close(fds[0]);
        int sigs[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
        for (size_t i = 0; i < G_N_ELEMENTS(sigs); i++)
            signal(sigs[i], SIG_DFL);
        alarm(10);
        mr_registry *r = mr_registry_new();
        char *err = NULL;
        mr_registry_load_file(r, path, &err);
        ssize_t w = write(fds[1], "k", 1);
        _exit(w == 1 ? 0 : 3); /* no atexit handlers, no MPI */
    }
    close(fds[1]);
    char c;
    ssize_t got;
    while ((got = read(fds[0], &c, 1)) < 0 && errno == EINTR)
        ;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return NULL;
    if (got == 1)
        return NULL;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
        return g_strdup_printf("%s: skipped: its init function did not "
                               "return within 10 s",
                               path);
    if (WIFSIGNALED(st))
        return g_strdup_printf("%s: skipped: it crashed while registering "
                               "(signal %d, %s)",
                               path, WTERMSIG(st), strsignal(WTERMSIG(st)));
    if (WIFEXITED(st))
        return g_strdup_printf("%s: skipped: it called exit(%d) while "
                               "registering",
                               path, WEXITSTATUS(st));
    return NULL;
}

void mr_registry_load_all(mr_registry *reg, void (*warn_fn)(const char *msg))
{
    void (*old_warn)(const char *) = reg->warn;
    if (warn_fn)
        reg->warn = warn_fn;
    char **dirs = mr_job_dirs();
    for (char **d = dirs; *d; d++) {
        GDir *dir = g_dir_open(*d, 0, NULL);
        if (!dir)
            continue;
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        const char *n;
        while ((n = g_dir_read_name(dir)))
            if (g_str_has_suffix(n, ".so"))
                g_ptr_array_add(names, g_strdup(n));
        g_dir_close(dir);
        g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
        for (guint i = 0; i < names->len; i++) {
            const char *f = *(char **)&names->pdata[i];
            char *job = name_from_path(f);
            entry *e = lookup(reg, job);
            if (e) {
                shadowed(reg, e, *d, f);
            } else {
                char *path = g_build_filename(*d, f, NULL);
                char *err = probe(path);
                if (!err)
                    mr_registry_load_file(reg, path, &err);
                if (err)
                    warn(reg, err);
                g_free(path);
            }
            g_free(job);
        }
        g_ptr_array_free(names, TRUE);
    }
    g_strfreev(dirs);
    g_ptr_array_sort(reg->entries, by_name);
    reg->warn = old_warn;
}

size_t mr_registry_count(const mr_registry *reg)
{
    return reg->entries->len;
}

const struct mr_job *mr_registry_at(const mr_registry *reg, size_t i)
{
    return &((entry *)g_ptr_array_index(reg->entries, i))->job;
}
