#!/usr/bin/env bash
# spillcodec.sh -- the spill codecs (issue 24) on real spill data: per codec
# raw MB, stored MB, ratio, compress and decompress MB/s of one core (median
# of interleaved rounds) and the end-to-end seconds per GB of raw records
# (compress + write + read + decompress) for a 200 and a 1000 MB/s disk.
#
#   tools/bench/spillcodec.sh [--build DIR] [--rounds N] [--corpus FILE] [--quick]
#
# Data (build/bin/bench-spillcodec makes the records in memory):
#   wc      word count's spill: the distinct whitespace tokens of the first
#           600 MB of the corpus with their u64 counts, sorted;
#   tokens  one (token, u64 1) per whitespace token of the first 40 MB, sorted;
#   lines   key the first word of a line, value the rest, first 200 MB, sorted.
# The corpus is the Linux 6.1 sources concatenated (big.txt of
# tools/bench/manykeys.sh, in /var/tmp/mr-bench-manykeys or /var/tmp/mr-bench/manykeys; run that once to
# make it), else /var/tmp/mr-bench/big40.txt. --quick: 20 MB each, 3 rounds.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$src/build rounds=5 corpus= quick=0
while [ $# -gt 0 ]; do
    case $1 in
        --build) build=$2; shift 2 ;;
        --rounds) rounds=$2; shift 2 ;;
        --corpus) corpus=$2; shift 2 ;;
        --quick) quick=1; shift ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "spillcodec.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
bin=$build/bin/bench-spillcodec
[ -x "$bin" ] || { echo "spillcodec.sh: $bin missing: run tools/build" >&2; exit 1; }
if [ -z "$corpus" ]; then
    for c in /var/tmp/mr-bench-manykeys/big.txt /var/tmp/mr-bench/manykeys/big.txt /var/tmp/mr-bench/big40.txt; do
        [ -f "$c" ] && { corpus=$c; break; }
    done
fi
[ -n "$corpus" ] && [ -f "$corpus" ] || { echo "spillcodec.sh: no corpus (see --help)" >&2; exit 1; }
echo "# $(date -u +%F) $(uname -n), $(nproc) cores, corpus $corpus ($(stat -c %s "$corpus") bytes)"
echo "# lz4 $(pkg-config --modversion liblz4), zstd $(pkg-config --modversion libzstd), zlib $(pkg-config --modversion zlib)"
if [ $quick = 1 ]; then
    sizes=(wc:20 tokens:20 lines:20); rounds=3
else
    sizes=(wc:600 tokens:40 lines:200)
fi
for s in "${sizes[@]}"; do
    "$bin" --kind "${s%%:*}" --mb "${s##*:}" --rounds "$rounds" "$corpus"
    echo
done
