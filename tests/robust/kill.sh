#!/usr/bin/env bash
# Promise 2: never a partial result that looks complete, and exit 0 if and
# only if the output is complete. Runs killed with SIGTERM or SIGKILL at
# random moments (a bounded number, fixed seed): exit 0 and the complete new
# file, or a non-zero exit and the previous file intact (or, if the signal
# came after the new file was renamed into place, no file: the failed run
# takes its output with it; SIGKILL cannot be caught, so after the rename
# it leaves the complete new file; so does a SIGTERM that comes after the
# ranks agreed on success: they ignore it then, and only mpirun's status
# says it was signalled). Never a truncated file.
. "$MR_SOURCE_DIR/tests/lib.sh"
args="skewfold --tasks 16 --pairs 20000 --keys 200000 --sleep-ms 150 --shuffle-round 64k"
mkdir -p "$T/o"
run 2 $args --out "$T/ref"
check "the reference run completes" test "$rc" = 0 -a -s "$T/ref"
echo "the previous, complete result" >"$T/old"

RANDOM=42
for i in $(seq 1 12); do
    cp "$T/old" "$T/o/table.tsv"
    sig=$([ $((i % 2)) = 0 ] && echo KILL || echo TERM)
    delay_ms=$((RANDOM % 2000))
    # A session of its own, so the whole run (mpirun and every rank, which
    # Open MPI puts in process groups of their own) is signalled at once,
    # as a batch system does.
    setsid "$MR_MPIRUN" 2 "$MR_RUN" $args --out "$T/o/table.tsv" >/dev/null 2>"$T/err" &
    pid=$!
    sleep "$(awk -v m=$delay_ms 'BEGIN {print m / 1000}')"
    pkill -"$sig" -s "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null && rc=0 || rc=$?
    sleep 0.3 # let any orphaned rank die before looking
    pkill -KILL -s "$pid" 2>/dev/null
    if [ "$rc" = 0 ]; then
        check "SIG$sig after $delay_ms ms: exit 0 and the complete new file" cmp -s "$T/o/table.tsv" "$T/ref"
    elif cmp -s "$T/o/table.tsv" "$T/old"; then
        ok "SIG$sig after $delay_ms ms: exit $rc, the previous file is intact"
    elif [ "$sig" = TERM ] && [ ! -e "$T/o/table.tsv" ]; then
        ok "SIG$sig after $delay_ms ms: exit $rc, and the new file, renamed just before, removed"
    elif [ "$sig" = KILL ] && cmp -s "$T/o/table.tsv" "$T/ref"; then
        # SIGKILL cannot be caught: after the rename, nothing can take the
        # file back. It is the complete new one, never a partial one.
        ok "SIG$sig after $delay_ms ms: exit $rc, killed after the rename: the complete new file"
    elif [ "$sig" = TERM ] && cmp -s "$T/o/table.tsv" "$T/ref" &&
        ! grep -q '^mr-run' "$T/err"; then
        # The ranks had agreed on success (mr_signals_final) and ignore a
        # stop from then on, but mpirun, signalled as it waited for them to
        # exit, reports a failure (1, or 139: Open MPI 4.1's mpirun may
        # crash in its teardown then). No rank saw the signal (none said
        # so): the file is the complete new one, never a partial one.
        ok "SIG$sig after $delay_ms ms: exit $rc from mpirun after the ranks had finished: the complete new file"
    else
        not_ok "SIG$sig after $delay_ms ms: exit $rc with a file that is not the previous one ($(wc -c <"$T/o/table.tsv" 2>/dev/null || echo no) bytes, the new one has $(wc -c <"$T/ref") bytes)"
        sed 's/^/# /' "$T/err"
    fi
    if [ "$sig" = TERM ]; then
        left=$(find "$T/o" -name '.table.tsv.tmp.*' | wc -l)
        check "SIGTERM after $delay_ms ms: no temporary file left ($left)" test "$left" = 0
    fi
done
# SGE's `qsub -notify` warning: SIGUSR2 to mpirun, which forwards it to the
# ranks; the run stops cleanly between tasks and says why.
cp "$T/old" "$T/o/table.tsv"
"$MR_MPIRUN" 2 "$MR_RUN" $args --out "$T/o/table.tsv" >/dev/null 2>"$T/err" &
pid=$!
sleep 1
kill -USR2 "$pid"
wait "$pid"; rc=$?
check "SIGUSR2 (scheduler warning): exit $rc, not 0" test "$rc" != 0
check "SIGUSR2: the message says the scheduler stopped it" \
    grep -Eq "stopped by signal 12 \(User defined signal 2\): the batch scheduler's warning" "$T/err"
check "SIGUSR2: the previous file is intact" cmp -s "$T/o/table.tsv" "$T/old"
mr_done
