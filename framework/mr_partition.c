/* mr_partition.c -- the key hash and the default partitioner.
 *
 * One 64-bit hash serves both partitioning and the fold tables. Keys are
 * mostly short words, so the hash reads 8 bytes at a time and finishes with
 * murmur3's fmix64 avalanche; it is not cryptographic, and it must give the
 * same value on every rank (it does: no per-process seed). Partitioning uses
 * the high 32 bits and the fold tables index with the low bits, so a rank's
 * table does not see only the keys of one residue class in its low bits.
 * The hash itself is in mr_small.h, inline: it runs once per emitted pair
 * on the fold path, where a call costs (docs/performance.md).
 */
/* SPDX-License-Identifier: MIT */
#include "mr_ctx.h"

uint32_t mr__partition_default(mr_bytes key, uint32_t nparts)
{
    uint64_t hi = mr__hash(key.ptr, key.len) >> 32;
    return (uint32_t)((hi * nparts) >> 32);
}
