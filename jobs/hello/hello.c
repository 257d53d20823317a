/* hello.c -- the MPI hello world as an mr job.
 *
 * Every rank emits one pair in setup: key = its rank (big-endian, so keys
 * sort numerically), value = its host name. There are no map tasks. The
 * pairs go through the shuffle and the ordered output like any job's, so
 * rank 0 prints them in rank order:
 *
 *   Hello from node1. 0 of 4
 *   ...
 *   4 ranks on 2 hosts
 *
 * which is also a quick check that the engine's whole pipeline works on a
 * new cluster.
 */
/* SPDX-License-Identifier: MIT */
#include <mr/mr_job.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct hello_state {
    char **hosts; /* distinct hosts seen by the output, rank 0 */
    size_t nhosts;
} hello_state;

static int hello_setup(mr_ctx *ctx)
{
    char host[256] = "";
    if (gethostname(host, sizeof host - 1) != 0)
        return mr_error(ctx, MR_ERROR, "gethostname failed");
    hello_state *st = calloc(1, sizeof *st);
    if (!st)
        return mr_error(ctx, MR_ERROR, "out of memory");
    mr_ctx_set_state(ctx, st);
    unsigned char key[4];
    mr_put_be32(key, (uint32_t)mr_ctx_rank(ctx));
    return mr_emit(ctx, mr_mem(key, 4), mr_str(host));
}

static int hello_output(mr_ctx *ctx, mr_bytes key, mr_bytes value)
{
    hello_state *st = mr_ctx_state(ctx);
    printf("Hello from %.*s. %u of %d\n", (int)value.len,
           (const char *)value.ptr, mr_get_be32(key.ptr), mr_ctx_nranks(ctx));
    for (size_t i = 0; i < st->nhosts; i++)
        if (strlen(st->hosts[i]) == value.len &&
            memcmp(st->hosts[i], value.ptr, value.len) == 0)
            return MR_OK;
    char **h = realloc(st->hosts, (st->nhosts + 1) * sizeof *h);
    char *copy = malloc(value.len + 1);
    if (!h || !copy) {
        free(copy);
        if (h)
            st->hosts = h;
        return mr_error(ctx, MR_ERROR, "out of memory");
    }
    memcpy(copy, value.ptr, value.len);
    copy[value.len] = '\0';
    st->hosts = h;
    st->hosts[st->nhosts++] = copy;
    return MR_OK;
}

static int hello_finish(mr_ctx *ctx)
{
    hello_state *st = mr_ctx_state(ctx);
    int n = mr_ctx_nranks(ctx);
    printf("%d rank%s on %zu host%s\n", n, n == 1 ? "" : "s", st->nhosts,
           st->nhosts == 1 ? "" : "s");
    return MR_OK;
}

static void hello_teardown(mr_ctx *ctx)
{
    hello_state *st = mr_ctx_state(ctx);
    if (!st)
        return;
    for (size_t i = 0; i < st->nhosts; i++)
        free(st->hosts[i]);
    free(st->hosts);
    free(st);
}

static const struct mr_job hello = {
    .name = "hello",
    .summary = "MPI hello world: every rank reports its host, in rank order",
    .setup = hello_setup,
    .output = hello_output,
    .finish = hello_finish,
    .teardown = hello_teardown,
};

MR_JOB_PLUGIN(hello)
{
    return mr_job_register(reg, &hello);
}
