/* mr_opt.c -- option tables -> parsed values, and --help text.
 *
 * A job declares its options as a table (mr_option); the engine has its own
 * table. Both are parsed from one command line, once per rank, the same way
 * on every rank (argv is identical under mpirun), so an option error is
 * found by every rank and needs no communication. Syntax: --name VALUE or
 * --name=VALUE; flags take no value; `--` ends the options; everything
 * else is a positional argument for the job. A value may start with '-'
 * (so `--top -3` reaches the job, which can say why -3 is wrong).
 *
 * Integers accept a k/M/G/T suffix (powers of 1024), so --shuffle-round 4k
 * and --shuffle-round 64M read naturally.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"
#include "mr_optint.h"
#include "mr_budget.h"
#include "mr_schedule.h"
#include "mr_spill.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct optval {
    int given;
    int flag;
    long i;
    double d;
    char *s;
} optval;

struct mr_optset {
    const mr_option *table;
    size_t n;
    optval *vals;
    GPtrArray *args; /* positional, NULL-terminated */
    mr_optset *engine; /* the engine's values (cfg points into them) */
};

static const mr_option engine_options[] = {
    {"schedule", MR_OPT_STRING, "dynamic",
     "NAME: map-task scheduling: block, cyclic, dynamic or master"},
    {"shuffle-round", MR_OPT_INT, "1G",
     "BYTES: what each rank sends per shuffle round (k/M/G suffixes)"},
    {"mem-limit", MR_OPT_INT, "0",
     "BYTES: stop, saying why, if a rank would use more memory (k/M/G; 0: "
     "none)"},
    {"memory", MR_OPT_STRING, "auto",
     "BYTES: memory budget per rank (k/M/G); past it, sorted runs spill to "
     "--spill-dir. auto: from Slurm's or SGE's limit, the cgroup, or the "
     "node's memory over its ranks"},
    {"spill-dir", MR_OPT_STRING, NULL,
     "DIR: where spilled runs go (default $TMPDIR, else /tmp)"},
    {"spill-codec", MR_OPT_STRING, NULL,
     "NAME: compression of spilled runs: lz4, zstd, zlib or none"},
    {"spill-every", MR_OPT_INT, "0",
     "N: spill after every N records or keys (for tests; 0: by the budget)"},
    {"stall-timeout", MR_OPT_DOUBLE, "20",
     "SECONDS: end the run if a rank gives no sign of life for this long "
     "(stopped, hung, cut off; 0: never)"},
    {"output-mode", MR_OPT_STRING, "auto",
     "MODE: how jobs with parallel output write it: auto (in parallel where "
     "the ranks share the output's file system), parallel, or rank0"},
    {"stats", MR_OPT_FLAG, NULL, "print a table of phase times at the end"},
    {"stats-json", MR_OPT_STRING, NULL,
     "FILE: write the run's phase, rank and task statistics as JSON"},
    {"trace", MR_OPT_STRING, NULL,
     "FILE: write a timeline of every rank (Chrome trace format, for "
     "Perfetto)"},
    {"quiet", MR_OPT_FLAG, NULL, "no progress reports"},
    {"help", MR_OPT_FLAG, NULL, "print this help and exit"},
    {NULL, 0, NULL, NULL},
};

static size_t table_len(const mr_option *t)
{
    size_t n = 0;
    while (t && t[n].name)
        n++;
    return n;
}

static int parse_int(const char *s, long *out)
{
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -1;
    long long mul = 1;
    switch (*end) {
    case 'k': case 'K': mul = 1LL << 10; end++; break;
    case 'm': case 'M': mul = 1LL << 20; end++; break;
    case 'g': case 'G': mul = 1LL << 30; end++; break;
    case 't': case 'T': mul = 1LL << 40; end++; break;
    default: break;
    }
    if (*end != '\0')
        return -1;
    if (v > LLONG_MAX / mul || v < LLONG_MIN / mul)
        return -1;
    *out = (long)(v * mul);
    return 0;
}

static int parse_double(const char *s, double *out)
{
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || errno == ERANGE || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static const char *type_word(mr_opt_type t)
{
    switch (t) {
    case MR_OPT_INT: return "an integer";
    case MR_OPT_DOUBLE: return "a number";
    default: return "a value";
    }
}

/* Stores text as the value of option o. */
static int set_value(const mr_option *o, optval *v, const char *text,
                     char **error)
{
    switch (o->type) {
    case MR_OPT_FLAG:
        v->flag = 1;
        return MR_OK;
    case MR_OPT_INT:
        if (parse_int(text, &v->i) == 0)
            return MR_OK;
        break;
    case MR_OPT_DOUBLE:
        if (parse_double(text, &v->d) == 0)
            return MR_OK;
        break;
    case MR_OPT_STRING:
        g_free(v->s);
        v->s = g_strdup(text);
        return MR_OK;
    }
    *error = g_strdup_printf("option --%s: '%s' is not %s", o->name, text,
                             type_word(o->type));
    return MR_EUSAGE;
}

static mr_optset *optset_new(const mr_option *table, char **error)
{
    mr_optset *s = g_new0(mr_optset, 1);
    s->table = table;
    s->n = table_len(table);
    s->vals = g_new0(optval, s->n ? s->n : 1);
    s->args = g_ptr_array_new_with_free_func(g_free);
    for (size_t i = 0; i < s->n; i++) {
        const mr_option *o = &table[i];
        if (o->fallback && o->type != MR_OPT_FLAG &&
            set_value(o, &s->vals[i], o->fallback, error) != MR_OK) {
            mr_optset_free(s);
            return NULL;
        }
    }
    return s;
}

void mr_optset_free(mr_optset *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        g_free(s->vals[i].s);
    mr_optset_free(s->engine);
    g_free(s->vals);
    g_ptr_array_free(s->args, TRUE);
    g_free(s);
}

static long find(const mr_optset *s, const char *name, size_t len)
{
    for (size_t i = 0; i < s->n; i++)
        if (strlen(s->table[i].name) == len &&
            strncmp(s->table[i].name, name, len) == 0)
            return (long)i;
    return -1;
}

int mr_config_parse(const struct mr_job *job, int argc, char **argv,
                    mr_config *cfg, mr_optset **out, char **error)
{
    int rc = MR_OK;
    *out = NULL;
    *error = NULL;
    mr_optset *js = optset_new(job->options, error);
    mr_optset *es = js ? optset_new(engine_options, error) : NULL;
    if (!js || !es) {
        rc = MR_EINVAL; /* a bad default in the job's table */
        goto out;
    }
    int only_args = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_args || a[0] != '-' || a[1] == '\0') {
            g_ptr_array_add(js->args, g_strdup(a));
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_args = 1;
            continue;
        }
        if (strcmp(a, "-h") == 0)
            a = "--help";
        if (a[1] != '-') {
            *error = g_strdup_printf("unknown option '%s'", a);
            rc = MR_EUSAGE;
            goto out;
        }
        const char *name = a + 2, *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        mr_optset *set = js;
        long k = find(js, name, len);
        if (k < 0) {
            set = es;
            k = find(es, name, len);
        }
        if (k < 0) {
            *error = g_strdup_printf("unknown option '--%.*s'", (int)len,
                                     name);
            rc = MR_EUSAGE;
            goto out;
        }
        const mr_option *o = &set->table[k];
        const char *val = NULL;
        if (o->type == MR_OPT_FLAG) {
            if (eq) {
                *error = g_strdup_printf("option --%s takes no value",
                                         o->name);
                rc = MR_EUSAGE;
                goto out;
            }
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            *error = g_strdup_printf("option --%s needs a value", o->name);
            rc = MR_EUSAGE;
            goto out;
        }
        set->vals[k].given = 1;
        rc = set_value(o, &set->vals[k], val, error);
        if (rc != MR_OK)
            goto out;
    }
    g_ptr_array_add(js->args, NULL);

    memset(cfg, 0, sizeof *cfg);
    cfg->help = es->vals[find(es, "help", 4)].flag;
    cfg->quiet = es->vals[find(es, "quiet", 5)].flag;
    cfg->stats = es->vals[find(es, "stats", 5)].flag;
    cfg->stats_json = es->vals[find(es, "stats-json", 10)].s;
    cfg->trace = es->vals[find(es, "trace", 5)].s;
    cfg->shuffle_round = es->vals[find(es, "shuffle-round", 13)].i;
    cfg->mem_limit = es->vals[find(es, "mem-limit", 9)].i;
    if (cfg->mem_limit < 0) {
        *error = g_strdup_printf("option --mem-limit: %ld is negative",
                                 cfg->mem_limit);
        rc = MR_EUSAGE;
        goto out;
    }
    const char *mem = es->vals[find(es, "memory", 6)].s;
    uint64_t memv = 0;
    if (mem && strcmp(mem, "auto") != 0 &&
        (mr__size_parse(mem, &memv) != MR_OK || memv < ((uint64_t)1 << 20) || memv > (uint64_t)LONG_MAX)) {
        *error = g_strdup_printf("option --memory: '%s' is not a size of at "
                                 "least 1M (k/M/G suffixes) or auto",
                                 mem);
        rc = MR_EUSAGE;
        goto out;
    }
    cfg->memory = (long)memv;
    cfg->spill_dir = es->vals[find(es, "spill-dir", 9)].s;
    const char *codec = es->vals[find(es, "spill-codec", 11)].s;
    mr_codec c = MR_SPILL_CODEC_DEFAULT;
    if (codec && mr__codec_parse(codec, &c) != MR_OK) {
        *error = g_strdup_printf("option --spill-codec: '%s' is not one of "
                                 "lz4, zstd, zlib, none",
                                 codec);
        rc = MR_EUSAGE;
        goto out;
    }
    cfg->spill_codec = (int)c;
    cfg->spill_every = es->vals[find(es, "spill-every", 11)].i;
    if (cfg->spill_every < 0) {
        *error = g_strdup_printf("option --spill-every: %ld is negative",
                                 cfg->spill_every);
        rc = MR_EUSAGE;
        goto out;
    }
    cfg->stall_timeout = es->vals[find(es, "stall-timeout", 13)].d;
    if (cfg->stall_timeout != 0 && cfg->stall_timeout < 3) {
        *error = g_strdup_printf("option --stall-timeout: %g is below 3 s "
                                 "(heartbeats come once a second; 0: "
                                 "never)",
                                 cfg->stall_timeout);
        rc = MR_EUSAGE;
        goto out;
    }
    const char *omode = es->vals[find(es, "output-mode", 11)].s;
    static const char *const omodes[] = {"auto", "parallel", "rank0"};
    cfg->output_mode = -1;
    for (int m = 0; m < 3; m++)
        if (omode && strcmp(omode, omodes[m]) == 0)
            cfg->output_mode = m;
    if (cfg->output_mode < 0) {
        *error = g_strdup_printf("option --output-mode: '%s' is not one of "
                                 "auto, parallel, rank0",
                                 omode ? omode : "");
        rc = MR_EUSAGE;
        goto out;
    }
    const char *sched = es->vals[find(es, "schedule", 8)].s;
    if (mr__sched_parse(sched, &cfg->schedule) != MR_OK) {
        *error = g_strdup_printf("option --schedule: '%s' is not one of "
                                 "block, cyclic, dynamic, master",
                                 sched);
        rc = MR_EUSAGE;
        goto out;
    }
    if (cfg->shuffle_round < 64 || cfg->shuffle_round > (1L << 30)) {
        *error = g_strdup_printf("option --shuffle-round: %ld is outside "
                                 "64 bytes .. 1G",
                                 cfg->shuffle_round);
        rc = MR_EUSAGE;
        goto out;
    }
out:
    if (rc == MR_OK) {
        js->engine = es;
        *out = js;
    } else {
        mr_optset_free(es);
        mr_optset_free(js);
    }
    return rc;
}

/* The name of an option's value in --help: a help text that begins with
 * one upper-case word and ": " names it ("FILE: write the table here"),
 * else the type does (N, X, TEXT). Sets *help past the name. */
static const char *value_name(const mr_option *o, const char **help,
                              char *buf, size_t size)
{
    const char *h = o->help ? o->help : "";
    *help = h;
    if (o->type == MR_OPT_FLAG)
        return "";
    const char *colon = strstr(h, ": ");
    size_t n = colon ? (size_t)(colon - h) : 0;
    int named = n > 0 && n < size - 1 && g_ascii_isupper(h[0]);
    for (size_t i = 0; named && i < n; i++)
        named = g_ascii_isupper(h[i]) || g_ascii_isdigit(h[i]) ||
                strchr("_-.,:|", h[i]) != NULL;
    if (named) {
        buf[0] = ' ';
        memcpy(buf + 1, h, n);
        buf[n + 1] = '\0';
        *help = colon + 2;
        return buf;
    }
    return o->type == MR_OPT_INT ? " N" : o->type == MR_OPT_DOUBLE ? " X"
                                                                  : " TEXT";
}

static void usage_table(GString *s, const mr_option *t)
{
    for (size_t i = 0; t && t[i].name; i++) {
        const mr_option *o = &t[i];
        char buf[64];
        const char *help;
        const char *arg = value_name(o, &help, buf, sizeof buf);
        char *left = g_strdup_printf("--%s%s", o->name, arg);
        g_string_append_printf(s, "  %-24s %s", left, help);
        if (o->fallback && o->type != MR_OPT_FLAG)
            g_string_append_printf(s, " (default: %s)", o->fallback);
        g_string_append_c(s, '\n');
        g_free(left);
    }
}

char *mr_usage(const struct mr_job *job)
{
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "usage: mpirun -np N mr-run %s [options]%s%s\n",
                           job->name, job->usage ? " " : "",
                           job->usage ? job->usage : "");
    if (job->summary)
        g_string_append_printf(s, "%s\n", job->summary);
    if (table_len(job->options)) {
        g_string_append(s, "\njob options:\n");
        usage_table(s, job->options);
    }
    g_string_append(s, "\nengine options:\n");
    usage_table(s, engine_options);
    return g_string_free(s, FALSE);
}

int mr__opt_engine_clash(const mr_option *table, const char **name)
{
    for (size_t i = 0; table && table[i].name; i++)
        for (size_t j = 0; engine_options[j].name; j++)
            if (strcmp(table[i].name, engine_options[j].name) == 0) {
                *name = table[i].name;
                return 1;
            }
    return 0;
}

/* ---------------- accessors ---------------- */

int mr__optset_argc(const mr_optset *s)
{
    return (int)s->args->len - 1;
}

const char *const *mr__optset_argv(const mr_optset *s)
{
    return (const char *const *)s->args->pdata;
}

static const char *const type_names[] = {"a flag", "an integer",
                                         "a number", "a string"};

/* A job that reads an option it does not declare, or as another type,
 * has a bug that no run can survive: say which, and abort (the crash
 * handler adds the rank and the phase). Not assert(): the release build
 * would read past the table. */
static long find_or_die(const mr_ctx *ctx, const char *call,
                        const char *name, int type)
{
    const mr_optset *s = ctx->opts;
    long k = find(s, name, strlen(name));
    if (k < 0 || (type >= 0 && s->table[k].type != (mr_opt_type)type)) {
        if (k < 0)
            fprintf(stderr, "mr-run: job %s: %s(\"%s\"): the job declares "
                    "no option --%s (a bug in the job)\n", ctx->job.name,
                    call, name, name);
        else
            fprintf(stderr, "mr-run: job %s: %s(\"%s\"): --%s is declared "
                    "as %s (a bug in the job)\n", ctx->job.name, call, name,
                    name, type_names[s->table[k].type & 3]);
        fflush(stderr);
        abort();
    }
    return k;
}

static const optval *lookup(const mr_ctx *ctx, const char *call,
                            const char *name, mr_opt_type type)
{
    return &ctx->opts->vals[find_or_die(ctx, call, name, (int)type)];
}

int mr_opt_flag(const mr_ctx *ctx, const char *name)
{
    return lookup(ctx, "mr_opt_flag", name, MR_OPT_FLAG)->flag;
}

long mr_opt_int(const mr_ctx *ctx, const char *name)
{
    return lookup(ctx, "mr_opt_int", name, MR_OPT_INT)->i;
}

double mr_opt_double(const mr_ctx *ctx, const char *name)
{
    return lookup(ctx, "mr_opt_double", name, MR_OPT_DOUBLE)->d;
}

const char *mr_opt_string(const mr_ctx *ctx, const char *name)
{
    return lookup(ctx, "mr_opt_string", name, MR_OPT_STRING)->s;
}

int mr_opt_given(const mr_ctx *ctx, const char *name)
{
    return ctx->opts->vals[find_or_die(ctx, "mr_opt_given", name, -1)].given;
}
