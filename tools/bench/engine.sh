#!/usr/bin/env bash
# engine.sh -- the engine's figures next to their baselines, in one run:
#   1. start-up: `mpirun -np 2 mr-run hello` against a minimal C MPI hello
#      world, with Debian's default MCA settings and with pml=ob1;
#   2. shuffle: the test job moving 64 MiB of pairs per rank at -np 2,
#      against a bare MPI_Alltoallv of the same bytes.
# Usage: tools/bench/engine.sh [REPS]   (build first: tools/build)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
b=${MR_BUILD_DIR:-$src/build}
reps=${1:-11}
export MR_JOB_PATH=$b/tests/jobs
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

median_ms() { # command...: median wall time of $reps runs, in ms
    local i t0 t1
    for i in $(seq "$reps"); do
        t0=$(date +%s%N); "$@" >/dev/null 2>&1; t1=$(date +%s%N)
        echo $(((t1 - t0) / 1000000))
    done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}

echo "== start-up, median of $reps runs, -np 2 (ms)"
printf '%-34s %10s %10s\n' "" "defaults" "pml=ob1"
for what in "C MPI hello world|$b/bin/bench-mpi_hello" "mr-run hello|$b/bin/mr-run hello" \
            "mpirun /bin/true (no MPI_Init)|/bin/true"; do
    name=${what%%|*}; cmd=${what#*|}
    d=$(median_ms mpirun -np 2 $cmd)
    o=$(OMPI_MCA_pml=ob1 median_ms mpirun -np 2 $cmd)
    printf '%-34s %10s %10s\n' "$name" "$d" "$o"
done

echo
echo "== shuffle at -np 2: 64 MiB of pairs per rank"
bytes=$((64 << 20))
# 108-byte records: 12 header + 8 key + 88 value.
pairs=$((bytes / 108))
out=$("$src/tools/mr-mpirun" 2 "$b/bin/mr-run" skew --tasks 2 --pairs "$pairs" \
      --keys 1000000 --value-bytes 88 --schedule block --stats 2>&1 >/dev/null)
sh_s=$(echo "$out" | awk '$2 == "shuffle" {print $5}')
sent=$(echo "$out" | sed -n 's/.* pairs emitted, \([0-9]*\) shuffle bytes in \([0-9]*\) rounds.*/\1 \2/p')
read -r sbytes rounds <<<"$sent"
per_rank=$((sbytes / 2))
eng=$(awk -v b="$per_rank" -v t="$sh_s" 'BEGIN {printf "%.1f", b / t / 1e6}')
bare=$("$src/tools/mr-mpirun" 2 "$b/bin/bench-alltoallv" "$per_rank" 5)
bare_mbs=$(echo "$bare" | awk '{print $4}')
cold_mbs=$(echo "$bare" | awk '{print $6}')
# The engine never sends a rank its own share (it keeps it in place); the
# same exchange without the self copy is the stricter ceiling.
cross=$("$src/tools/mr-mpirun" 2 "$b/bin/bench-alltoallv" "$per_rank" 5 noself)
cross_mbs=$(echo "$cross" | awk '{print $4}')
cross_cold=$(echo "$cross" | awk '{print $6}')
printf '%-34s %8s MB/s per rank (%d bytes, %s s, %s rounds)\n' "mr shuffle phase" "$eng" "$per_rank" "$sh_s" "$rounds"
printf '%-34s %8s MB/s per rank (best of 5, receive buffer warm)\n' "bare MPI_Alltoallv" "$bare_mbs"
printf '%-34s %8s MB/s per rank (first run, fresh receive buffer)\n' "bare MPI_Alltoallv, cold" "$cold_mbs"
printf '%-34s %8s MB/s per rank (warm; own share not moved)\n' "bare MPI_Alltoallv, cross-rank" "$cross_mbs"
printf '%-34s %8s MB/s per rank (cold; own share not moved)\n' "bare MPI_Alltoallv, cross, cold" "$cross_cold"
awk -v e="$eng" -v b="$bare_mbs" -v c="$cold_mbs" -v x="$cross_mbs" -v y="$cross_cold" 'BEGIN {
    printf "ratio mr/bare: %.2f warm, %.2f cold (goal >= 0.8)\n", e / b, e / c
    printf "ratio mr/bare cross-rank only: %.2f warm, %.2f cold\n", e / x, e / y }'

echo
echo "== fold-at-emit table against GHashTable (20 M Zipf tokens, 1 M words)"
"$b/bin/bench-fold_table" 20000000 1000000
