/* mr_spill.h -- PRIVATE to the framework: run files of the out-of-core
 * engine (mr_spill.c).
 *
 * A run file holds sorted runs of serialised records (mr_kvbuf.h) in
 * sections, one per destination rank (or one), cut into compressed blocks.
 * It is written once, sealed, and then read back by any number of readers
 * at once, each streaming one section for the k-way merge. The file has no
 * name (O_TMPFILE, or a named file unlinked at once), so nothing is left
 * behind whatever happens to the process.
 *
 * Errors: MR_OK or a negative MR_E* (mr/mr_job.h); a failing call sets
 * *err to a g_malloc'd message (free with g_free). Out of memory aborts.
 */
/* SPDX-License-Identifier: MIT */
#ifndef MR_SPILL_H
#define MR_SPILL_H

#include <stddef.h>
#include <stdint.h>

#include "mr_kvbuf.h" /* mr_rec, mr__rec_read, MR_REC_HDR */

typedef enum mr_codec {
    MR_CODEC_NONE,
    MR_CODEC_LZ4,
    MR_CODEC_ZSTD,
    MR_CODEC_ZLIB
} mr_codec;

/* Chosen by measurement: docs/performance.md, "Spill codec". */
#define MR_SPILL_CODEC_DEFAULT MR_CODEC_LZ4

/* Raw bytes per block when mr_spill_cfg.block is 0, and the largest block
 * size accepted (larger values are clamped). */
#define MR_SPILL_BLOCK_DEFAULT ((size_t)64 << 10)
#define MR_SPILL_BLOCK_MAX ((size_t)64 << 20)
/* A block header: u32 stored length, u32 raw length, u32 record count,
 * u32 crc32 of the stored bytes, host byte order. */
#define MR_SPILL_HDR 16
/* The largest raw length a block may state: one record of the largest key
 * and value (a record bigger than a block makes a block of its own). */
#define MR_SPILL_RAW_MAX (MR_REC_HDR + 2 * MR_MAX_ITEM)

/* "none", "lz4", "zstd", "zlib" -> *out: MR_OK, or MR_EINVAL. */
int mr__codec_parse(const char *name, mr_codec *out);
/* The name mr__codec_parse() accepts; static storage. */
const char *mr__codec_name(mr_codec c);

typedef struct mr_spill_cfg {
    const char *dir; /* the spill folder */
    mr_codec codec;
    size_t block; /* raw bytes per block, 0 = MR_SPILL_BLOCK_DEFAULT */
    int named;    /* added: 1 skips O_TMPFILE (tests; odd file systems) */
} mr_spill_cfg;

/* An unnamed file in cfg->dir (O_TMPFILE, or the named fallback unlinked
 * at once), open for reading and writing: the fd, or -1 and *err. For
 * spilled bytes that are not records (mr_pfile's parts). */
int mr__spill_fd(const mr_spill_cfg *cfg, char **err);

/* One run file with nsect sections (one per destination rank, or 1). */
typedef struct mr_spill_file mr_spill_file;

/* A new run file in cfg->dir (cfg->dir is copied). An unnamed file
 * (O_TMPFILE); where the file system refuses that, a named file
 * "mr-spill-<host>-<pid>-<seq>" unlinked at once. NULL and *err (naming
 * the folder and the reason) on failure. Free with mr__spill_close(). */
mr_spill_file *mr__spill_create(const mr_spill_cfg *cfg, int nsect,
                                char **err);
/* Appends len bytes of whole serialised records (nrec of them) to section
 * sect; sections are written in non-decreasing order. Records are never
 * split across blocks (a record bigger than a block makes a block of its
 * own). Out of disk: MR_EIO with a message naming the folder, the bytes the
 * file holds and the bytes that did not fit; any write error is sticky
 * (later appends and the seal fail the same way). */
int mr__spill_append(mr_spill_file *f, int sect, const void *recs,
                     size_t len, size_t nrec, char **err);
/* Writes the last block; no appends after. */
int mr__spill_seal(mr_spill_file *f, char **err);
uint64_t mr__spill_nrec(const mr_spill_file *f, int sect); /* records */
uint64_t mr__spill_raw(const mr_spill_file *f, int sect);  /* raw bytes */
uint64_t mr__spill_stored(const mr_spill_file *f); /* whole file, on disk */
/* Closes and frees (the file is gone: it has no name). Accepts NULL. The
 * readers of f must be freed first. */
void mr__spill_close(mr_spill_file *f);

/* Streams one section of a sealed file; several readers on one file at
 * once are fine (pread, each its own offset), from one thread each. */
typedef struct mr_spill_reader mr_spill_reader;

/* Caller owns the result; free with mr__spill_reader_free(). */
mr_spill_reader *mr__spill_reader_new(mr_spill_file *f, int sect);
/* Next record: 1 and *r (borrowed until the next call), 0 at the section's
 * end, or MR_EIO (read failed, short block) / MR_EINVAL (corrupt block)
 * and *err naming the spill folder, the section and the byte offset of the
 * block in the file. An error is sticky. */
int mr__spill_next(mr_spill_reader *rd, mr_rec *r, char **err);
/* The raw bytes of the record last returned (header included), for copying
 * a record on without re-encoding. Borrowed, as the record. */
const unsigned char *mr__spill_last_raw(const mr_spill_reader *rd,
                                        size_t *len);
void mr__spill_reader_free(mr_spill_reader *rd); /* accepts NULL */
/* Bytes one reader holds at most for blocks of cfg->block (records bigger
 * than a block excepted), so the engine can size its merge fan-in. */
size_t mr__spill_reader_mem(const mr_spill_cfg *cfg);

/* MR_OK if statvfs says dir has at least `need` bytes available to this
 * user, else MR_EIO and *err naming the folder, the bytes needed and
 * available. Also MR_EIO if dir is missing, not a folder or not writable. */
int mr__spill_space(const char *dir, uint64_t need, char **err);
/* Removes what killed runs left behind in dir: regular files named
 * mr-spill-<this host>-<pid>-<seq> owned by this user whose pid is gone.
 * Never follows links, never touches another host's or a live process's
 * files. Returns how many were removed. */
int mr__spill_sweep(const char *dir);

/* ---------------- Blocks (the reader, the fuzz harness, benchmarks) */

/* Compression state for one codec, reused block after block. */
typedef struct mr_spill_codec mr_spill_codec;
mr_spill_codec *mr__spill_codec_new(mr_codec c);
void mr__spill_codec_free(mr_spill_codec *cx); /* accepts NULL */
/* The most bytes a block of rawlen raw bytes takes, header included. */
size_t mr__spill_block_bound(mr_codec c, size_t rawlen);
/* Encodes rawlen bytes of whole records (nrec) into out, which has
 * mr__spill_block_bound() bytes; returns the block's size. */
size_t mr__spill_block_encode(mr_spill_codec *cx, const void *raw,
                              size_t rawlen, size_t nrec, unsigned char *out);
/* Decodes the block in[0..inlen) (header included) into raw records:
 * MR_OK, *raw (caller owns; g_free), *rawlen and *nrec; or MR_EINVAL and
 * *err for anything malformed (every length, the checksum, the
 * decompressed size and each record are checked). */
int mr__spill_block_decode(mr_codec codec, const unsigned char *in,
                           size_t inlen, unsigned char **raw, size_t *rawlen,
                           size_t *nrec, char **err);
/* The same into the caller's raw[0..rawcap), with cx's state reused (no
 * allocation per block): what benchmarks time. */
int mr__spill_block_decode_cx(mr_spill_codec *cx, const unsigned char *in,
                              size_t inlen, unsigned char *raw, size_t rawcap,
                              size_t *rawlen, size_t *nrec, char **err);

#endif /* MR_SPILL_H */
