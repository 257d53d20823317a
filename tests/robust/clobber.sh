#!/usr/bin/env bash
# No data lost or clobbered: an output that is an input or another output is
# refused before any work; --out through a link writes the link's target; an
# output folder that cannot be written is found at setup; what a killed run
# left (temporaries, stdin copies) is removed by the next run, never what a
# live run or another host owns; a failed write (full disk, /dev/full) is a
# failed run that says why and prints nothing that looks like a result.
. "$MR_SOURCE_DIR/tests/lib.sh"
export LC_ALL=C
mkdir -p "$T/in"
for i in 1 2 3; do printf 'apple pear apple\nplum %s\n' "$i" >"$T/in/f$i.txt"; done
cp "$T/in/f1.txt" "$T/keep.txt"

expect_fail 2 "f1.txt: is an input and also the output .*f1.txt; refusing to overwrite an input" \
    "--out naming an input file is refused" 2 wordcount --out "$T/in/f1.txt" "$T/in/f1.txt"
check "... and the input is untouched" cmp -s "$T/in/f1.txt" "$T/keep.txt"
expect_fail 2 "f2.txt: is an input and also the output" \
    "--out naming a file inside an input folder is refused" 2 wordcount --out "$T/in/f2.txt" "$T/in"
ln -s "$T/in/f3.txt" "$T/link-to-input"
expect_fail 2 "is an input and also the output" \
    "--out naming a link to an input is refused" 2 wordcount --out "$T/link-to-input" "$T/in"
expect_fail 2 "are the same file: one output would overwrite the other" \
    "--out equal to --trace is refused" 2 wordcount --out "$T/same" --trace "$T/same" "$T/in"
check "... and nothing was written" test ! -e "$T/same"
ln -s "$T/same2" "$T/same2-link"
expect_fail 2 "are the same file" \
    "--stats-json through a link to --trace's file is refused" 2 wordcount --trace "$T/same2" --stats-json "$T/same2-link" "$T/in"

# --out through a link: the link stays, its target gets the table.
ln -s "$T/target.tsv" "$T/out-link"
run 2 wordcount --out "$T/out-link" "$T/in"
check "--out through a link runs (exit $rc)" test "$rc" = 0
check "... the link is still a link" test -L "$T/out-link"
check "... and its target holds the table" grep -q "^apple	6$" "$T/target.tsv"

# A folder that cannot take a file is found in setup, before the work.
expect_fail 2 "m.png: cannot write there: /proc" \
    "mandelbrot --out /proc/m.png fails in setup" 1 mandelbrot --width 64 --height 64 --out /proc/m.png
expect_fail 2 "cannot write there: /proc" \
    "wordcount --out /proc/x.tsv fails in setup" 2 wordcount --out /proc/x.tsv "$T/in"

# Leftovers of killed runs: removed if their process is gone, kept if it
# lives or if they belong to another host.
host=$(hostname)
sleep 0 & dead=$!; wait $dead
mkdir -p "$T/o"
touch "$T/o/.t.tsv.tmp.$host.$dead.AbCdEf" "$T/o/.t.tsv.tmp.$host.$$.AbCdEf" "$T/o/.t.tsv.tmp.otherhost.$dead.AbCdEf"
run 2 wordcount --out "$T/o/t.tsv" "$T/in"
check "a run with --out succeeds (exit $rc)" test "$rc" = 0
check "... and removes a dead run's temporary" test ! -e "$T/o/.t.tsv.tmp.$host.$dead.AbCdEf"
check "... but not a live process's" test -e "$T/o/.t.tsv.tmp.$host.$$.AbCdEf"
check "... nor another host's" test -e "$T/o/.t.tsv.tmp.otherhost.$dead.AbCdEf"
mkdir -p "$T/tmp"
touch "$T/tmp/mr-stdin.$host.$dead.XyZ123" "$T/tmp/mr-stdin.$host.$$.XyZ123"
cat "$T/in/f1.txt" | TMPDIR=$T/tmp timeout 60 "$MR_MPIRUN" 2 "$MR_RUN" wordcount - >"$T/out" 2>"$T/err" && rc=0 || rc=$?
check "a run on stdin succeeds (exit $rc)" test "$rc" = 0
check "... removes a dead run's stdin copy, keeps a live one's, leaves none of its own" \
    test "$(cd "$T/tmp" && ls -A)" = "mr-stdin.$host.$$.XyZ123"

# stdout is an output: a failed write is a failed run (one rank, no mpirun:
# under mpirun, Open MPI writes our stdout and drops its own write errors).
for job in "wordcount $T/in" "matmul --n 64" "mandelbrot --width 64 --height 64" "hello"; do
    rc=0
    # shellcheck disable=SC2086
    timeout 60 "$MR_RUN" $job >/dev/full 2>"$T/err" || rc=$?
    check "${job%% *} with stdout on /dev/full fails (exit $rc)" test "$rc" = 1
    check "... and says why" grep -q "standard output: No space left on device" "$T/err"
done

# A stop at any moment around the output, to the ranks (as mpirun and
# batch systems forward it): exit 0 if and only if the table is complete
# under its name; a non-zero exit leaves no table and no temporary (a
# SIGTERM just after the rename removes the file again).
awk 'BEGIN { for (i = 0; i < 600000; i++) printf "w%d\n", i }' >"$T/distinct.txt"
run 2 wordcount --out "$T/ref.tsv" "$T/distinct.txt"
check "the reference table is made (exit $rc)" test "$rc" = 0
stop_at() { # stop_at WHO DELAY: WHO is "ranks" or "mpirun"
    rm -rf "$T/o2"; mkdir -p "$T/o2"
    timeout 60 "$MR_MPIRUN" 2 "$MR_RUN" wordcount --out "$T/o2/t.tsv" "$T/distinct.txt" >/dev/null 2>"$T/err" &
    pid=$!
    sleep "$2"
    local m; m=$(pgrep -P "$pid" | head -1) # mpirun, under timeout
    if [ -z "$m" ]; then :                  # already over
    elif [ "$1" = ranks ]; then pkill -TERM -P "$m"
    else kill -TERM "$m"; fi 2>/dev/null
    wait "$pid" && rc=0 || rc=$?
    left=$(find "$T/o2" -name '.t.tsv.tmp.*' | wc -l)
}
for delay in 0.3 0.4 0.5 0.6 0.7 0.8 1.0; do
    stop_at ranks $delay
    if [ "$rc" = 0 ]; then
        check "SIGTERM to the ranks at $delay s: exit 0 with the complete table" cmp -s "$T/o2/t.tsv" "$T/ref.tsv"
    else
        check "SIGTERM to the ranks at $delay s: exit $rc with no table and no temporary ($left)" \
            test ! -e "$T/o2/t.tsv" -a "$left" = 0
    fi
done
# To mpirun: the same, except in the moment after every rank has ended
# and before mpirun has: mpirun then exits 1 on its own, and the ranks,
# gone, cannot know (the table is complete; README, "Exit status").
for delay in 0.3 0.5 0.7; do
    stop_at mpirun $delay
    if [ "$rc" = 0 ]; then
        check "SIGTERM to mpirun at $delay s: exit 0 with the complete table" cmp -s "$T/o2/t.tsv" "$T/ref.tsv"
    elif [ -e "$T/o2/t.tsv" ]; then
        check "SIGTERM to mpirun at $delay s: exit $rc after the ranks ended: the complete table, no rank stopped" \
            eval 'cmp -s "$T/o2/t.tsv" "$T/ref.tsv" && ! grep -q "stopped" "$T/err"'
    else
        check "SIGTERM to mpirun at $delay s: exit $rc with no table and no temporary ($left)" test "$left" = 0
    fi
done

# A full disk: the cause and the file in the message, no table under its
# name, no temporary, and no top words on stdout as if all went well.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mr-gen() { awk 'BEGIN { for (i = 0; i < 40000; i++) printf "word%d\n", i }'; }
    mr-gen >"$T/many.txt"
    rc=0
    unshare -m --propagation private sh -c '
        mkdir -p "$1/full" && mount -t tmpfs -o size=64k tmpfs "$1/full" || exit 99
        exec timeout 60 "$2" 2 "$3" wordcount --out "$1/full/t.tsv" "$1/many.txt" >"$1/out" 2>"$1/err"
        ' sh "$T" "$MR_MPIRUN" "$MR_RUN" || rc=$?
    if [ "$rc" = 99 ]; then
        ok "# SKIP full disk: cannot mount a tmpfs here"
    else
        check "--out on a full disk fails (exit $rc)" test "$rc" = 1
        check "... naming the file and the cause" grep -Eq "full/t.tsv: (write|writing) failed: No space left on device" "$T/err"
        check "... with no top words on stdout" test ! -s "$T/out"
    fi
else
    ok "# SKIP full disk: needs root and mount namespaces"
fi
mr_done
