/* mr_partition.c -- the key hash and the default partitioner.
 *
 * One 64-bit hash serves both partitioning and the fold tables. Keys are
 * mostly short words, so the hash reads 8 bytes at a time and finishes with
 * murmur3's fmix64 avalanche; it is not cryptographic, and it must give the
 * same value on every rank (it does: no per-process seed). Partitioning uses
 * the high 32 bits and the fold tables index with the low bits, so a rank's
 * table does not see only the keys of one residue class in its low bits.
 */
/* SPDX-License-Identifier: MIT */
#include "mr_internal.h"

static inline uint64_t fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

uint64_t mr__hash(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xbf58476d1ce4e5b9ULL);
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, s, 8);
        h = (h ^ (w * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
        h = (h << 31) | (h >> 33);
        s += 8;
        n -= 8;
    }
    if (n) {
        uint64_t w = mr__load_tail(s, n);
        h = (h ^ (w * 0x87c37b91114253d5ULL)) * 0x4cf5ad432745937fULL;
    }
    return fmix64(h);
}

uint32_t mr__partition_default(mr_bytes key, uint32_t nparts)
{
    uint64_t hi = mr__hash(key.ptr, key.len) >> 32;
    return (uint32_t)((hi * nparts) >> 32);
}
