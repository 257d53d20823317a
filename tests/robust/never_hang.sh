#!/usr/bin/env bash
# Promise 1: never hang. A rank that fails -- an error, abort(), exit(),
# a segmentation fault -- in any phase ends the whole run within 10 seconds,
# with a non-zero status and a message naming the rank, the host and the
# cause. Faults are injected with MR_FAULT=RANK:PHASE:KIND (framework/
# mr_fault.c) at 2, 4 and 8 ranks, in every phase, on the last rank (or on
# rank 0 for the phases only rank 0 has).
. "$MR_SOURCE_DIR/tests/lib.sh"
export MR_TIMEOUT=30
host=$(hostname)
kinds=(error abort exit segv)
i=0
for np in 2 4 8; do
    for phase in setup split map combine shuffle reduce output; do
        kind=${kinds[$((i % 4))]}; i=$((i + 1))
        case $phase in split|output) r=0 ;; *) r=$((np - 1)) ;; esac
        case $kind in
            error) pat="rank $r on $host, $phase: injected fault" ;;
            abort) pat="rank $r on $host, $phase: crashed with signal 6 \(aborted\)" ;;
            segv)  pat="rank $r on $host, $phase: crashed with signal 11 \(segmentation fault\)" ;;
            exit)  pat="rank $r on $host, $phase: the job called exit\(\) in the middle of the run" ;;
        esac
        t0=$(date +%s%N)
        MR_FAULT="$r:$phase:$kind" run "$np" skewfold --tasks 40 --pairs 500 --schedule dynamic
        ms=$((($(date +%s%N) - t0) / 1000000))
        if [ "$rc" != 0 ] && [ "$rc" != 124 ] && [ "$ms" -lt 10000 ] && grep -Eq "$pat" "$T/err"; then
            ok "np $np: $kind in $phase on rank $r: exit $rc after $ms ms, named"
        else
            not_ok "np $np: $kind in $phase on rank $r: exit $rc after $ms ms"; sed 's/^/#   /' "$T/err" | head -12
        fi
    done
done

# The job's own callbacks failing and crashing (tests/jobs/skew.c options),
# under a static schedule and under master (rank 2 surely runs tasks).
for s in cyclic master; do
    run 4 skew --tasks 60 --pairs 200 --crash 2:map --schedule $s
    check "np 4 $s: abort() in a map task on rank 2 ends the run (exit $rc)" \
        bash -c "[ $rc != 0 ] && [ $rc != 124 ] && grep -Eq 'rank 2 on [^,]+, map, task [0-9]+: crashed with signal 6' '$T/err'"
done
mr_done
