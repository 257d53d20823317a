#!/usr/bin/env bash
# observe.sh -- the cost of seeing a run: wordcount with and without
# --stats --stats-json --trace (and the progress report), same input, in
# one invocation, best of REPS runs each, interleaved.
#
#   tools/bench/observe.sh [--size 1G] [--np 2] [--reps 3] [--build DIR]
#
# The input is the one-file corpus of tools/bench/wordcount.sh (made with
# build/bin/mr-gencorpus --seed 1 if it is not there yet). Goal (issue 7):
# overhead under 2%.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
size=1G np=2 reps=3 build=$src/build
while [ $# -gt 0 ]; do
    case $1 in
        --size) size=$2; shift 2 ;; --np) np=$2; shift 2 ;;
        --reps) reps=$2; shift 2 ;; --build) build=$2; shift 2 ;;
        *) echo "usage: $0 [--size S] [--np N] [--reps R] [--build DIR]" >&2; exit 2 ;;
    esac
done
dir=${TMPDIR:-/tmp}/mr-bench-wordcount
mkdir -p "$dir"
in=$dir/one-$size.txt
[ -s "$dir/one.txt" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$size 1" ] && in=$dir/one.txt
[ -s "$in" ] || "$build/bin/mr-gencorpus" --size "$size" --seed 1 "$in" >/dev/null
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
secs() { # ARGS...: wall seconds of one run
    local t0 t1
    t0=$(date +%s%N)
    "$src/tools/mr-mpirun" "$np" "$build/bin/mr-run" wordcount --out "$out/t.tsv" "$in" "$@" >/dev/null 2>&1
    t1=$(date +%s%N)
    echo "$(((t1 - t0) / 1000000))"
}
best_plain=999999999 best_obs=999999999
for r in $(seq "$reps"); do
    p=$(secs --quiet); o=$(secs --stats --stats-json "$out/s.json" --trace "$out/t.json")
    [ "$p" -lt "$best_plain" ] && best_plain=$p
    [ "$o" -lt "$best_obs" ] && best_obs=$o
done
echo "wordcount -np $np on $(stat -c %s "$in") bytes, best of $reps; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "plain (--quiet):                           $best_plain ms"
echo "with progress, --stats, --stats-json, --trace: $best_obs ms"
awk -v a="$best_plain" -v b="$best_obs" 'BEGIN {printf "overhead: %+.2f%% (goal < 2%%)\n", (b - a) * 100 / a}'
