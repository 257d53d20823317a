#!/usr/bin/env bash
# The spill folder fails (issue 24): a full disk, a folder that is
# missing, a file, or not writable. Each run stops with exit 1 and a
# message naming the folder and the reason, leaves no output and no
# temporary file next to it, and (full disk) nothing in the spill folder
# and no rank behind. A spill folder with ten times the room a run uses
# is enough (the free-space check after map must not ask for more).
set -o pipefail # (not -e: a failed check is counted, and the test goes on)
. "$MR_SOURCE_DIR/tests/lib.sh"
C="$MR_SOURCE_DIR/corpus"
WC="wordcount --quiet --tokens whitespace --memory 1M --spill-every 50"
WC8="wordcount --quiet --tokens whitespace --memory 1M --spill-every 1000"
mkdir "$T/o"

# nothing_out WHAT: no table, no temporary file in its folder, no stdout.
nothing_out() {
    check "$1: no output file, no temporary file in its folder ($(ls -A "$T/o" | tr '\n' ' '))" \
        test -z "$(ls -A "$T/o")"
    check "$1: nothing on stdout" test ! -s "$T/out"
}
# runtime_error WHAT: exit 1 (a run that failed), not a crash or a hang.
runtime_error() {
    check "$1: exit 1 ($rc)" test "$rc" = 1
}

# ---- (a) The disk fills up: a 256 KiB tmpfs as the spill folder, in a
# mount namespace of our own (root only), -np 2, the whole corpus.
if [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null; then
    mkdir "$T/spill"
    # Inside the namespace: mount, run, and list what the tmpfs holds
    # afterwards (outside, the mount point is the empty folder under it).
    cat >"$T/full.sh" <<SH
mount -t tmpfs -o size=256k tmpfs "$T/spill" || exit 99
df -k "$T/spill" | tail -1 >"$T/df"
rc=0
timeout -k 5 120 "$MR_MPIRUN" 2 "$MR_RUN" $WC --spill-dir "$T/spill" \
    --out "$T/o/t.tsv" "$C" >"$T/out" 2>"$T/err" || rc=\$?
ls -A "$T/spill" >"$T/left"
# A tmpfs of 8 MiB for a run that uses well under 1 MiB of it at a time
# (sampled every 20 ms): it must be enough.
mkdir "$T/spill8" "$T/o8"
mount -t tmpfs -o size=8m tmpfs "$T/spill8" || exit 99
( while :; do df -k --output=used "$T/spill8" | tail -1; sleep 0.02; done ) >"$T/used8" &
sampler=\$!
rc8=0
timeout -k 5 120 "$MR_MPIRUN" 2 "$MR_RUN" $WC8 --spill-dir "$T/spill8" \
    --out "$T/o8/t8.tsv" "$C/kjv.txt" >/dev/null 2>"$T/err8" || rc8=\$?
kill \$sampler
echo \$rc8 >"$T/rc8"
exit \$rc
SH
    rc=0
    unshare -m --propagation private bash "$T/full.sh" || rc=$?
    echo "# spill tmpfs: $(cat "$T/df" 2>/dev/null)"
    check "disk full: the tmpfs was mounted" test "$rc" != 99 -a -s "$T/df"
    runtime_error "disk full"
    check "disk full: stderr names the spill folder and says no space" \
        grep -q "spill folder $T/spill: no space left on the device" "$T/err"
    grep "spill folder" "$T/err" | head -2 | sed 's/^/#   /'
    nothing_out "disk full"
    check "disk full: the spill folder is empty afterwards ($(tr '\n' ' ' <"$T/left"))" \
        test -e "$T/left" -a ! -s "$T/left"
    # No rank left behind (anything still running with our folder on its
    # command line; killed by its pid if so, so that the test can end).
    sleep 0.5
    left=$(pgrep -f -- "--spill-dir $T/spill" || true)
    check "disk full: no mr-run process left ($left)" test -z "$left"
    [ -z "$left" ] || kill -KILL $left 2>/dev/null
    # Enough room, if not plenty: the 8 MiB tmpfs. (The engine's check of
    # the free space after map must count what is on disk, not every byte
    # ever written, merges included.)
    peak8=$(sort -n "$T/used8" 2>/dev/null | tail -1 | tr -d ' ')
    check "a spill tmpfs of 8 MiB, of which the run uses at most ${peak8:-?} KiB: exit 0 ($(cat "$T/rc8" 2>/dev/null))" \
        test "$(cat "$T/rc8" 2>/dev/null)" = 0 -a -s "$T/o8/t8.tsv"
    grep "spill folder" "$T/err8" | head -2 | sed 's/^/#   /'
    rm -f "$T/o8/t8.tsv"
    # The same run with room to spill works: it was the disk.
    mkdir "$T/roomy"
    run 2 $WC --spill-dir "$T/roomy" --out "$T/o/t.tsv" "$C" --stats-json "$T/sj.json"
    check "with room on disk the same run works (exit $rc) and spills" \
        test "$rc" = 0 -a -s "$T/o/t.tsv" \
        -a "$(sed -n 's/.*"runs": \([0-9]*\).*/\1/p' "$T/sj.json")" -gt 0
    check "  ... and leaves its spill folder empty" test -z "$(ls -A "$T/roomy")"
    rm -f "$T/o/t.tsv" "$T/sj.json"
else
    echo "# skipped: the full disk (needs root and mount namespaces)"
fi

# ---- (b) A spill folder that does not exist: refused in setup, before map.
nx=/nonexistent
[ ! -e "$nx" ] || nx="$T/nonexistent"
run 2 $WC --spill-dir "$nx" --out "$T/o/t.tsv" "$C/kjv.txt"
echo "# --spill-dir $nx: exit $rc"
runtime_error "missing spill folder"
check "missing spill folder: the message names it and says why" \
    grep -q "spill folder $nx: cannot create a run file: No such file or directory" "$T/err"
check "missing spill folder: refused in setup, not after a map" grep -q "setup: spill folder" "$T/err"
nothing_out "missing spill folder"

# ---- (c) A spill folder that is a file.
echo "not a folder" >"$T/afile"
run 2 $WC --spill-dir "$T/afile" --out "$T/o/t.tsv" "$C/kjv.txt"
runtime_error "spill folder is a file"
check "spill folder is a file: the message names it and says why" \
    grep -q "spill folder $T/afile: cannot create a run file: Not a directory" "$T/err"
nothing_out "spill folder is a file"
check "spill folder is a file: the file is untouched" grep -qx "not a folder" "$T/afile"

# ---- (c) A spill folder the user cannot write to: as root, the run goes
# as nobody (root may write anywhere); otherwise a folder of mode 0555.
mkdir "$T/ro"
chmod 555 "$T/ro"
as=()
if [ "$(id -u)" = 0 ]; then
    # nobody needs to reach mr-run and the input, and folders of its own
    # for the output, Open MPI's session files and shared memory.
    if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
        setpriv --reuid=nobody --regid=nogroup --clear-groups \
            test -x "$MR_RUN" -a -r "$C/kjv.txt" 2>/dev/null; then
        chmod 755 "$T"
        mkdir -p "$T/nb/shm" "$T/nb/spill"
        chown -R nobody "$T/nb" "$T/o"
        as=(setpriv --reuid=nobody --regid=nogroup --clear-groups
            env TMPDIR="$T/nb" HOME="$T/nb" OMPI_MCA_btl_vader_backing_directory="$T/nb/shm")
    else
        echo "# skipped: the unwritable spill folder (no user nobody, or it cannot reach mr-run)"
        as=(skip)
    fi
fi
# run_as NP ARGS...: run, as the user chosen above.
run_as() {
    local np=$1; shift
    rc=0
    timeout -k 5 120 "${as[@]}" "$MR_MPIRUN" "$np" "$MR_RUN" "$@" \
        >"$T/out" 2>"$T/err" || rc=$?
}
if [ "${as[0]:-}" != skip ]; then
    run_as 2 $WC --spill-dir "$T/ro" --out "$T/o/t.tsv" "$C/kjv.txt"
    runtime_error "unwritable spill folder"
    check "unwritable spill folder: the message names it and says why" \
        grep -q "spill folder $T/ro: cannot create a run file: Permission denied" "$T/err"
    nothing_out "unwritable spill folder"
    check "unwritable spill folder: still empty" test -z "$(ls -A "$T/ro")"
    # The same user with a folder of its own: the run works.
    sp="$T/ro2"
    [ "${#as[@]}" = 0 ] || sp="$T/nb/spill"
    mkdir -p "$sp"
    run_as 2 $WC --spill-dir "$sp" --out "$T/o/t.tsv" "$C/kjv.txt"
    check "a writable spill folder, same user: exit 0 ($rc) and a table" test "$rc" = 0 -a -s "$T/o/t.tsv"
    [ "$rc" = 0 ] || sed 's/^/#   /' "$T/err" | head -5
fi
chmod 755 "$T/ro"
mr_done
