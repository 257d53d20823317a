#!/usr/bin/env bash
# stream's programs never outlive the run: each runs under mr-stream-keeper
# in a process group of its own, which ends with a stopped rank, a killed
# rank (kill -9), a --task-timeout (SIGTERM, SIGKILL 2 s later) and the
# end of its task (what it left in the background); a program that hangs
# is named, also one that ignores SIGTERM.
. "$MR_SOURCE_DIR/tests/lib.sh"
tok=4$((RANDOM % 90000 + 10000))   # "sleep 4NNNNN": ours, and findable
trap 'pkill -KILL -f "sleep $tok" 2>/dev/null; rm -rf "$T" "$MR_SHM"' EXIT
mkdir -p "$T/in"
for i in 1 2 3 4; do printf "key%s\t%s\n" "$i" "$i" >"$T/in/f$i.txt"; done
left() { pgrep -f "sleep $tok" | wc -l; }
gone_within() { # gone_within SECONDS: no "sleep $tok" left by then
    local n=0
    while [ "$(left)" != 0 ] && [ $n -lt $(($1 * 10)) ]; do sleep 0.1; n=$((n + 1)); done
    [ "$(left)" = 0 ]
}
sleeping() { pgrep -f "^sleep $tok" | wc -l; } # the programs, not mr-run
started() { # wait until N of the programs' sleeps run
    local n=0
    while [ "$(sleeping)" -lt "$1" ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
    [ "$(sleeping)" -ge "$1" ]
}
rank_of() { # rank_of PID: the mr-run that PID descends from
    local p=$1
    while [ -n "$p" ] && [ "$p" -gt 1 ] && [ "$(ps -o comm= -p "$p")" != mr-run ]; do
        p=$(ps -o ppid= -p "$p" | tr -d ' ')
    done
    [ "${p:-0}" -gt 1 ] && echo "$p"
}
start_run() { # start_run ARGS...: in the background; $bg, then $mpi
    timeout -k 5 120 "$MR_MPIRUN" 2 "$MR_RUN" stream "$@" >"$T/out" 2>"$T/err" &
    bg=$!
    sleep 0.5
    mpi=$(pgrep -P "$bg" | head -1)
}
slow_mapper="cat >/dev/null; sleep $tok"

# kill -9 of a rank while its mapper runs: nothing of that mapper is left
# (mpirun kills the rank's process group, which the mapper is not in).
start_run --mapper "$slow_mapper" --reducer cat --schedule block "$T/in"
check "a mapper started" started 1
rank=$(rank_of "$(pgrep -f "^sleep $tok" | head -1)")
check "found the rank of a mapper ($rank)" test -n "$rank"
[ -n "$rank" ] && kill -KILL "$rank"
wait "$bg" && rc=0 || rc=$?
check "mpirun returned non-zero ($rc)" test "$rc" != 0
check "no process of the mappers is left 5 s after kill -9 of a rank" gone_within 5

# SIGTERM to mpirun (a scheduler's stop) while mappers run.
start_run --mapper "$slow_mapper" --reducer cat --schedule block "$T/in"
check "a mapper started again" started 1
kill -TERM "${mpi:-0}" 2>/dev/null
wait "$bg" && rc=0 || rc=$?
check "a stopped run fails ($rc)" test "$rc" != 0
check "no process of the mappers is left 5 s after a stop" gone_within 5

# --task-timeout: the program and what it started are killed, and named.
for m in "sleep $tok" "trap '' TERM; sleep $tok"; do
    t0=$(date +%s)
    run 2 stream --mapper "$m" --reducer cat --task-timeout 2 "$T/in"
    t=$(($(date +%s) - t0))
    check "--task-timeout 2, mapper \"$m\": fails (exit $rc) within 15 s ($t s)" test "$rc" = 1 -a "$t" -le 15
    check "... naming the mapper and the limit" \
        grep -Fq "mapper \"$m\" (task" "$T/err"
    check "... saying it did not finish" grep -q "did not finish within 2 s (--task-timeout); killed" "$T/err"
    check "... and nothing of it is left" gone_within 5
done
run 2 stream --mapper cat --reducer "sleep $tok" --task-timeout 2 "$T/in"
check "a reducer that hangs is bounded too (exit $rc)" test "$rc" = 1
check "... and named" grep -Eq "reducer \"sleep $tok\" .*did not finish within 2 s" "$T/err"
check "... and nothing of it is left" gone_within 5
# On a timeout SIGTERM comes first: a program may clean up in the grace.
run 2 stream --mapper "trap 'echo bye >\"$T/bye\"; exit 1' TERM; sleep $tok & wait" \
    --reducer cat --task-timeout 2 "$T/in"
check "--task-timeout: SIGTERM first, the program's trap ran (exit $rc)" test "$rc" = 1 -a -s "$T/bye"
check "... and nothing of it is left" gone_within 5

# A program's background process does not outlive its task.
run 2 stream --mapper "sleep $tok >/dev/null 2>&1 & cat" --reducer cat "$T/in"
check "a mapper that leaves a background process succeeds (exit $rc)" test "$rc" = 0
check "... and nothing it left is running 5 s later" gone_within 5

run 2 stream --mapper cat --reducer cat --task-timeout 10 "$T/in"
check "a run within its --task-timeout succeeds (exit $rc)" test "$rc" = 0 -a "$(wc -l <"$T/out")" = 4
expect_fail 2 "task-timeout -1: give seconds" "a negative --task-timeout is refused" 1 stream --mapper cat --reducer cat --task-timeout -1 "$T/in"
mr_done
