/* fuzz_opt.c -- libFuzzer target: the command-line parser.
 *
 * The input is split at NUL bytes into argv; mr_config_parse must either
 * accept it or return MR_EUSAGE with a message, never crash, leak or read
 * out of bounds, for a job table with every option type.
 */
/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#include "mr_optint.h"

static const mr_option opts[] = {
    {"top", MR_OPT_INT, "10", "an int"},
    {"ratio", MR_OPT_DOUBLE, "0.5", "a double"},
    {"out", MR_OPT_STRING, NULL, "a string"},
    {"fast", MR_OPT_FLAG, NULL, "a flag"},
    {NULL, 0, NULL, NULL},
};
static const struct mr_job job = {.name = "fuzz", .options = opts};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *argv[64];
    int argc = 0;
    for (size_t i = 0; i <= size && argc < 63;) {
        argv[argc++] = buf + i;
        i += strlen(buf + i) + 1;
    }
    argv[argc] = NULL;
    mr_config cfg;
    mr_optset *set = NULL;
    char *err = NULL;
    int rc = mr_config_parse(&job, argc, argv, &cfg, &set, &err);
    if (rc == MR_OK) {
        if (set == NULL || err != NULL)
            abort();
        /* Positional arguments come back intact and NULL-terminated. */
        int n = mr__optset_argc(set);
        const char *const *a = mr__optset_argv(set);
        if (n < 0 || n > argc || a[n] != NULL)
            abort();
        mr_optset_free(set);
    } else if (rc != MR_EUSAGE || set != NULL || err == NULL) {
        abort();
    }
    g_free(err);
    free(buf);
    return 0;
}
