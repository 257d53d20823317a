/* mr_shuffle.c -- exchange partitioned key/value runs between ranks.
 *
 * Each rank has one run per destination rank (built by mr_emit or from
 * the fold table). The rank's own run never goes through MPI: it becomes
 * the received `own` (moved, not copied). For the others, one
 * MPI_Alltoall of the totals (bytes, records) lets every rank allocate
 * the received `in` once, at its exact size, with one region per source rank.
 * Then the bytes move in rounds of one MPI_Alltoallw each: in a round
 * every rank sends every destination the next min(limit, left) bytes of
 * its run, limit <= shuffle_round / P. No message reaches 2 GiB (MPI
 * counts are int) whatever the data, and the round size is an option, so
 * tests force thousands of rounds with little data.
 *
 * Rounds cut runs at any byte, not at record boundaries: a source's bytes
 * land in order in its region, so a record split between rounds is whole
 * again when its last piece arrives. Every rank can compute every round's
 * counts itself from the totals, so a round is one collective and nobody
 * walks the records to find a cut (that walk read every byte once more).
 * The number of rounds is one MPI_Allreduce (max) at the start.
 *
 * Why MPI_Alltoallw and not MPI_Alltoallv: Alltoallv moves one send
 * buffer with int displacements, and the runs are separate arenas, so it
 * needed a staging copy of every byte (and first-touch faults on the
 * stage; with them, half the phase). Alltoallw takes a datatype per peer:
 * each is a one-block hindexed type at an absolute address, used from
 * MPI_BOTTOM, so bytes go straight from a run into the receiver's region
 * (one copy, MPI's), and regions beyond 2 GiB need no int displacement.
 *
 * Why two receive runs and not one: appending what arrives to the own run
 * meant growing it, and a realloc of tens of MiB is a copy (glibc keeps
 * big blocks in the heap here, see mr_run.c); and a fresh block for both
 * meant copying the own run. The reduce phase reads both runs
 * (mr__group_build takes several), so nothing is copied but by MPI.
 *
 * Memory: what a round sent goes back after it, and a run is freed once
 * sent in full, so a rank holds about one copy of its data (runs
 * shrinking, `in` growing) and no staging buffer. Hence a round is also
 * at most MEM_ROUND bytes a rank: with one round, the runs and `in` were
 * both whole at its end.
 */
/* SPDX-License-Identifier: MIT */
#define _GNU_SOURCE /* mremap, for mr_bigmem.h */
#include "mr_bigmem.h"
#include "mr_mem.h"
#include "mr_mpierr.h"
#include "mr_phases.h"
#include "mr_stats.h"

/* What a rank sends in a round, at most, when the limit allows less. */
#define MEM_ROUND ((uint64_t)32 << 20)

/* The rank's own run becomes got->own, without MPI and without a copy. */
static void keep_own(mr_ctx *ctx, mr_kvbuf *runs, mr_received *got)
{
    mr_kvbuf *own = &runs[ctx->rank];
    ctx->shuffle_sent += own->len;
    ctx->shuffle_recv += own->len;
    mr__kvbuf_move(&got->own, own);
}

/* The next piece of one side of a peer's exchange: the bytes at
 * base[0..total), `done` of them moved in earlier rounds. Sets a
 * one-block datatype at the piece's absolute address (count 1) or
 * count 0; returns the piece's size. */
static size_t piece(unsigned char *base, size_t total, size_t done,
                    size_t limit, int *count, MPI_Datatype *type)
{
    size_t n = MIN(limit, total - done);
    *count = 0;
    *type = MPI_BYTE;
    if (n) {
        MPI_Aint at;
        int len = (int)n;
        MR_MPI(MPI_Get_address(base + done, &at));
        MR_MPI(MPI_Type_create_hindexed(1, &len, &at, MPI_BYTE, type));
        MR_MPI(MPI_Type_commit(type));
        *count = 1;
    }
    return n;
}

int mr__shuffle_run(mr_ctx *ctx, mr_kvbuf *runs, mr_received *got)
{
    int P = ctx->nranks, me = ctx->rank;
    keep_own(ctx, runs, got);
    if (P == 1)
        return MR_OK;
    size_t limit = (size_t)ctx->cfg->shuffle_round / (size_t)P;
    limit = MAX(limit, 1);
    g_assert(limit < (size_t)INT_MAX);
    int64_t *smeta = g_new0(int64_t, 2 * P), *rmeta = g_new0(int64_t, 2 * P);
    size_t *sdone = g_new0(size_t, P), *rdone = g_new0(size_t, P);
    size_t *freed = g_new0(size_t, P);
    size_t *region = g_new0(size_t, P);
    int *scount = g_new0(int, P), *rcount = g_new0(int, P);
    int *displ = g_new0(int, P); /* all 0: addresses are in the types */
    MPI_Datatype *stype = g_new(MPI_Datatype, P);
    MPI_Datatype *rtype = g_new(MPI_Datatype, P);

    /* Totals first: got->in is allocated once, at its exact size,
     * with one region per source rank. */
    uint64_t most[2] = {0, 0}; /* the longest run to a peer; all sent */
    for (int d = 0; d < P; d++) {
        if (d == me)
            continue;
        smeta[2 * d] = (int64_t)runs[d].len;
        smeta[2 * d + 1] = (int64_t)runs[d].nrec;
        most[0] = MAX(most[0], (uint64_t)runs[d].len);
        most[1] += runs[d].len;
    }
    MR_MPI(MPI_Alltoall(smeta, 2, MPI_INT64_T, rmeta, 2, MPI_INT64_T, ctx->comm));
    MR_MPI(MPI_Allreduce(MPI_IN_PLACE, most, 2, MPI_UINT64_T, MPI_MAX,
                         ctx->comm));
    /* Enough rounds that no piece passes the limit, and that no rank
     * sends more than MEM_ROUND in one; the pieces are even, so that no
     * round is a nearly empty one that still waits for every rank. */
    uint64_t rounds = MAX((most[0] + limit - 1) / limit,
                          (most[1] + MEM_ROUND - 1) / MEM_ROUND);
    if (rounds)
        limit = (size_t)((most[0] + rounds - 1) / rounds);
    size_t incoming = 0, nrec = 0;
    for (int s = 0; s < P; s++) {
        region[s] = incoming;
        incoming += (size_t)rmeta[2 * s];
        nrec += (size_t)rmeta[2 * s + 1];
    }
    int mem_failed = 0;
    if (mr__mem_check(ctx, incoming, "to receive the shuffle"))
        mem_failed = 1; /* still take part in the collectives */
    mr_kvbuf *in = &got->in;
    g_assert(in->len == 0);
    mr__kvbuf_alloc(in, incoming);
    got->in_lower = region[me];
    got->in_lower_nrec = 0;
    for (int q = 0; q < me; q++)
        got->in_lower_nrec += (size_t)rmeta[2 * q + 1];

    for (uint64_t r = 0; r < rounds; r++) {
        double t0 = mr__now(ctx);
        size_t sent = 0;
        for (int p = 0; p < P; p++) {
            size_t n = piece(runs[p].data, (size_t)smeta[2 * p],
                             sdone[p], limit, &scount[p], &stype[p]);
            sdone[p] += n;
            sent += n;
            n = piece(in->data + region[p], (size_t)rmeta[2 * p],
                      rdone[p], limit, &rcount[p], &rtype[p]);
            rdone[p] += n;
            ctx->shuffle_recv += n;
        }
        MR_MPI(MPI_Alltoallw(MPI_BOTTOM, scount, displ, stype, MPI_BOTTOM, rcount,
                      displ, rtype, ctx->comm));
        for (int p = 0; p < P; p++) {
            if (scount[p])
                MR_MPI(MPI_Type_free(&stype[p]));
            if (rcount[p])
                MR_MPI(MPI_Type_free(&rtype[p]));
            if (p == me || !runs[p].data)
                continue;
            if (sdone[p] == (size_t)smeta[2 * p]) /* sent in full */
                mr__kvbuf_fini(&runs[p]);
            else /* what was sent goes now */
                mr_bigmem_release_behind(runs[p].data, runs[p].cap, 0,
                                         sdone[p], &freed[p]);
        }
        ctx->shuffle_sent += sent;
        ctx->shuffle_rounds++;
        mr__span_add(ctx, MR_SPAN_ROUND, t0, mr__now(ctx), sent);
    }
    in->len = incoming;
    in->nrec = nrec;
    g_free(smeta);
    g_free(rmeta);
    g_free(sdone);
    g_free(freed);
    g_free(rdone);
    g_free(region);
    g_free(scount);
    g_free(rcount);
    g_free(displ);
    g_free(stype);
    g_free(rtype);
    return mem_failed ? ctx->status : MR_OK;
}
