#!/usr/bin/env bash
# Promise 7: the same answer for any number of ranks. For a bounded number
# of randomly generated inputs (fixed seeds, so a failure reproduces), each
# job runs at 1, 2, 3 and 5 ranks, under a schedule drawn at random per
# run, and its outputs (stdout and output files) must be byte-identical.
. "$MR_SOURCE_DIR/tests/lib.sh"
jobs=$MR_BUILD_DIR/lib/mr/jobs
RANDOM=2026

# same_across NAME CMD...: runs CMD (mr-run arguments; OUT names the
# output file) at each rank count in $nps; compares stdout + $T/o/out.
same_across() {
    local name=$1; shift
    local np first=""
    for np in $nps; do
        local scheds=(block cyclic dynamic master)
        local s=${scheds[$((RANDOM % 4))]}
        rm -f "$T/o/out"
        run "$np" "$@" --schedule "$s" --quiet
        if [ "$rc" != 0 ]; then
            not_ok "$name: np $np $s: exit $rc"; head -5 "$T/err" | sed 's/^/#   /'; return
        fi
        [ -e "$T/o/out" ] && cat "$T/o/out" >>"$T/out"
        if [ -z "$first" ]; then
            first="np $np"; cp "$T/out" "$T/first"
            [ -s "$T/first" ] || { not_ok "$name: empty output"; return; }
        elif ! cmp -s "$T/first" "$T/out"; then
            not_ok "$name: np $np ($s) differs from $first"; return
        fi
    done
    ok "$name: identical at $(echo $nps | sed 's/ /, /g') ranks"
}

mkdir -p "$T/o" "$T/in"
# The sanitizer pass looks for memory errors: one seed's inputs suffice.
seeds="1 2 3" nps="1 2 3 5"
# The sanitizer pass looks for memory errors, not for more cases.
[ -n "${MR_TEST_SANITIZED:-}" ] && seeds=1 nps="1 3"
for seed in $seeds; do
    # Text: a generated corpus in a random number of files, plus a file of
    # random bytes (binary input is counted too).
    rm -rf "$T/in"/*
    "$MR_BUILD_DIR/bin/mr-gencorpus" --size $((20000 + RANDOM * 8)) --seed $seed \
        --files $((1 + RANDOM % 40)) "$T/in/text" >/dev/null
    check "seed $seed: generated $(du -sb "$T/in/text" | cut -f1) bytes of text" test -s "$T/in/text" -o -d "$T/in/text"
    head -c $((RANDOM * 4)) /dev/urandom >"$T/in/random.bin"
    [ -e "$jobs/wordcount.so" ] && for tok in words whitespace; do
        same_across "wordcount seed $seed $tok" wordcount --tokens $tok --out "$T/o/out" "$T/in"
    done
    [ -e "$jobs/stream.so" ] && same_across "stream seed $seed" stream \
        --mapper "awk -f $MR_SOURCE_DIR/tests/stream/wc_map.awk" \
        --reducer "awk -f $MR_SOURCE_DIR/tests/stream/wc_reduce.awk" --out "$T/o/out" "$T/in/text"
    # A block at most the larger side of C (matmul refuses a bigger one).
    m=$((1 + RANDOM % 90)) k=$((1 + RANDOM % 70)) n=$((1 + RANDOM % 90))
    block=$((8 + RANDOM % 24)) big=$((m > n ? m : n))
    [ "$block" -gt "$big" ] && block=$big
    [ -e "$jobs/matmul.so" ] && same_across "matmul seed $seed" matmul \
        --m $m --k $k --n $n --block $block --seed $seed --out "$T/o/out"
    [ -e "$jobs/mandelbrot.so" ] && same_across "mandelbrot seed $seed" mandelbrot \
        --width $((16 + RANDOM % 200)) --height $((8 + RANDOM % 120)) \
        --max-iter $((1 + RANDOM % 300)) --tile $((1 + RANDOM % 9)) \
        --region "-$((1 + RANDOM % 2)).$((RANDOM % 10)),0.$((RANDOM % 10)),-1.$((RANDOM % 10)),1.0" \
        --out '' --counts "$T/o/out"
    for j in skew skewfold skewcomb; do
        same_across "$j seed $seed" $j --keys $((1 + RANDOM % 5000)) --tasks $((1 + RANDOM % 50)) \
            --pairs $((1 + RANDOM % 800)) --seed $seed --shuffle-round $((64 + RANDOM * 4))
    done
done
mr_done
