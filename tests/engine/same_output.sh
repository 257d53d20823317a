#!/usr/bin/env bash
# The engine's promise: byte-identical output for 1, 2, 3, 4 and 8 ranks and
# every schedule, on all three paths (general, fold, combine), also when the
# shuffle is forced into many small rounds.
. "$MR_SOURCE_DIR/tests/lib.sh"

# The sanitizer pass: fewer rank counts for the small rounds (same_output
# trims its own list).
rounds_nps="2 3 8"
[ -n "${MR_TEST_SANITIZED:-}" ] && rounds_nps="3 8"
for job in skew skewfold skewcomb; do
    same_output "$job" "1 2 3 4 8" "block cyclic dynamic master" \
        $job --keys 3000 --tasks 37 --pairs 1500
    # the reference (np 1 block) against many small rounds
    run 1 $job --keys 3000 --tasks 37 --pairs 1500 --schedule block
    cp "$T/out" "$T/ref"
    for np in $rounds_nps; do
        run "$np" $job --keys 3000 --tasks 37 --pairs 1500 --shuffle-round 256 --stats
        check "$job: np $np with 256-byte rounds same output" cmp -s "$T/ref" "$T/out"
        rounds=$(sed -n 's/.* in \([0-9]*\) rounds.*/\1/p' "$T/err")
        check "$job: np $np forced many rounds ($rounds)" test "${rounds:-0}" -gt 10
    done
    check "$job: output is not empty" test "$(wc -l <"$T/ref")" -gt 1000
done

# Skewed: key 0 is the most frequent.
run 2 skewfold --keys 3000 --tasks 10 --pairs 1000
top=$(sort -t$'\t' -k2,2nr "$T/out" | head -1 | cut -f1)
check "skewed frequencies: k0000000 is the most frequent key" test "$top" = k0000000
total=$(awk -F'\t' '{s += $2} END {print s}' "$T/out")
check "counts add up to tasks x pairs (10000): $total" test "$total" = 10000

# No tasks at all: empty output, exit 0.
run 3 skewfold --tasks 0
check "no tasks: exit 0 and empty output" test "$rc" = 0 -a ! -s "$T/out"

mr_done
