#!/usr/bin/env bash
# products.sh -- mr-run matmul end to end: small odd shapes at 1..4 ranks
# and every schedule. The --out file and stdout (shape, checksum) must be
# byte-identical across rank counts and schedules, and C must match a naive
# long double product (tests/matmul/mm_tool.c) within k * 2^-52 |A||B|.
# Operands come from the generator and from .npy files in C and Fortran
# order with v1.0 and v2.0 headers; --split-k and --verify are run too.
source "$MR_SOURCE_DIR/tests/lib.sh"
TOOL=$MR_BUILD_DIR/tests/mm_tool
NPS="1 2 3 4"
SCHEDS="block cyclic dynamic master"


# Generated operands: "m k n block". The sanitizer pass looks for memory
# errors, not shapes: two of them (the plain pass runs all).
SHAPES=("1 1 1 1" "7 5 3 2" "33 65 17 8" "33 65 17 33")
[ -n "${MR_TEST_SANITIZED:-}" ] && SHAPES=("7 5 3 2" "33 65 17 8")
for shape in "${SHAPES[@]}"; do
    set -- $shape
    OUTFILE=$T/c.npy same_output "generated $1x$2*$2x$3 block $4" \
        "$NPS" "$SCHEDS" matmul --m "$1" --k "$2" --n "$3" --block "$4" \
        --seed 7 --out "$T/c.npy" --quiet
    check "generated $1x$2*$2x$3 block $4: C equals the naive product" \
        "$TOOL" check-gen "$T/c.npy" "$1" "$2" "$3" 7
    cp "$T/first" "$T/with_out"

    # Without --out only block checksums travel: same stdout, and no file.
    rm -f "$T/c.npy"
    run 3 matmul --m "$1" --k "$2" --n "$3" --block "$4" --seed 7 --quiet
    check "generated $1x$2*$2x$3: checksum without --out is the same" \
        cmp -s "$T/out" <(head -n 2 "$T/with_out")
    check "generated $1x$2*$2x$3: no file without --out" test ! -e "$T/c.npy"
done

# A default run prints the shape and a checksum; the timing goes to
# stderr; --verify passes.
run 2 matmul --m 33 --k 65 --n 17 --verify --quiet
check "default block: exit 0" test "$rc" = 0
check "default block: summary on stdout" \
    grep -q '^matmul: C (33 x 17) = A (33 x 65) \* B (65 x 17), block 33, 1 tasks$' "$T/out"
check "default block: checksum on stdout" \
    grep -Eq '^checksum: sum -?[0-9.e+-]+ frobenius [0-9.e+-]+$' "$T/out"
check "default block: verify ok" \
    grep -Eq '^verify: largest relative error .* \(limit 6.5e-11\): ok$' "$T/out"
check "default block: timing on stderr" \
    grep -Eq '^matmul: [0-9.]+ s, [0-9.]+ GFLOP/s on 2 ranks' "$T/err"

# Setup ends OpenBLAS's idle thread pool when a rank runs one BLAS thread
# (issue 23): a run with two still uses threads, and --verify's dgemm on
# rank 0 still runs after the pool has gone.
run 2 matmul --n 300 --block 128 --blas-threads 2 --verify --quiet
check "--blas-threads 2: verify ok" grep -q '^verify: .*: ok$' "$T/out"
check "--blas-threads 2: timing says 2 BLAS threads" \
    grep -q 'on 2 ranks x 2 BLAS threads' "$T/err"
run 2 matmul --n 300 --block 128 --verify --quiet
check "one BLAS thread: verify ok" grep -q '^verify: .*: ok$' "$T/out"

# --split-k: partial blocks added by reduce in task order.
OUTFILE=$T/c.npy same_output "split-k 4, 33x65*65x17 block 8" "$NPS" "$SCHEDS" \
    matmul --m 33 --k 65 --n 17 --block 8 --split-k 4 --seed 7 \
    --out "$T/c.npy" --verify --quiet
check "split-k: C equals the naive product" \
    "$TOOL" check-gen "$T/c.npy" 33 65 17 7
same_output "split-k 3 without --out" "1 3" "cyclic master" \
    matmul --m 7 --k 5 --n 3 --block 2 --split-k 3 --quiet

# Operands from .npy files: C and Fortran order, v1.0 and v2.0 headers.
"$TOOL" write "$T/a_c1.npy" 33 65 11 c 1
"$TOOL" write "$T/b_c1.npy" 65 17 12 c 1
"$TOOL" write "$T/a_f2.npy" 33 65 11 f 2
"$TOOL" write "$T/b_f1.npy" 65 17 12 f 1
"$TOOL" write "$T/b_c2.npy" 65 17 12 c 2
for pair in "a_c1 b_c1" "a_f2 b_f1" "a_c1 b_f1" "a_f2 b_c2"; do
    set -- $pair
    OUTFILE=$T/c.npy same_output "files $1 * $2" "1 2 4" "$SCHEDS" \
        matmul --a "$T/$1.npy" --b "$T/$2.npy" --block 8 --out "$T/c.npy" --quiet
    check "files $1 * $2: C equals the naive product" \
        "$TOOL" check "$T/c.npy" "$T/$1.npy" "$T/$2.npy"
    cp "$T/c.npy" "$T/c_$1_$2.npy"
done
# The same numbers in another layout give the same bits.
check "files: C order and Fortran order inputs give the same C" \
    cmp -s "$T/c_a_c1_b_c1.npy" "$T/c_a_f2_b_f1.npy"
check "files: mixed layouts give the same C" \
    cmp -s "$T/c_a_c1_b_f1.npy" "$T/c_a_f2_b_c2.npy"

# The module exports exactly its entry point.
so=$MR_BUILD_DIR/lib/mr/jobs/matmul.so
check "matmul.so exports only mr_job_matmul_init" \
    test "$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort | tr '\n' ' ')" = "mr_job_matmul_init "

mr_done
