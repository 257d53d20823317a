#!/usr/bin/env bash
# stream.sh -- the stream job (awk mapper and reducer through pipes)
# against mr-run wordcount and against the same awk scripts in a plain
# shell pipeline, on one generated corpus, in one invocation.
#
#   tools/bench/stream.sh [--size 128M] [--build DIR] [--dir DIR] [--keep]
#
# Generates (once; kept in --dir for the same size) one text file with
# build/bin/mr-gencorpus --seed 1 (or with awk when mr-gencorpus is not
# built). Then times, end to end (mpirun start to the output renamed into
# place):
#   stream -np 1, -np 2      --mapper wc_map.awk --reducer wc_reduce.awk
#   stream -np 2 --combiner  the reducer as combiner too
#   wordcount -np 1, -np 2   --tokens whitespace (the same words)
#   pipeline                 awk -f wc_map.awk | sort | awk -f wc_reduce.awk
#                            (sort with 2 threads, 1 GiB buffer)
#   mapper alone             awk -f wc_map.awk FILE >/dev/null: the floor
#                            for stream's map phase at -np 1
# checks that all word tables are equal, and prints the phase times of the
# stream runs (--stats: map, reduce, output; max over ranks) so the cost of
# the pipe path can be read off: stream's map phase at -np 1 minus the
# mapper alone is what feeding and draining the pipes and emitting the
# pairs cost.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
size=128M build=${BUILD:-$src/build} dir=${TMPDIR:-/tmp}/mr-bench-stream keep=0
while [ $# -gt 0 ]; do
    case $1 in
    --size) size=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "stream.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
RUN=$build/bin/mr-run GEN=$build/bin/mr-gencorpus
for job in stream wordcount; do
    [ -e "$build/lib/mr/jobs/$job.so" ] ||
        { echo "stream.sh: $build/lib/mr/jobs/$job.so missing: build first (tools/build)" >&2; exit 1; }
done
export LC_ALL=C
MAPF=$src/tests/stream/wc_map.awk REDF=$src/tests/stream/wc_reduce.awk
MAP="awk -f '$MAPF'" RED="awk -f '$REDF'"

mkdir -p "$dir"
in=$dir/corpus.txt
stamp="size=$size seed=1 gen=$([ -x "$GEN" ] && echo mr-gencorpus || echo awk)"
if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "# generating $size in $in ..." >&2
    rm -f "$in" "$dir/stamp"
    if [ -x "$GEN" ]; then
        "$GEN" --size "$size" --seed 1 "$in"
    else # Zipf-ish words from a fixed vocabulary, 12 words a line
        bytes=$(numfmt --from=iec "$size")
        awk -v bytes="$bytes" 'BEGIN {
            srand(1); for (i = 0; i < 50000; i++) {
                w = ""; n = 2 + int(rand() * 8)
                for (j = 0; j < n; j++) w = w substr("etaoinshrdlucmfwyp", 1 + int(rand() * 18), 1)
                v[i] = w }
            while (out < bytes) { line = ""
                for (j = 0; j < 12; j++) line = line (j ? " " : "") v[int(50000 * rand() ^ 3)]
                print line; out += length(line) + 1 } }' >"$in"
    fi
    echo "$stamp" >"$dir/stamp"
fi
bytes=$(stat -c %s "$in")
work=$(mktemp -d "${TMPDIR:-/tmp}/mr-bench-stream.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# measure NAME CMD...: wall time and MB/s; stderr kept in $work/NAME.err.
rows=()
declare -A mbs secs
measure() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$work/stdout" 2>"$work/$name.err" || {
        echo "stream.sh: failed: $*" >&2; cat "$work/$name.err" >&2; exit 1; }
    t1=$(date +%s.%N)
    secs[$name]=$(calc "$t1 - $t0")
    mbs[$name]=$(calc "$bytes / 1000000 / ${secs[$name]}")
    rows+=("$(printf '%-34s %8.1f %8.2f' "$name" "${mbs[$name]}" "${secs[$name]}")")
    printf '%-34s %8.1f %8.2f\n' "$name" "${mbs[$name]}" "${secs[$name]}" >&2
}
mpi() { "$src/tools/mr-mpirun" "$@"; }

measure "stream -np 1" mpi 1 "$RUN" stream --stats --mapper "$MAP" \
    --reducer "$RED" --out "$work/s1" "$in"
measure "stream -np 2" mpi 2 "$RUN" stream --stats --mapper "$MAP" \
    --reducer "$RED" --out "$work/s2" "$in"
measure "stream -np 2 --combiner" mpi 2 "$RUN" stream --stats --mapper "$MAP" \
    --combiner "$RED" --reducer "$RED" --out "$work/sc" "$in"
measure "wordcount -np 1" mpi 1 "$RUN" wordcount --tokens whitespace \
    --out "$work/w1" "$in"
measure "wordcount -np 2" mpi 2 "$RUN" wordcount --tokens whitespace \
    --out "$work/w2" "$in"
measure "pipeline awk|sort|awk" sh -c "awk -f '$MAPF' '$in' |
    sort -S 1G --parallel=2 | awk -f '$REDF' >'$work/p'"
measure "mapper alone" sh -c "awk -f '$MAPF' '$in' >/dev/null"

# Every table is the same: stream's is sorted by line already.
sort "$work/w1" >"$work/ref"
for f in s1 s2 sc w2 p; do
    case $f in w2) sort "$work/$f" ;; p) sort "$work/$f" ;; *) cat "$work/$f" ;; esac |
        cmp -s - "$work/ref" || { echo "stream.sh: $f table differs from wordcount's" >&2; exit 1; }
done

phase() { # phase NAME PHASE: the max over ranks from --stats
    awk -v p="$2" '$1 == "mr:" && $2 == p { print $5 }' "$work/$1.err"
}
pairs() { sed -n 's/.* \([0-9]*\) pairs emitted.*/\1/p' "$work/$1.err"; }

echo
echo "stream benchmark: $size corpus ($(sed 's/.*gen=//' "$dir/stamp") --seed 1), $bytes bytes, $(nproc) cores, $(date -u +%F)"
echo "awk: $(awk -W version 2>&1 | head -n 1); all word tables identical ($(wc -l <"$work/ref") words)"
echo
printf '%-34s %8s %8s\n' run MB/s seconds
printf '%s\n' "${rows[@]}"
echo
printf '%-34s %8s %8s %8s %12s\n' "stream phases (max s)" map reduce output "pairs"
for n in "stream -np 1" "stream -np 2" "stream -np 2 --combiner"; do
    printf '%-34s %8s %8s %8s %12s\n' "$n" "$(phase "$n" map)" \
        "$(phase "$n" reduce)" "$(phase "$n" output)" "$(pairs "$n")"
done
echo
printf 'wordcount / stream:   -np 1 %5.1fx   -np 2 %5.1fx   (-np 2 with combiner %5.1fx)\n' \
    "$(calc "${mbs[wordcount -np 1]} / ${mbs[stream -np 1]}")" \
    "$(calc "${mbs[wordcount -np 2]} / ${mbs[stream -np 2]}")" \
    "$(calc "${mbs[wordcount -np 2]} / ${mbs[stream -np 2 --combiner]}")"
printf 'stream / pipeline:    -np 1 %5.2fx   -np 2 %5.2fx   (-np 2 with combiner %5.2fx)\n' \
    "$(calc "${mbs[stream -np 1]} / ${mbs[pipeline awk|sort|awk]}")" \
    "$(calc "${mbs[stream -np 2]} / ${mbs[pipeline awk|sort|awk]}")" \
    "$(calc "${mbs[stream -np 2 --combiner]} / ${mbs[pipeline awk|sort|awk]}")"
printf 'pipe path at -np 1:   map phase %.2f s, mapper alone %.2f s: %.2f s (%.0f%%) for pipes, line splitting, emits\n' \
    "$(phase "stream -np 1" map)" "${secs[mapper alone]}" \
    "$(calc "$(phase "stream -np 1" map) - ${secs[mapper alone]}")" \
    "$(calc "100 * ($(phase "stream -np 1" map) - ${secs[mapper alone]}) / ${secs[mapper alone]}")"
