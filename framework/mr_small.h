/* mr_small.h -- PRIVATE to the framework (and tools/bench, which measures
 * the framework against baselines built from the same parts): loads,
 * compares and the hash of short byte strings, the hot path of the fold
 * tables (mr_combine.c) and of the partitioner (mr_partition.c).
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_SMALL_H
#define MR_SMALL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint32_t mr__load32(const unsigned char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Short keys (words) are the common case: a libc memcpy or memcmp call of
 * a variable length costs more than the work itself there, so these read
 * with fixed-size loads (overlapping ones for the tails), never beyond
 * the n bytes given. */
static inline uint64_t mr__load64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* The n < 8 bytes at p as a little-endian integer (upper bytes zero). */
static inline uint64_t mr__load_tail(const unsigned char *p, size_t n)
{
    if (n >= 4) {
        uint64_t lo = mr__load32(p), hi = mr__load32(p + n - 4);
        return lo | hi << ((n - 4) * 8);
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline int mr__small_eq(const unsigned char *a, const unsigned char *b,
                               size_t n)
{
    if (n < 8)
        return mr__load_tail(a, n) == mr__load_tail(b, n);
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        if (mr__load64(a + i) != mr__load64(b + i))
            return 0;
    return i == n || mr__load64(a + n - 8) == mr__load64(b + n - 8);
}

static inline void mr__small_copy(unsigned char *dst, const unsigned char *src,
                                  size_t n)
{
    if (n >= 8) {
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            memcpy(dst + i, src + i, 8);
        if (i < n)
            memcpy(dst + n - 8, src + n - 8, 8);
    } else if (n >= 4) {
        memcpy(dst, src, 4);
        memcpy(dst + n - 4, src + n - 4, 4);
    } else {
        for (size_t i = 0; i < n; i++)
            dst[i] = src[i];
    }
}

/* One 64-bit hash for partitioning and the fold tables (see
 * mr_partition.c): murmur3's fmix64 over 8-byte words. */
static inline uint64_t mr__fmix64(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static inline uint64_t mr__hash(const void *p, size_t n)
{
#ifdef MR_TEST_WEAK_HASH
    /* Tests only: a key collides with a quarter of all (spill/weakhash.sh). */
    return mr__fmix64(n & 3);
#endif
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
    return mr__fmix64(h);
}

#endif
