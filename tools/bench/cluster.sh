#!/usr/bin/env bash
# cluster.sh -- mr across hosts, each figure next to its baseline, in one
# invocation on a pretend cluster of 3 hosts x 2 ranks (tools/mr-cluster:
# network namespaces on this machine, TCP between them) that it brings up
# itself and always takes down (normal end, failure, ^C, SIGTERM, SIGHUP).
#
#   tools/bench/cluster.sh [--reps N]     (default 5; build dir $MR_BUILD_DIR,
#                                         default build/; root only)
#
# Every figure runs in N interleaved rounds (each round runs the figure's
# lines once, A B A B ...: load from elsewhere falls on all lines alike) and
# is shown as the median over the rounds with the min-max spread.
#
#  1. shuffle: the `skew` test job (tests/jobs) moving 64 MiB of pairs per
#     rank at 6 ranks (one task per rank, 108-byte records: 88-byte values,
#     --schedule block), its shuffle phase time read from --stats (the
#     slowest rank's), as MB/s per rank. Baseline: bench-alltoallv
#     (tools/bench/engine/alltoallv.c), a bare MPI_Alltoallv of the same
#     bytes per rank on the same 6 ranks over the same links, `noself` (a
#     rank sends itself nothing, as the engine keeps its own share in
#     place: only the bytes that cross ranks move). Warm: its best of 5
#     calls into a receive buffer already touched; cold: its first call,
#     into fresh memory, as a shuffle receives. Cold is the fair ceiling,
#     warm the strict one. Goal: mr/bare >= 0.8.
#  2. a claim's round trip: bin/bench-claims (tools/bench/cluster/claims.c:
#     the engine's scheduler, mr_schedule.c, over tasks that spin TASK_US)
#     under `dynamic` and `master`, mean time a worker waits per claim, at
#     0 ms and then at 20 ms one-way delay (`mr-cluster shape 20 1gbit`,
#     a 40 ms round trip on the wire). Baseline: bin/bench-rtt
#     (tools/bench/cluster/rtt.c), the same request/grant exchange in bare
#     MPI with no engine (rank 0 serving from a blocking receive, workers
#     spinning TASK_US between requests): what one MPI round trip to rank 0
#     costs on these links and this oversubscribed machine. The 6 ranks are
#     placed rank 0 alone on h1, 3 on h2, 2 on h3 (--host h1:1,h2:3,h3:2):
#     with 2 ranks per host, rank 0's host-mate makes most of the claims
#     through loopback, which the delay does not touch, and its cheap claims
#     would hide the cross-host ones in the mean; this way every claim
#     crosses a link. Master makes one round trip per task, so it runs
#     fewer tasks under the delay.
#  3. wordcount on a generated 300 MB corpus in 60 files (bin/mr-gencorpus
#     --size 300M --files 60 --seed 1, made once into
#     ${TMPDIR:-/tmp}/mr-bench-corpus300 and kept, stamp beside it), end to end (mpirun start
#     to the full table written), read into the page cache before each run:
#     6 ranks on 3 hosts against 6 ranks on this host (tools/mr-mpirun 6,
#     shared memory) and 2 ranks on this host. The "hosts" share this
#     machine's cores, so the cluster cannot beat -np 2 here: the figure is
#     what TCP between hosts costs against shared memory on one host, for
#     the same work on the same cores. Every table must be byte-identical.
#  4. a pulled cable: a ~60 s skewfold run on the cluster (--tasks 3000
#     --pairs 50 --keys 500 --sleep-ms 120), `mr-cluster unplug h3` 4 s in;
#     time from the cable out to mpirun's return, with mr's defaults and the
#     launcher keepalive mr-cluster passes (as mr's wrappers do). Goal:
#     <= 30 s. Shows mpirun's exit status and the first line of its
#     message that names h3; then plugs h3 back and kills, by pid, what is
#     still running in the cluster's namespaces. 2 rounds whatever --reps.
#     (Open MPI's default keepalive would take minutes: not measured.)
#
# The cluster is private: namespaces mrb-*, state dir /tmp/mr-cluster-bench
# (MR_CLUSTER_NS, MR_CLUSTER_DIR), so it never meets a test's. No traffic
# leaves those namespaces. About 2-3 minutes at --reps 5 on 2 cores.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
b=${MR_BUILD_DIR:-$src/build}
reps=5
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=${2:-}; shift 2 || { echo "cluster.sh: --reps N" >&2; exit 2; } ;;
    --reps=*) reps=${1#--reps=}; shift ;;
    -h | --help) sed -n '2,/^set -e/p' "$0" | sed '/^set -e/d;s/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown option $1 (--reps N)" >&2; exit 2 ;;
    esac
done
case $reps in '' | *[!0-9]* | 0) echo "cluster.sh: --reps wants a whole number > 0, not '$reps'" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "cluster.sh: needs root (network namespaces)" >&2; exit 77; }
for x in bin/mr-run bin/mr-gencorpus bin/bench-alltoallv bin/bench-claims bin/bench-rtt \
         tests/jobs/skew.so tests/jobs/skewfold.so; do
    [ -e "$b/$x" ] || { echo "cluster.sh: $b/$x missing: build first (tools/build)" >&2; exit 1; }
done
export LC_ALL=C
export MR_CLUSTER_NS=mrb MR_CLUSTER_DIR=/tmp/mr-cluster-bench
unset MR_CLUSTER_PPN
export MR_JOB_PATH=$b/tests/jobs
MRC=$src/tools/mr-cluster
LOCAL=$src/tools/mr-mpirun
RUN=$b/bin/mr-run
corpus=${TMPDIR:-/tmp}/mr-bench-corpus300
start=$(date +%s)

work=$(mktemp -d "${TMPDIR:-/tmp}/mr-bench-cluster.XXXXXX")
bg=""      # the run in progress (timeout's pid): stopped first on a signal
armed=""   # set once we may have made a cluster

cleanup() {
    local st=0
    trap - EXIT
    trap '' INT TERM HUP    # a second ^C must not stop the cleanup half-way
    if [ -n "$bg" ] && kill -0 "$bg" 2>/dev/null; then
        kill -TERM "$bg" 2>/dev/null || true    # timeout passes it on to mpirun
        wait "$bg" 2>/dev/null || true
    fi
    if [ -n "$armed" ]; then
        "$MRC" down >"$work/down.log" 2>&1 || st=$?
        if [ "$st" != 0 ]; then
            echo "cluster.sh: mr-cluster down failed (exit $st):" >&2
            sed 's/^/  /' "$work/down.log" >&2
        fi
    fi
    rm -rf "$work"
    return "$st"
}
trap 'st=$?; cleanup || st=1; exit $st' EXIT
trap 'echo "cluster.sh: SIGINT: taking the cluster down" >&2; exit 130' INT
trap 'echo "cluster.sh: SIGTERM: taking the cluster down" >&2; exit 143' TERM
trap 'echo "cluster.sh: SIGHUP: taking the cluster down" >&2; exit 129' HUP

now_ns() { date +%s%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
say() { echo "# $*" >&2; }

# run NAME LIMIT CMD...: CMD in the background (a trapped signal is handled
# at once, not when CMD ends), bounded by timeout; stdout in $work/out,
# stderr in $work/err, wall seconds in $secs. A failed run ends the script.
run() {
    local name=$1 limit=$2 t0 t1 rc=0; shift 2
    t0=$(now_ns)
    timeout -k 5 "$limit" "$@" >"$work/out" 2>"$work/err" &
    bg=$!
    wait "$bg" || rc=$?
    bg=""
    t1=$(now_ns)
    secs=$(calc "($t1 - $t0) / 1e9")
    if [ "$rc" != 0 ]; then
        echo "cluster.sh: $name failed (exit $rc$([ "$rc" = 124 ] && echo ": timed out after $limit s")): $*" >&2
        head -20 "$work/err" | sed 's/^/  /' >&2
        exit 1
    fi
}

# add KEY VALUE: one round's sample of a figure
add() { echo "$2" >>"$work/s.$1"; }
# med KEY: the median of a figure's samples (mean of the middle two when even)
med() { sort -g "$work/s.$1" | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
# fig KEY FMT: "median (min-max)"
fig() {
    sort -g "$work/s.$1" | awk -v f="$2" '{ a[NR] = $1 } END {
        m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2
        printf f " (" f "-" f ")", m, a[1], a[NR] }'
}
last() { tail -1 "$work/s.$1" | xargs printf %.2f; }   # last KEY: this round's sample
ratio() { awk -v a="$(med "$1")" -v b="$(med "$2")" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }

echo "cluster benchmark: 3 hosts x 2 ranks (tools/mr-cluster, namespaces $MR_CLUSTER_NS-*), $(nproc) cores, $(date -u '+%F %H:%M') UTC"
echo "rounds: $reps (fault: 2); load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# The corpus first (once; kept between runs): no cluster needed for it.
stamp="size=300M files=60 seed=1"
# (the stamp beside the folder, not in it: mr-run would count its words)
if [ "$(cat "$corpus.stamp" 2>/dev/null)" != "$stamp" ] || [ ! -d "$corpus" ]; then
    say "generating a 300M corpus in 60 files in $corpus ..."
    rm -rf "$corpus" "$corpus.tmp" "$corpus.stamp"
    run "mr-gencorpus" 300 "$b/bin/mr-gencorpus" --size 300M --files 60 --seed 1 "$corpus.tmp"
    mv "$corpus.tmp" "$corpus"
    echo "$stamp" >"$corpus.stamp"
fi

armed=1
"$MRC" down >/dev/null 2>&1 || true     # what a killed run of ours left
st=0
"$MRC" up 3 >"$work/up.log" 2>&1 || st=$?
if [ "$st" != 0 ]; then
    echo "cluster.sh: mr-cluster up 3 failed (exit $st):" >&2; sed 's/^/  /' "$work/up.log" >&2
    exit "$([ "$st" = 77 ] && echo 77 || echo 1)"
fi

# --- 1. shuffle ---------------------------------------------------------------
np=6
bytes=$((64 << 20))
pairs=$((bytes / 108))      # 108-byte records: 12 header + 8 key + 88 value
for r in $(seq "$reps"); do
    run "mr skew" 120 "$MRC" mpirun -np $np "$RUN" skew --tasks $np --pairs $pairs \
        --keys 1000000 --value-bytes 88 --schedule block --stats --quiet --out "$work/skew.tsv"
    sh_s=$(awk '$2 == "shuffle" { print $5 }' "$work/err")
    sbytes=$(sed -n 's/.* pairs emitted, \([0-9]*\) shuffle bytes in \([0-9]*\) rounds.*/\1/p' "$work/err")
    srounds=$(sed -n 's/.* shuffle bytes in \([0-9]*\) rounds.*/\1/p' "$work/err")
    if [ -z "$sh_s" ] || [ -z "$sbytes" ]; then
        echo "cluster.sh: no shuffle figures in skew's --stats:" >&2; cat "$work/err" >&2; exit 1
    fi
    per_rank=$((sbytes / np))
    add mr_mbs "$(calc "$per_rank / $sh_s / 1e6")"
    add mr_shs "$sh_s"
    run "bench-alltoallv" 120 "$MRC" mpirun -np $np "$b/bin/bench-alltoallv" "$per_rank" 5 noself
    read -r _ _ _ warm _ cold <"$work/out"
    add bare_warm "$warm"
    add bare_cold "$cold"
    say "shuffle round $r/$reps: mr $(tail -1 "$work/s.mr_mbs" | xargs printf %.1f) MB/s ($sh_s s), bare warm $warm, cold $cold MB/s"
done
rm -f "$work/skew.tsv"

# --- 2. a claim's round trip ----------------------------------------------------
place=(--host "h1:1,h2:3,h3:2")   # rank 0 alone on h1: every claim crosses a link
task_us=500
# claims DELAY DYN_TASKS MASTER_TASKS: one set of rounds at a delay
claims() {
    local d=$1 nd=$2 nm=$3 r s n us
    for r in $(seq "$reps"); do
        for s in dynamic master; do
            n=$nd; [ $s = master ] && n=$nm
            run "bench-claims $s" 120 "$MRC" mpirun -np 6 "${place[@]}" "$b/bin/bench-claims" $s "$n" $task_us
            read -r _ _ n us <"$work/out"
            add "claim_${s}_$d" "$(calc "$us / 1000")"
            add "claim_${s}_n_$d" "$n"
        done
        run "bench-rtt" 120 "$MRC" mpirun -np 6 "${place[@]}" "$b/bin/bench-rtt" "$nm" $task_us
        read -r _ n us <"$work/out"
        add "claim_bare_$d" "$(calc "$us / 1000")"
        say "claims at ${d} ms, round $r/$reps: dynamic $(last "claim_dynamic_$d") ms, master $(last "claim_master_$d") ms, bare $(last "claim_bare_$d") ms"
    done
}
claims 0 3000 3000
"$MRC" shape 20 1gbit >"$work/shape.log" 2>&1 || { echo "cluster.sh: shape 20 1gbit failed:" >&2; cat "$work/shape.log" >&2; exit 1; }
claims 20 3000 150
"$MRC" unshape >/dev/null

# --- 3. wordcount -------------------------------------------------------------
# warm: the corpus into the page cache, untimed
warm() { find "$corpus" -type f -print0 | xargs -0 cat >/dev/null; }
wc_lines=(cluster6 local6 local2)
for r in $(seq "$reps"); do
    for l in "${wc_lines[@]}"; do
        warm
        case $l in
        cluster6) cmd=("$MRC" mpirun -np 6) ;;
        local6) cmd=("$LOCAL" 6) ;;
        local2) cmd=("$LOCAL" 2) ;;
        esac
        run "wordcount $l" 300 "${cmd[@]}" "$RUN" wordcount --quiet --out "$work/wc.$l.tsv" "$corpus"
        add "wc_$l" "$secs"
        # mr-run's own time (after MPI_Init, before MPI_Finalize), for the record
        add "wc_in_$l" "$(sed -n 's/^wordcount: .*, \([0-9.]*\) s, [0-9.]* MB\/s$/\1/p' "$work/err" | tail -1)"
        if [ ! -e "$work/wc.ref.tsv" ]; then
            mv "$work/wc.$l.tsv" "$work/wc.ref.tsv"
            wc_words=$(sed -n 's/^wordcount: \(.*\), [0-9.]* s, [0-9.]* MB\/s$/\1/p' "$work/err" | tail -1)
        elif cmp -s "$work/wc.ref.tsv" "$work/wc.$l.tsv"; then
            rm -f "$work/wc.$l.tsv"
        else
            echo "cluster.sh: wordcount's table from $l (round $r) differs from the first run's" >&2
            exit 1
        fi
    done
    say "wordcount round $r/$reps: 6 on 3 hosts $(last wc_cluster6) s, 6 here $(last wc_local6) s, 2 here $(last wc_local2) s"
done
wc_table=$(wc -l <"$work/wc.ref.tsv")
rm -f "$work/wc.ref.tsv"

# --- 4. a pulled cable ---------------------------------------------------------
fault_args=(skewfold --tasks 3000 --pairs 50 --keys 500 --sleep-ms 120 --quiet --out "$work/fault.tsv")
left_in_cluster() {     # "HOST:COMM(PID) ..." of what runs on any host
    local h p
    for h in h1 h2 h3; do
        for p in $("$MRC" pids $h 2>/dev/null); do printf '%s:%s(%s) ' $h "$(cat "/proc/$p/comm" 2>/dev/null)" "$p"; done
    done
}
fault_rows=()
for r in 1 2; do
    rm -f "$work/fault.tsv" "$work/".fault.tsv.tmp.*
    timeout -k 5 150 "$MRC" mpirun -np 6 "$RUN" "${fault_args[@]}" >"$work/fout" 2>"$work/ferr" &
    bg=$!
    sleep 4
    kill -0 "$bg" 2>/dev/null || { echo "cluster.sh: the fault run ended before the cable was pulled:" >&2; head -20 "$work/ferr" >&2; exit 1; }
    u0=$(now_ns)
    "$MRC" unplug h3
    t0=$(now_ns)     # the cable is out now (unplug may have waited for mr-cluster's lock)
    while kill -0 "$bg" 2>/dev/null && [ $(($(now_ns) - t0)) -lt 90000000000 ]; do sleep 0.1; done
    t1=$(now_ns)
    hung=""
    if kill -0 "$bg" 2>/dev/null; then hung=" (no return in 90 s: stopped)"; kill -TERM "$bg" 2>/dev/null || true; fi
    rc=0; wait "$bg" || rc=$?
    bg=""
    s=$(calc "($t1 - $t0) / 1e9")
    add fault_s "$s"
    # what is still running, for up to 5 s after mpirun returned (h3's cable still out)
    left=$(left_in_cluster)
    for _ in $(seq 25); do [ -n "$left" ] || break; sleep 0.2; left=$(left_in_cluster); done
    "$MRC" plug h3
    for p in $(for h in h1 h2 h3; do "$MRC" pids $h 2>/dev/null; done); do kill -KILL "$p" 2>/dev/null || true; done
    msg=$(grep -m1 'h3' "$work/ferr" | sed 's/^[[:space:]]*//' || true)
    out_left=$(find "$work" -maxdepth 1 \( -name fault.tsv -o -name '.fault.tsv.tmp.*' \) | wc -l)
    fault_rows+=("$(printf 'round %d: %6.1f s, mpirun exit %s%s; unplug call %.1f s; left 5 s after: %s; output files left: %s\n          first line naming h3: %s' \
        "$r" "$s" "$rc" "$hung" "$(calc "($t0 - $u0) / 1e9")" "${left:-none}" "$out_left" "${msg:-(none)}")")
    say "fault round $r/2: $(last fault_s) s, exit $rc"
    sleep 1      # let h3's plugged-in link settle before the next run
done

# --- summary -------------------------------------------------------------------
echo
echo "== 1. shuffle: skew, 64 MiB of pairs per rank, 6 ranks on 3 hosts (MB/s per rank)"
printf '%-40s %s   (shuffle phase %s s, %s rounds)\n' "mr shuffle phase" "$(fig mr_mbs %.1f)" "$(fig mr_shs %.3f)" "$srounds"
printf '%-40s %s\n' "bare MPI_Alltoallv noself, warm" "$(fig bare_warm %.1f)"
printf '%-40s %s\n' "bare MPI_Alltoallv noself, cold" "$(fig bare_cold %.1f)"
echo "ratio mr/bare: $(ratio mr_mbs bare_warm) warm, $(ratio mr_mbs bare_cold) cold (goal >= 0.8)"
echo
echo "== 2. a claim's round trip, 6 ranks (rank 0 alone on h1), $task_us us tasks (ms per claim)"
for d in 0 20; do
    for s in dynamic master; do
        printf '%-40s %s   (%s claims)\n' "$s, ${d} ms delay" "$(fig "claim_${s}_$d" %.2f)" "$(med "claim_${s}_n_$d" | xargs printf %.0f)"
    done
    printf '%-40s %s   (wire round trip %d ms)\n' "bare MPI request/grant, ${d} ms delay" "$(fig "claim_bare_$d" %.2f)" $((2 * d))
done
echo
echo "== 3. wordcount, $(find "$corpus" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f", s / 1e6 }') MB in $(find "$corpus" -type f | wc -l) files (seconds, end to end)"
echo "   ($wc_words; table of $wc_table lines, byte-identical in all $((3 * reps)) runs)"
for l in "${wc_lines[@]}"; do
    case $l in cluster6) n="6 ranks on 3 hosts" ;; local6) n="6 ranks on this host" ;; local2) n="2 ranks on this host" ;; esac
    printf '%-40s %s   (in mr-run %s)\n' "$n" "$(fig "wc_$l" %.2f)" "$(fig "wc_in_$l" %.2f)"
done
echo
echo "== 4. h3's cable pulled 4 s into a run: to mpirun's return (seconds)"
printf '%s\n' "${fault_rows[@]}"
echo
echo "== summary (median (min-max) over $reps rounds; the fault over 2)"
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "figure" "mr" "baseline" "" "ratio" "goal"
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "shuffle MB/s per rank" "$(fig mr_mbs %.1f)" "bare alltoallv noself, cold" "$(fig bare_cold %.1f)" "$(ratio mr_mbs bare_cold)" ">= 0.8"
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "" "" "bare alltoallv noself, warm" "$(fig bare_warm %.1f)" "$(ratio mr_mbs bare_warm)" ">= 0.8"
for d in 0 20; do
    for s in dynamic master; do
        printf '%-34s %-24s %-34s %-24s %7s  %s\n' "claim ms, $s, $d ms delay" "$(fig "claim_${s}_$d" %.2f)" \
            "bare MPI round trip" "$(fig "claim_bare_$d" %.2f)" "$(ratio "claim_${s}_$d" "claim_bare_$d")" "-"
    done
done
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "wordcount s, 6 ranks / 3 hosts" "$(fig wc_cluster6 %.2f)" "6 ranks on this host" "$(fig wc_local6 %.2f)" "$(ratio wc_cluster6 wc_local6)" "-"
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "" "" "2 ranks on this host" "$(fig wc_local2 %.2f)" "$(ratio wc_cluster6 wc_local2)" "-"
printf '%-34s %-24s %-34s %-24s %7s  %s\n' "pulled cable to return, s" "$(fig fault_s %.1f)" "goal" "30" "$(awk -v a="$(med fault_s)" 'BEGIN { printf "%.2f", a / 30 }')" "<= 30 s"
echo "(ratios: mr / baseline, of the medians; for claims and wordcount a time, lower is better)"
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg); took $(($(date +%s) - start)) s"
