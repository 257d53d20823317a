#!/usr/bin/env bash
# Run files leave nothing behind (issue 24). (a) A run killed with SIGKILL
# while it spills leaves its spill folder empty: the files have no name
# (O_TMPFILE). (b) Named run files (the fallback where a file system
# refuses O_TMPFILE) of a killed run are swept by the next run on the host:
# only regular files mr-spill-<this host>-<dead pid>-<seq> of this user;
# never a live process's, another host's, another user's, a folder, or a
# symbolic link (nor what it points to).
set -o pipefail # (not -e: a failed check is counted, and the test goes on)
. "$MR_SOURCE_DIR/tests/lib.sh"
host=$(hostname)
"$MR_BUILD_DIR/bin/mr-gencorpus" --size 6M --files 4 --seed 11 "$T/in" >/dev/null

# ---- (a) SIGKILL in the middle of a spilling run, both ranks.
mkdir "$T/spill" "$T/o"
setsid "$MR_MPIRUN" 2 "$MR_RUN" wordcount --quiet --tokens whitespace --memory 1M \
    --spill-every 20 --spill-dir "$T/spill" --out "$T/o/t.tsv" "$T/in" \
    >/dev/null 2>"$T/err" &
sid=$!
# Wait until both ranks hold run files in the spill folder (their fds
# point there: "$T/spill/#1234 (deleted)" for an unnamed file).
ranks="" holding=0
for _ in $(seq 1 300); do
    ranks=$(pgrep -s "$sid" -x mr-run | tr '\n' ' ')
    holding=0
    for p in $ranks; do
        if ls -l "/proc/$p/fd" 2>/dev/null | grep -q -- "-> $T/spill/"; then
            holding=$((holding + 1))
        fi
    done
    [ "$holding" -ge 2 ] && break
    kill -0 "$sid" 2>/dev/null || break
    sleep 0.1
done
check "killed while spilling: both ranks ($ranks) held run files in the spill folder" \
    test "$holding" -ge 2
echo "# the ranks' run files: $(for p in $ranks; do ls -l /proc/$p/fd 2>/dev/null; done |
    grep -o -- "-> $T/spill/.*" | head -4 | tr '\n' ' ')"
[ -n "$ranks" ] && kill -KILL $ranks 2>/dev/null
wait "$sid" && rc=0 || rc=$?
# Processes of the run still alive (zombies are dead: they hold no files
# and wait for whoever adopted them to reap them).
alive() { ps -o pid=,stat= -s "$sid" | awk '$2 !~ /^Z/ { printf "%s ", $1 }'; }
for _ in $(seq 1 50); do
    left=$(alive)
    [ -z "$left" ] && break
    sleep 0.1
done
[ -z "$left" ] || { ps -o pid,stat,cmd -s "$sid" | sed 's/^/#   /'; pkill -KILL -s "$sid"; }
check "killed while spilling: the run failed (exit $rc)" test "$rc" != 0
check "killed while spilling: no process of the run left ($left)" test -z "$left"
check "killed while spilling: the spill folder holds nothing ($(ls -A "$T/spill" | head -5 | tr '\n' ' '))" \
    test -z "$(ls -A "$T/spill")"
check "killed while spilling: no table" test ! -e "$T/o/t.tsv"

# ---- (b) What a killed run using named files would leave, made by hand.
# A pid that is not alive (from the top of the pid range down).
dead=$(($(cat /proc/sys/kernel/pid_max) - 1))
while [ -e "/proc/$dead" ] || kill -0 "$dead" 2>/dev/null; do dead=$((dead - 1)); done
echo "# a dead pid: $dead; a live one: $$"
L="$T/left"
mkdir "$L"
echo "outside" >"$T/target"
for f in "mr-spill-$host-$dead-0" "mr-spill-$host-$dead-17" "mr-spill-$host-$$-0" \
    "mr-spill-otherhost-$dead-0" "mr-spill-$host-1-$dead-0" "mr-spill-$host-$dead-x" \
    "mr-spill-$host-$dead-3-4" "mr-spill-$host-$dead-"; do
    echo "spill data" >"$L/$f"
done
ln -s "$T/target" "$L/mr-spill-$host-$dead-1"
mkdir "$L/mr-spill-$host-$dead-2"
other=""
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    other="mr-spill-$host-$dead-5"
    echo "spill data" >"$L/$other"
    chown nobody "$L/$other"
fi
ls -A "$L" | sort >"$T/before"
run 2 wordcount --quiet --tokens whitespace --memory 1M --spill-every 50 \
    --spill-dir "$L" --stats-json "$T/sj.json" "$MR_SOURCE_DIR/corpus/kjv.txt"
runs=$(sed -n 's/.*"spill": {.*"runs": \([0-9]*\).*/\1/p' "$T/sj.json")
check "a spilling run in that folder: exit 0 ($rc), spilled ($runs runs)" \
    test "$rc" = 0 -a "${runs:-0}" -gt 0
ls -A "$L" | sort >"$T/after"
grep -vx -e "mr-spill-$host-$dead-0" -e "mr-spill-$host-$dead-17" "$T/before" >"$T/want"
check "only the dead pid's regular files of this host are gone" cmp -s "$T/want" "$T/after"
diff "$T/want" "$T/after" | sed 's/^/#   /'
check "  ... the live pid's file is intact" grep -qx "spill data" "$L/mr-spill-$host-$$-0"
check "  ... another host's file is intact" grep -qx "spill data" "$L/mr-spill-otherhost-$dead-0"
check "  ... host $host-1's file (not host $host's pid 1) is intact" \
    grep -qx "spill data" "$L/mr-spill-$host-1-$dead-0"
check "  ... the symbolic link is still one, and its target intact" \
    test -L "$L/mr-spill-$host-$dead-1" -a "$(cat "$T/target")" = outside
check "  ... the folder of that name is still there" test -d "$L/mr-spill-$host-$dead-2"
if [ -n "$other" ]; then
    check "  ... another user's file is intact" grep -qx "spill data" "$L/$other"
fi
mr_done
