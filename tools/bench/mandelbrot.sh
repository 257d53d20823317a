#!/usr/bin/env bash
# mandelbrot.sh -- Mpixel/s of the mandelbrot job next to the plain scalar
# C loop, in one invocation.
#
# Usage: tools/bench/mandelbrot.sh [--quick] [--png-only] [BUILD_DIR]
#
# Prints, for a W x H image of the default view at max-iter 1000 (4096 x
# 4096; --quick: 1024 x 1024):
#   1. one core: the plain scalar C loop (the baseline, mandel-bench plain)
#      and each of the job's kernels alone (mandel-bench), with their
#      speed-up over the baseline; every line must show the same checksum;
#   2. mr-run mandelbrot at -np 1 and -np 2, schedules block and dynamic
#      (no PNG; the counts still travel to rank 0): the map-phase rate and
#      the whole command's wall time, and dynamic's -np 2 / -np 1 ratio;
#   3. the imbalance (max/mean busy time per rank) under dynamic at 2 and 8
#      ranks, by wall time, CPU time and iterations;
#   4. the image end to end (-np 2 dynamic with --out, the PNG written in
#      parallel), in ROUNDS (default 5) rounds interleaved with the plain
#      loop on one core: medians of the plain loop's seconds, of the whole
#      mpirun command, of the run's time and its output and reduce phases
#      (--stats; reduce is where the PNG's groups are deflated), the output
#      phase's share of the run, and the speed-up over one scalar core.
#      --png-only runs this section alone.
# Goals (issue 5): vector kernel >= 6x the plain loop per core with
# AVX-512 (>= 3x with AVX2 only); dynamic -np 2 >= 1.9x its -np 1; dynamic
# imbalance <= 1.05 at 2 and 8 ranks. Issue 22: section 4 >= 8x one scalar
# core, the output phase under 20% of the run. The machine is shared: the
# load average is printed first, and a loaded machine makes the -np 2
# figures meaningless.
set -euo pipefail
calc() { awk "BEGIN { print $* }"; }
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
W=4096 H=4096 M=1000
png_only=0
while [ $# -gt 0 ]; do
    case $1 in
    --quick) W=1024 H=1024; shift ;;
    --png-only) png_only=1; shift ;;
    *) break ;;
    esac
done
ROUNDS=${ROUNDS:-5}
build=${1:-$root/build}
bench="$build/bin/mandel-bench"
mrrun="$build/bin/mr-run"
mpirun="$root/tools/mr-mpirun"
for f in "$bench" "$mrrun"; do
    [ -x "$f" ] || { echo "mandelbrot.sh: $f missing: build first" >&2; exit 2; }
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "# mandelbrot benchmark: ${W}x${H}, max-iter $M, default view"
echo "# host: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$png_only" = 0 ]; then
echo
echo "## 1. one core, no framework"
echo "# speed-up over the plain loop by wall time, and by CPU time (the"
echo "# fairer figure when other processes share the cores)"
printf '%-13s %5s %10s %8s %8s %8s  %s\n' kernel lanes Mpixel/s seconds speedup "by CPU" checksum
base="" cbase=""
for k in plain scalar sse2 avx2 avx512 auto; do
    line=$("$bench" --width $W --height $H --max-iter $M --kernel $k 2>/dev/null) || {
        printf '%-8s (not supported by this CPU)\n' "$k"; continue; }
    read -r name lanes rate secs sum cpu <<<"$line"
    [ -z "$base" ] && base=$rate cbase=$cpu
    [ "$k" = auto ] && name="auto($name)"
    printf '%-13s %5s %10s %8s %7.2fx %7.2fx  %s\n' "$name" "$lanes" "$rate" \
        "$secs" "$(calc "$rate / $base")" "$(calc "$cbase / $cpu")" "$sum"
done

# run_job NP SCHEDULE [ARGS]: prints "span_rate wall_s" and keeps stderr.
run_job() {
    local np=$1 sched=$2; shift 2
    local t0 t1
    t0=$(date +%s.%N)
    "$mpirun" "$np" "$mrrun" mandelbrot --width $W --height $H --max-iter $M \
        --out '' --report --schedule "$sched" "$@" >"$tmp/out" 2>"$tmp/err"
    t1=$(date +%s.%N)
    local rate cpu
    rate=$(sed -n 's/.*map span [0-9.]* s = \([0-9.]*\) Mpixel.*/\1/p' "$tmp/err")
    cpu=$(sed -n 's/^mandelbrot: rank .* CPU \([0-9.]*\) s.*/\1/p' "$tmp/err" |
        awk '{ s += $1 } END { print s }')
    echo "$rate $(calc "$t1 - $t0") $(calc "$W * $H / $cpu / 1000000")"
}

echo
echo "## 2. mr-run mandelbrot (map-phase rate; wall = whole mpirun command)"
echo "# Mpixel/CPU-s: pixels per CPU-second spent in map tasks, all ranks"
printf '%-4s %-9s %10s %8s %14s %13s\n' np schedule "Mpixel/s" "wall s" "wall Mpixel/s" "Mpixel/CPU-s"
declare -A rate
for sched in block dynamic; do
    for np in 1 2; do
        read -r r w c <<<"$(run_job $np $sched)"
        rate[$np$sched]=$r
        printf '%-4s %-9s %10s %8.3f %14.2f %13.2f\n' $np $sched "$r" "$w" \
            "$(calc "$W * $H / $w / 1000000")" "$c"
    done
done
sed -n 's/^mandelbrot: \(kernel .*\)/# \1/p' "$tmp/err"
printf '# dynamic: -np 2 / -np 1 = %.2fx (goal >= 1.9x)\n' \
    "$(calc "${rate[2dynamic]} / ${rate[1dynamic]}")"

echo
echo "## 3. imbalance under dynamic (max/mean busy per rank; goal <= 1.05)"
for np in 2 8; do
    run_job $np dynamic >/dev/null
    printf 'np %s: %s\n' $np \
        "$(sed -n 's/^mandelbrot: imbalance (max\/mean busy) //p' "$tmp/err")"
done

fi

median() { sort -g | awk '{ v[NR] = $1 } END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# phase NAME FILE: the max column of phase NAME in a --stats report, or the
# run's total for "run".
phase() {
    if [ "$1" = run ]; then
        sed -n 's/^mr: mandelbrot on .*, \([0-9.]*\) s$/\1/p' "$2"
    else
        awk -v p="$1" '$1 == "mr:" && $2 == p { print $5 }' "$2"
    fi
}

echo
echo "## 4. the image end to end: -np 2 dynamic, --out (PNG, zlib level 6)"
echo "# $ROUNDS rounds, each: the plain loop on one core, then the job;"
echo "# medians. run/output/reduce: --stats (slowest rank); wall: the whole"
echo "# mpirun command (MPI start-up included)"
printf '%-6s %8s %8s %8s %8s %8s %7s %7s\n' round plain_s wall_s run_s output_s reduce_s "out%" speedup
: >"$tmp/rounds"
for r in $(seq 1 "$ROUNDS"); do
    read -r _ _ _ psecs _ _ <<<"$("$bench" --width $W --height $H --max-iter $M --kernel plain 2>/dev/null)"
    t0=$(date +%s.%N)
    "$mpirun" 2 "$mrrun" mandelbrot --width $W --height $H --max-iter $M \
        --out "$tmp/m.png" --stats >"$tmp/out" 2>"$tmp/err"
    t1=$(date +%s.%N)
    wall=$(calc "$t1 - $t0")
    run=$(phase run "$tmp/err") out=$(phase output "$tmp/err") red=$(phase reduce "$tmp/err")
    echo "$psecs $wall $run $out $red" >>"$tmp/rounds"
    printf '%-6s %8.3f %8.3f %8.3f %8.3f %8.3f %6.1f%% %6.2fx\n' "$r" "$psecs" "$wall" \
        "$run" "$out" "$red" "$(calc "100 * $out / $run")" "$(calc "$psecs / $wall")"
done
col() { awk -v c="$1" '{ print $c }' "$tmp/rounds" | median; }
mp=$(col 1) mw=$(col 2) mr=$(col 3) mo=$(col 4) md=$(col 5)
printf '%-6s %8.3f %8.3f %8.3f %8.3f %8.3f %6.1f%% %6.2fx\n' median "$mp" "$mw" "$mr" "$mo" "$md" \
    "$(calc "100 * $mo / $mr")" "$(calc "$mp / $mw")"
printf '# speed-up over one scalar core: %.2fx by the whole command, %.2fx by the run (goal >= 8x)\n' \
    "$(calc "$mp / $mw")" "$(calc "$mp / $mr")"
printf '# output phase: %.1f%% of the run (goal < 20%%); reduce (deflate): %.1f%%\n' \
    "$(calc "100 * $mo / $mr")" "$(calc "100 * $md / $mr")"
printf '# PNG %s bytes; load average now %s\n' "$(stat -c %s "$tmp/m.png")" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
