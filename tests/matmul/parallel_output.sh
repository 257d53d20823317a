#!/usr/bin/env bash
# parallel_output.sh -- matmul's parallel output (output_part, mr_pfile):
# C.npy and stdout are byte-identical to one rank's at 2-4 ranks, every
# --output-mode and schedule, with and without --split-k; ranks with no
# rows to write (more ranks than rows) change nothing; --verify checks
# every rank's rows; ranks that cannot see the output folder fall back to
# rank 0 under auto, and parallel says why; a write that fails at the
# commit (a full file system) fails the run and leaves no file.
source "$MR_SOURCE_DIR/tests/lib.sh"
TOOL=$MR_BUILD_DIR/tests/mm_tool
SHAPE=(--m 33 --k 65 --n 17 --block 8 --seed 7 --quiet)

ref() { # ref NAME ARGS...: one rank's C.npy and stdout as $T/NAME.{npy,out}
    local name=$1; shift
    timeout 120 "$MR_RUN" matmul "$@" --out "$T/$name.npy" >"$T/$name.out" 2>/dev/null
}
same() { # same WHAT NAME: $T/c.npy and stdout are NAME's
    check "$1: exit 0 ($rc), the same C.npy and stdout" \
        test "$rc" = 0 -a "$(md5sum <"$T/c.npy")" = "$(md5sum <"$T/$2.npy")" \
        -a "$(md5sum <"$T/out")" = "$(md5sum <"$T/$2.out")"
}

ref ref "${SHAPE[@]}"
check "one rank: C equals the naive product" "$TOOL" check-gen "$T/ref.npy" 33 65 17 7
for c in $(combos "2 3 4" "block dynamic" "auto parallel rank0"); do
    IFS=: read -r np sched mode <<<"$c"
    rm -f "$T/c.npy"
    run $np matmul "${SHAPE[@]}" --schedule $sched --output-mode $mode \
        --out "$T/c.npy"
    same "np $np $sched $mode" ref
done
ref refk "${SHAPE[@]}" --split-k 3
for mode in parallel rank0; do
    run 4 matmul "${SHAPE[@]}" --split-k 3 --output-mode $mode --out "$T/c.npy"
    same "split-k 3, np 4, $mode" refk
done
check "split-k: C equals the naive product" "$TOOL" check-gen "$T/c.npy" 33 65 17 7

# More ranks than rows: ranks with no rows write nothing; rank 0 still
# writes the header.
for m in 1 2 3; do
    ref "r$m" --m $m --k 5 --n 4 --block 1 --seed 3 --quiet
    run 4 matmul --m $m --k 5 --n 4 --block 1 --seed 3 --quiet --out "$T/c.npy" \
        --output-mode parallel
    same "$m rows on 4 ranks" "r$m"
    check "$m rows on 4 ranks: C equals the naive product" \
        "$TOOL" check-gen "$T/c.npy" $m 5 4 3
done

# --verify: each rank checks the rows it wrote (bands cut across ranks at
# 3 ranks: 33 rows, blocks of 8); the same verdict and error as one rank.
timeout 120 "$MR_RUN" matmul "${SHAPE[@]}" --verify >"$T/v1.out" 2>/dev/null
run 3 matmul "${SHAPE[@]}" --verify --schedule cyclic
check "--verify at 3 ranks: exit 0 ($rc), ok" grep -q '^verify: .*: ok$' "$T/out"
check "  ... the same stdout as one rank" cmp -s "$T/out" "$T/v1.out"

# Ranks on another file system: a private tmpfs over the output folder
# for every rank but 0 (root only: mount namespaces).
if ranks_apart "$T/outdir"; then
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" matmul "${SHAPE[@]}" \
        --out "$T/outdir/c.npy" >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, auto: exit 0 ($rc), the same C through rank 0" \
        test "$rc" = 0 -a "$(md5sum <"$T/outdir/c.npy" 2>/dev/null)" = "$(md5sum <"$T/ref.npy")"
    rm -f "$T/outdir/"*
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" matmul "${SHAPE[@]}" \
        --output-mode parallel --out "$T/outdir/c.npy" >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, --output-mode parallel: exit 1 ($rc)" test "$rc" = 1
    check "  ... says the ranks share no file system" grep -q "share no file system" "$T/err"
    check "  ... and leaves no C, no temporary file" test -z "$(ls -A "$T/outdir")"

    # A file system too small for C: setup's check passes, the commit's
    # write fails; no file under the final name, no temporary.
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
        matmul --n 100 --block 32 --quiet --out "$T/small/c.npy" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "a full file system: exit 1 ($rc)" test "$rc" = 1
    check "  ... a clear message" grep -q "c.npy: write failed: No space left on device" "$T/err"
    check "  ... no summary on stdout" test ! -s "$T/out"
    check "  ... nothing left in the folder" test -e "$T/small.left" -a ! -s "$T/small.left"
else
    echo "# skipped: other file systems (needs root and mount namespaces)"
fi
mr_done
