#!/usr/bin/env bash
# Across hosts (issue 19), on one host: mr needs no one-sided MPI, a failed
# MPI call is mr's own message, and a rank that stops giving signs of life
# (SIGSTOP: the same silence as a pulled cable or a frozen host) ends the
# run within --stall-timeout plus a few seconds, naming it. A whole job
# that is suspended and resumed (SGE's qmod -s) is not a stall.
. "$MR_SOURCE_DIR/tests/lib.sh"
export MR_TIMEOUT=60
host=$(hostname)
skew="skewfold --tasks 40 --pairs 2000 --keys 3000"
# The sanitizer pass looks for memory errors on these paths, not at every
# schedule and rank count (the plain pass runs them all).
scheds="block cyclic dynamic master" nps="2 4"
[ -n "${MR_TEST_SANITIZED:-}" ] && scheds="dynamic master" nps=4

# 1. No one-sided MPI: every osc component excluded, so any MPI window
# would fail (MPI_ERR_WIN, as on Debian across hosts over TCP). Same output
# at every schedule as with the default settings, and live progress lines.
run 3 wordcount "$MR_SOURCE_DIR/corpus"
cp "$T/out" "$T/ref"
check "reference run (default osc)" test "$rc" = 0
for s in $scheds; do
    OMPI_MCA_osc='^sm,pt2pt,rdma,ucx,monitoring' MR_PROGRESS_AFTER=0 MR_PROGRESS_INTERVAL=0 \
        run 3 wordcount --schedule "$s" "$MR_SOURCE_DIR/corpus"
    if [ "$rc" = 0 ] && cmp -s "$T/out" "$T/ref"; then
        ok "no osc component, $s: same table"
    else
        not_ok "no osc component, $s: exit $rc"; sed 's/^/#   /' "$T/err" | head -12
    fi
done
OMPI_MCA_osc='^sm,pt2pt,rdma,ucx,monitoring' MR_PROGRESS_AFTER=0 MR_PROGRESS_INTERVAL=0 \
    run 3 $skew --sleep-ms 60 --schedule dynamic
check "no osc component: progress lines count every task (exit $rc)" \
    grep -q "mr: map 40/40 tasks" "$T/err"

# 2. A failed MPI call names the rank, host, phase and call, and the run
# ends at once.
for np in 2 4; do
    t0=$(date +%s%N)
    MR_FAULT="1:shuffle:mpi" run "$np" $skew
    ms=$((($(date +%s%N) - t0) / 1000000))
    if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$ms" -lt 10000 ] &&
        grep -Eq "rank 1 on $host, shuffle: MPI_Send failed: MPI_ERR_RANK" "$T/err" &&
        grep -q "a bug in mr" "$T/err"; then
        ok "np $np: a failed MPI_Send in shuffle: exit $rc after $ms ms, named"
    else
        not_ok "np $np: a failed MPI call: exit $rc after $ms ms"; sed 's/^/#   /' "$T/err" | head -12
    fi
done

# ranks MPIRUN_PID: the pids of mpirun's mr-run children.
ranks() { pgrep -P "$1" -f "$MR_RUN" | sort -n; }
# alive_after S PID...: how many of the processes still live (not zombies)
# after up to S seconds.
alive_after() {
    local s=$1 n p i; shift
    for i in $(seq $((s * 10))); do
        n=0
        for p in "$@"; do
            [ -e "/proc/$p" ] && [ "$(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)" != Z ] && n=$((n + 1))
        done
        [ "$n" = 0 ] && break
        sleep 0.1
    done
    echo "$n"
}

# 3. One rank stopped (SIGSTOP) mid-map, at 2 and 4 ranks: the run ends
# within the stall timeout plus 10 s; the message names the rank.
for np in $nps; do
    for victim in 0 1; do
        "$MR_MPIRUN" "$np" "$MR_RUN" $skew --tasks 200 --sleep-ms 100 --stall-timeout 4 \
            --out "$T/table" >"$T/out" 2>"$T/err" &
        mp=$!
        sleep 1.5
        pids=($(ranks "$mp"))
        [ "${#pids[@]}" = "$np" ] || { not_ok "np $np: found ${#pids[@]} ranks"; continue; }
        # rank order is pid order: Open MPI starts the local ranks in order
        kill -STOP "${pids[$victim]}"
        t0=$(date +%s%N)
        i=0
        while kill -0 "$mp" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
        ms=$((($(date +%s%N) - t0) / 1000000))
        kill -CONT "${pids[@]}" 2>/dev/null
        kill -KILL "$mp" 2>/dev/null
        wait "$mp"; rc=$?
        left=$(alive_after 3 "${pids[@]}")
        if [ "$rc" != 0 ] && [ "$ms" -lt 14000 ] && [ "$left" = 0 ] && [ ! -e "$T/table" ] &&
            grep -Eq "no heartbeat from rank $victim on $host for [0-9]+ s" "$T/err"; then
            ok "np $np: rank $victim stopped: exit $rc after $ms ms, named, nothing left"
        else
            not_ok "np $np: rank $victim stopped: exit $rc after $ms ms, $left ranks left"
            sed 's/^/#   /' "$T/err" | head -12
        fi
    done
done

# 4. The whole job suspended for longer than the timeout, then resumed:
# it completes, with the same table.
run 2 $skew --tasks 60 --sleep-ms 50 --out "$T/ref2"
"$MR_MPIRUN" 2 "$MR_RUN" $skew --tasks 60 --sleep-ms 50 --stall-timeout 3 \
    --out "$T/table2" >"$T/out" 2>"$T/err" &
mp=$!
sleep 1
pids=($(ranks "$mp"))
kill -STOP "${pids[@]}"
sleep 6
kill -CONT "${pids[@]}"
wait "$mp"; rc=$?
if [ "$rc" = 0 ] && cmp -s "$T/table2" "$T/ref2"; then
    ok "a job suspended for 6 s (timeout 3 s) and resumed completes"
else
    not_ok "suspend and resume: exit $rc"; sed 's/^/#   /' "$T/err" | head -12
fi
expect_fail 2 "stall-timeout: 1 is below 3 s" "--stall-timeout 1 is refused" 1 hello --stall-timeout 1
mr_done
