#!/usr/bin/env bash
# A rank keeps to its --memory budget (issue 24): whitespace word count of
# a generated 200 MiB corpus (2.3 million distinct words; in memory a rank
# peaks near 150 MiB) at -np 2 with --memory 32M. The peak resident set of
# each rank (VmHWM, through tests/spill/rss.py) must stay within
#     fixed overhead + 32 MiB + 16 MiB of slack,
# the fixed overhead being the larger rank's peak for the same command on
# a 2 KB input (MPI, the libraries, the code; no spill). The run must have
# spilled, and its table must be the in-memory run's, byte for byte. The
# in-memory run's peak is printed for the record, not checked.
set -o pipefail # (not -e: a failed check is counted, and the test goes on)
. "$MR_SOURCE_DIR/tests/lib.sh"
if [ -n "${MR_TEST_SANITIZED:-}" ]; then
    echo "# skipped: resident sizes mean nothing under AddressSanitizer"
    mr_done
    exit
fi
BUDGET_MIB=32
SLACK_MIB=16
RSS="$MR_SOURCE_DIR/tests/spill/rss.py"

# The corpus, made once and kept in the build tree (it takes ~5 s).
cache="$MR_BUILD_DIR/tests/spill/cache"
big="$cache/corpus-200M-seed3.txt"
if [ ! -s "$big" ]; then
    mkdir -p "$cache"
    "$MR_BUILD_DIR/bin/mr-gencorpus" --size 200M --seed 3 "$big.tmp.$$" >/dev/null &&
        mv "$big.tmp.$$" "$big"
fi
check "the corpus is there ($(stat -c %s "$big" 2>/dev/null) bytes)" test -s "$big"
head -c 2000 "$big" >"$T/tiny.txt"
mkdir "$T/spill"

# measure NAME INPUT ARGS...: -np 2, each rank under rss.py; the peaks (KiB)
# in $T/NAME.0 and $T/NAME.1, the timelines in $T/NAME.<rank>.t, the
# table in $T/NAME.tsv, the statistics in $T/NAME.json.
measure() {
    local name=$1 in=$2; shift 2
    rc=0
    timeout -k 5 "${MR_TIMEOUT:-240}" "$MR_MPIRUN" 2 "$RSS" "$T/$name" "$MR_RUN" \
        wordcount --quiet --tokens whitespace --spill-dir "$T/spill" \
        --out "$T/$name.tsv" --stats-json "$T/$name.json" "$@" "$in" \
        >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" != 0 ]; then sed 's/^/#   /' "$T/err" | head -10; fi
}
peak() { cat "$T/$1.$2" 2>/dev/null || echo 0; }
spill() { sed -n "s/.*\"spill\": {.*\"$2\": \([0-9]*\).*/\1/p" "$T/$1.json" 2>/dev/null; }

# The fixed overhead: the same command on a tiny input.
measure tiny "$T/tiny.txt" --memory ${BUDGET_MIB}M
check "tiny input: exit 0 ($rc), peaks measured" test "$rc" = 0 -a "$(peak tiny 0)" -gt 0 -a "$(peak tiny 1)" -gt 0
over=$(peak tiny 0)
[ "$(peak tiny 1)" -gt "$over" ] && over=$(peak tiny 1)
bound=$((over + (BUDGET_MIB + SLACK_MIB) * 1024))
echo "# fixed overhead: rank 0 $(peak tiny 0) KiB, rank 1 $(peak tiny 1) KiB; bound $over + ${BUDGET_MIB} MiB + ${SLACK_MIB} MiB = $bound KiB"

# Out of core under the budget.
measure ooc "$big" --memory ${BUDGET_MIB}M
check "--memory ${BUDGET_MIB}M: exit 0 ($rc)" test "$rc" = 0
check "--memory ${BUDGET_MIB}M: the budget is ${BUDGET_MIB} MiB" \
    grep -q "\"memory\": $((BUDGET_MIB << 20))," "$T/ooc.json"
check "--memory ${BUDGET_MIB}M: spilled ($(spill ooc runs) runs, $(spill ooc bytes_raw) bytes raw, $(spill ooc bytes_written) on disk)" \
    test "$(spill ooc runs)" -gt 0
for r in 0 1; do
    p=$(peak ooc $r)
    # When the peak came (seconds after the rank started), and the rank's
    # phase times, to tell which phase it was in.
    at=$(awk -v m="$p" '$3 >= m - 256 { print $1; exit }' "$T/ooc.$r.t" 2>/dev/null)
    ph=$(grep "\"rank\": $r," "$T/ooc.json" | grep -o '"phases": {[^}]*}' | tr -d '"{}' | sed 's/phases: //')
    echo "# rank $r: peak $p KiB = overhead + $((p - over)) KiB, reached ~${at:-?} s after start; phases (s): $ph"
    check "--memory ${BUDGET_MIB}M: rank $r peaks at $p KiB <= $bound KiB (over the budget by $((p - over - BUDGET_MIB * 1024)) KiB)" \
        test "$p" -gt 0 -a "$p" -le "$bound"
done

# In memory (the default budget is far above what this needs): the same
# table; its peak, for the record.
measure mem "$big"
check "in memory: exit 0 ($rc), no spill ($(spill mem runs) runs)" test "$rc" = 0 -a "$(spill mem runs)" = 0
echo "# in memory: rank 0 peaks at $(peak mem 0) KiB, rank 1 at $(peak mem 1) KiB"
check "out of core: the same table as in memory ($(wc -l <"$T/mem.tsv") lines)" \
    cmp -s "$T/ooc.tsv" "$T/mem.tsv"
check "the spill folder is empty afterwards" test -z "$(ls -A "$T/spill")"
mr_done
