#!/usr/bin/env bash
# bad_input.sh -- matmul refuses bad input with a clear message and the
# exit status the issue asks for, and leaves no output file behind:
#   bad .npy files (truncated, wrong dtype, malformed header, shapes that
#   do not match): exit 1, naming the file;
#   bad options (sizes <= 0, a block larger than the matrix, sizes that do
#   not fit in memory, --a without --b, ...): exit 2, before any work.
source "$MR_SOURCE_DIR/tests/lib.sh"
TOOL=$MR_BUILD_DIR/tests/mm_tool

mkdir "$T/o"

# no_output WHAT: the output folder is still empty (no C.npy, no temp).
no_output() {
    check "$1: no output file left" test -z "$(ls -A "$T/o")"
}

# fails RC PATTERN WHAT ARGS...: at 1 and 3 ranks (3 in the sanitizer
# pass), with --out.
fails() {
    local want=$1 pat=$2 what=$3 np nps="1 3"; shift 3
    [ -n "${MR_TEST_SANITIZED:-}" ] && nps=3
    for np in $nps; do
        expect_fail "$want" "$pat" "$what (np $np)" "$np" matmul "$@" \
            --out "$T/o/c.npy" --quiet
        no_output "$what (np $np)"
    done
}

# Runaway sizes: refused in setup (exit 2, within seconds), before a task
# list of 2.4e11 entries is built.
fails 2 "--m 1000000000 --n 1000000000 with --block 2048 makes 2.38e\+11 map tasks; at most 1e\+07 \(use a larger --block\)" \
    "a size that makes 2.4e11 tasks" --n 1000000000
# Building the list first would take hours (or the kernel's OOM killer):
# 30 s is far from either, also for a sanitizer build on a loaded machine.
t0=$(date +%s)
run 1 matmul --n 1000000000 --quiet
check "... also without --out (exit $rc)" test "$rc" = 2
check "... refused within 30 s, before building the task list" test $(($(date +%s) - t0)) -le 30
fails 2 "makes 1.68e\+07 map tasks" "many small blocks" --n 65536 --block 16

"$TOOL" write "$T/a.npy" 4 3 1 c 1
"$TOOL" write "$T/b.npy" 3 2 2 f 1
"$TOOL" write "$T/b_wrong.npy" 4 2 2 c 1
size=$(stat -c %s "$T/a.npy")
head -c $((size - 8)) "$T/a.npy" >"$T/trunc.npy"
head -c 60 "$T/a.npy" >"$T/trunc_header.npy"
"$TOOL" raw "$T/f4.npy" 1 "{'descr': '<f4', 'fortran_order': False, 'shape': (4, 3), }" 48
"$TOOL" raw "$T/be.npy" 1 "{'descr': '>f8', 'fortran_order': False, 'shape': (4, 3), }" 96
"$TOOL" raw "$T/malformed.npy" 1 "{'descr': '<f8', 'fortran_order': Nope, 'shape': (4, 3), }" 96
"$TOOL" raw "$T/vector.npy" 1 "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }" 24
printf 'not numpy at all\n' >"$T/text.npy"

run 2 matmul --a "$T/a.npy" --b "$T/b.npy" --out "$T/o/c.npy" --quiet
check "good files: exit 0" test "$rc" = 0
check "good files: C written" test -s "$T/o/c.npy"
rm -f "$T/o/c.npy"

fails 1 "trunc.npy: truncated: shape \(4, 3\) needs 96 data bytes, the file has 88" \
    "truncated data" --a "$T/trunc.npy" --b "$T/b.npy"
fails 1 "trunc_header.npy: truncated header" \
    "truncated header" --a "$T/trunc_header.npy" --b "$T/b.npy"
fails 1 "f4.npy: dtype '<f4' is not supported" \
    "wrong dtype" --a "$T/f4.npy" --b "$T/b.npy"
fails 1 "be.npy: dtype '>f8' is not supported" \
    "big-endian float64" --a "$T/a.npy" --b "$T/be.npy"
fails 1 "malformed.npy: malformed header: expected True or False" \
    "malformed header" --a "$T/malformed.npy" --b "$T/b.npy"
fails 1 "vector.npy: 1-dimensional array" \
    "not a matrix" --a "$T/vector.npy" --b "$T/b.npy"
fails 1 "text.npy: not a .npy file" \
    "not a .npy file" --a "$T/a.npy" --b "$T/text.npy"
fails 1 "missing.npy: cannot open" \
    "missing file" --a "$T/missing.npy" --b "$T/b.npy"
fails 1 "b_wrong.npy: shape \(4, 2\) does not match .*a.npy \(4, 3\): A \* B needs B to have 3 rows" \
    "shape mismatch" --a "$T/a.npy" --b "$T/b_wrong.npy"
fails 1 "a.npy: --m 5 does not match the file's 4" \
    "--m against the file" --a "$T/a.npy" --b "$T/b.npy" --m 5

fails 2 "sizes must be positive" "--n 0" --n 0
fails 2 "sizes must be positive" "negative --n" --n -5
fails 2 "sizes must be positive" "negative --k" --n 5 --k -1
fails 2 "--block 11 is larger than the matrix: C is 10 x 10" \
    "block larger than the matrix" --n 10 --block 11
fails 2 "--block must be positive" "--block 0" --n 10 --block 0
fails 2 "--block must be positive" "negative --block" --n 10 --block -4
fails 2 "would need about .* more than this machine's" \
    "sizes that do not fit in memory" --n 2000000
fails 2 "would need about .*shared out over the ranks" \
    "C whose share does not fit on a rank" --m 1000000 --k 1 --n 1000000
fails 2 "--split-k 11: k \(10\) can be cut into 1 to 10 chunks" \
    "split-k larger than k" --n 10 --split-k 11
fails 2 "--a and --b go together" "--a without --b" --a "$T/a.npy"
fails 2 "give the size" "no size" --seed 3
fails 2 "--blas-threads 0" "no BLAS threads" --n 4 --blas-threads 0
fails 2 "unexpected argument 'extra'" "positional argument" --n 4 extra
expect_fail 2 "--out /dev/null: exists and is not a regular file" \
    "--out onto a device" 2 matmul --n 4 --out /dev/null --quiet
check "/dev/null is still a device" test -c /dev/null
expect_fail 2 "cannot write there" "--out in a missing folder" \
    2 matmul --n 4 --out "$T/nowhere/c.npy" --quiet

mr_done
