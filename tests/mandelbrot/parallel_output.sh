#!/usr/bin/env bash
# parallel_output.sh -- mandelbrot's parallel output (output_part, mr_pfile):
# the PNG and the counts are byte-identical to one rank's at 2-4 ranks,
# every --output-mode and schedule; ranks with nothing to write (more ranks
# than output records) change nothing; Python alone decodes the PNG (CRCs,
# one deflate stream, its Adler-32) to the pixels NumPy computes from the
# counts; ranks that cannot see the output folder fall back to rank 0 under
# auto, and parallel says why; a write that fails at the commit (a full
# file system) fails the run and leaves no file.
source "$MR_SOURCE_DIR/tests/lib.sh"
CHECK="$MR_BUILD_DIR/tests/check_mandel"
PY=/usr/bin/python3
PIX="$MR_SOURCE_DIR/tests/mandelbrot/png_pixels.py"
# 3 groups of 64 rows (the last one short), tails in every vector block.
W=157 H=150 M=300 REGION=-2,1,-1,1
SMALL=(mandelbrot --width $W --height $H --max-iter $M --tile 4)

run 1 "${SMALL[@]}" --out "$T/ref.png" --counts "$T/ref.npy"
check "one rank: exit 0 ($rc)" test "$rc" = 0
check "one rank: PNG and counts right (check_mandel)" \
    "$CHECK" "$T/ref.png" "$T/ref.npy" $W $H $REGION $M
cp "$T/out" "$T/ref.out"

same() { # same WHAT: $T/p.png, $T/c.npy and stdout are the reference's
    check "$1: exit 0 ($rc), the same PNG, counts and summary" \
        test "$rc" = 0 -a "$(md5sum <"$T/p.png")" = "$(md5sum <"$T/ref.png")" \
        -a "$(md5sum <"$T/c.npy")" = "$(md5sum <"$T/ref.npy")" \
        -a "$(md5sum <"$T/out")" = "$(md5sum <"$T/ref.out")"
}
for c in $(combos "2 3 4" "block dynamic" "auto parallel rank0"); do
    IFS=: read -r np sched mode <<<"$c"
    rm -f "$T/p.png" "$T/c.npy"
    run $np "${SMALL[@]}" --schedule $sched --output-mode $mode \
        --out "$T/p.png" --counts "$T/c.npy"
    same "np $np $sched $mode"
done
# The PNG alone (only the compressed groups travel) and a tiny shuffle
# round (records cross in many rounds).
run 3 "${SMALL[@]}" --out "$T/p.png" --shuffle-round 300
check "PNG alone, np 3, tiny rounds: the same PNG" cmp -s "$T/p.png" "$T/ref.png"

if "$PY" -c 'import numpy' 2>/dev/null; then
    check "Python decodes the PNG to NumPy's colours of the counts" \
        "$PY" "$PIX" "$T/ref.png" "$T/ref.npy" $M 64
    run 2 mandelbrot --width 333 --height 211 --region=-0.75,-0.7,0.1,0.14 \
        --max-iter 2000 --tile 7 --out "$T/zoom.png" --counts "$T/zoom.npy"
    check "zoomed view, np 2: Python decodes it to the counts' colours" \
        "$PY" "$PIX" "$T/zoom.png" "$T/zoom.npy" 2000 64
else
    echo "# skipped: the Python decode (no numpy for $PY)"
fi

# More ranks than records: 1 group (the PNG: one record) or 2 rows (the
# counts: two records) over 4 ranks leave ranks with empty shares; rank 0
# still writes the headers and the last rank the PNG's end.
for shape in "8 1" "40 2" "5 70"; do
    set -- $shape
    timeout 120 "$MR_RUN" mandelbrot --width $1 --height $2 --max-iter 50 \
        --out "$T/e1.png" --counts "$T/e1.npy" >/dev/null 2>&1
    run 4 mandelbrot --width $1 --height $2 --max-iter 50 --out "$T/e4.png" \
        --schedule cyclic
    check "${1}x$2, np 4, PNG alone (ranks with nothing): the same PNG" \
        cmp -s "$T/e4.png" "$T/e1.png"
    run 4 mandelbrot --width $1 --height $2 --max-iter 50 --out '' \
        --counts "$T/e4.npy" --output-mode parallel
    check "${1}x$2, np 4, counts alone: the same counts" \
        cmp -s "$T/e4.npy" "$T/e1.npy"
    if "$PY" -c 'import numpy' 2>/dev/null; then
        check "${1}x$2: Python decodes the PNG to the counts' colours" \
            "$PY" "$PIX" "$T/e4.png" "$T/e4.npy" 50 64
    fi
done

# Ranks on another file system: a private tmpfs over the output folder
# for every rank but 0 (root only: mount namespaces).
if ranks_apart "$T/outdir"; then
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" "${SMALL[@]}" \
        --out "$T/outdir/p.png" --counts "$T/outdir/c.npy" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, auto: exit 0 ($rc), the same files through rank 0" \
        test "$rc" = 0 -a "$(md5sum <"$T/outdir/p.png" 2>/dev/null)" = "$(md5sum <"$T/ref.png")" \
        -a "$(md5sum <"$T/outdir/c.npy" 2>/dev/null)" = "$(md5sum <"$T/ref.npy")"
    rm -f "$T/outdir/"*
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" "${SMALL[@]}" \
        --output-mode parallel --out "$T/outdir/p.png" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, --output-mode parallel: exit 1 ($rc)" test "$rc" = 1
    check "  ... says the ranks share no file system" grep -q "share no file system" "$T/err"
    check "  ... and leaves no image, no temporary file" test -z "$(ls -A "$T/outdir")"

    # A file system too small for the image: setup's check passes, the
    # commit's write fails; no file under the final name, no temporary.
    mkdir "$T/small"
    cat >"$T/full" <<'WRAP'
#!/bin/sh
# full DIR CMD...: CMD with an 8 KiB tmpfs over DIR; then what is left there.
dir=$1; shift
mount -t tmpfs -o size=8k none "$dir" || exit 99
rc=0
"$@" || rc=$?
ls -A "$dir" >"$dir.left"
exit $rc
WRAP
    chmod +x "$T/full"
    rc=0
    timeout -k 5 120 unshare -m "$T/full" "$T/small" "$MR_MPIRUN" 2 "$MR_RUN" \
        "${SMALL[@]}" --out "$T/small/p.png" --counts "$T/small/c.npy" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "a full file system: exit 1 ($rc)" test "$rc" = 1
    check "  ... a clear message" grep -q "c.npy: write failed: No space left on device" "$T/err"
    check "  ... no summary line" test ! -s "$T/out"
    check "  ... nothing left in the folder" test -e "$T/small.left" -a ! -s "$T/small.left"
else
    echo "# skipped: other file systems (needs root and mount namespaces)"
fi

# An output folder that does not exist: refused in setup, before any work.
expect_fail 2 "cannot write there" "PNG in a missing folder" 3 "${SMALL[@]}" \
    --out "$T/no/such/p.png"
check "  ... refused in setup" grep -q ", setup: " "$T/err"
mr_done
