/* mr_shuffle.c -- exchange partitioned key/value runs between ranks.
 *
 * Each rank has one run per destination rank (ctx->parts, built by
 * mr_emit or from the fold table). The exchange goes in rounds: in each
 * round a rank sends every destination at most shuffle_round / P bytes
 * (whole records; one record even if it is larger, which MR_MAX_ITEM keeps
 * far below 2 GiB), with MPI_Alltoall of the byte counts, so receivers can
 * size their buffers, then MPI_Alltoallv of the bytes. A round therefore
 * never moves a message of 2 GiB or more (MPI counts are int), whatever
 * the data, and the round size bounds the staging buffer. Rounds go on
 * until no rank has anything left (one MPI_Allreduce per round).
 *
 * Memory: the parts are freed as soon as they are sent, so a rank holds
 * about one copy of its data (parts shrinking, recv growing) plus one
 * round's staging buffer.
 *
 * With one rank there is nothing to exchange: parts[0] becomes recv.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

size_t mr__shuffle_cut(const unsigned char *p, size_t len, size_t limit,
                       size_t *nrec)
{
    size_t n = 0, k = 0;
    while (n < len) {
        size_t r = mr__rec_size(p + n);
        if (k > 0 && n + r > limit)
            break;
        n += r;
        k++;
        if (n >= limit)
            break;
    }
    *nrec = k;
    return n;
}

int mr__shuffle_run(mr_ctx *ctx)
{
    int P = ctx->nranks;
    if (P == 1) { /* OPTIMIZATION: nothing to exchange */
        ctx->shuffle_sent = ctx->shuffle_recv = ctx->parts[0].len;
        if (ctx->recv.len == 0) {
            mr__kvbuf_move(&ctx->recv, &ctx->parts[0]);
        } else {
            mr__kvbuf_append_raw(&ctx->recv, ctx->parts[0].data,
                                 ctx->parts[0].len, ctx->parts[0].nrec);
            mr__kvbuf_fini(&ctx->parts[0]);
        }
        return MR_OK;
    }
    size_t limit = (size_t)ctx->cfg->shuffle_round / (size_t)P;
    if (limit < 1)
        limit = 1;
    size_t *pos = g_new0(size_t, P);
    int *scount = g_new(int, P), *rcount = g_new(int, P);
    int *sdispl = g_new(int, P), *rdispl = g_new(int, P);
    /* Counts of records travel with the byte counts. */
    int64_t *smeta = g_new(int64_t, 2 * P), *rmeta = g_new(int64_t, 2 * P);
    mr_kvbuf stage;
    mr__kvbuf_init(&stage);
    int mem_failed = 0;

    for (;;) {
        int more = 0;
        double t0 = mr__now(ctx);
        mr__kvbuf_clear(&stage);
        size_t cut[P], ncut[P], stotal = 0;
        for (int d = 0; d < P; d++) {
            mr_kvbuf *b = &ctx->parts[d];
            cut[d] = mr__shuffle_cut(b->data + pos[d], b->len - pos[d], limit,
                                     &ncut[d]);
            stotal += cut[d];
        }
        /* One exact reservation: growing the staging buffer by doubling
         * copied it over and over (measured: most of the phase). */
        mr__kvbuf_reserve(&stage, stotal + 1);
        for (int d = 0; d < P; d++) {
            mr_kvbuf *b = &ctx->parts[d];
            size_t nrec = ncut[d], n = cut[d];
            g_assert(n < (size_t)INT_MAX);
            sdispl[d] = (int)stage.len;
            mr__kvbuf_append_raw(&stage, b->data + pos[d], n, nrec);
            scount[d] = (int)n;
            smeta[2 * d] = (int64_t)n;
            smeta[2 * d + 1] = (int64_t)nrec;
            pos[d] += n;
            if (pos[d] < b->len)
                more = 1;
            else if (b->data) /* sent in full: give the memory back now */
                mr__kvbuf_fini(b), pos[d] = 0;
        }
        MPI_Alltoall(smeta, 2, MPI_INT64_T, rmeta, 2, MPI_INT64_T,
                     ctx->comm);
        int64_t total = 0, nrec = 0;
        for (int s = 0; s < P; s++) {
            rcount[s] = (int)rmeta[2 * s];
            nrec += rmeta[2 * s + 1];
            rdispl[s] = (int)total;
            total += rmeta[2 * s];
        }
        /* Each sender sends us at most limit bytes plus one record, so a
         * round's receive fits an int unless records are huge and many. */
        g_assert(total < INT_MAX);
        if (mr__mem_check(ctx, (uint64_t)total, "to receive a shuffle round"))
            mem_failed = 1; /* still take part in the collectives */
        mr__kvbuf_reserve(&ctx->recv, (size_t)total + 1);
        MPI_Alltoallv(stage.data, scount, sdispl, MPI_BYTE,
                      ctx->recv.data + ctx->recv.len, rcount, rdispl,
                      MPI_BYTE, ctx->comm);
        ctx->recv.len += (size_t)total;
        ctx->recv.nrec += (size_t)nrec;
        ctx->shuffle_sent += stage.len;
        ctx->shuffle_recv += (uint64_t)total;
        ctx->shuffle_rounds++;
        MPI_Allreduce(MPI_IN_PLACE, &more, 1, MPI_INT, MPI_LOR, ctx->comm);
        mr__span_add(ctx, MR_SPAN_ROUND, t0, mr__now(ctx), stage.len);
        if (!more)
            break;
    }
    mr__kvbuf_fini(&stage);
    g_free(pos);
    g_free(scount);
    g_free(rcount);
    g_free(sdispl);
    g_free(rdispl);
    g_free(smeta);
    g_free(rmeta);
    return mem_failed ? ctx->status : MR_OK;
}
