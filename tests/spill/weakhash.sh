#!/usr/bin/env bash
# An engine whose key hash collides on purpose (-DMR_TEST_WEAK_HASH=ON:
# mr__hash gives 4 values, by key length mod 4): fold tables probe long
# chains, partitions are skewed, and spill, merge and grouping must still
# compare whole keys. A second build tree under the main one (only mr-run,
# the wordcount and stream jobs and the test jobs) runs wordcount
# --tokens whitespace, stream with a combiner, skew and skewfold in memory
# and with --memory 1M --spill-every 50 at -np 1 and 3; each must give the
# normal build's in-memory bytes. Small inputs (a few thousand distinct
# keys): the weak hash makes the fold table quadratic.
set -o pipefail # (not -e: a failed check is counted, and the test goes on)
. "$MR_SOURCE_DIR/tests/lib.sh"
export LC_ALL=C
W="$MR_BUILD_DIR/weakhash"
cache() { sed -n "s/^$1:[A-Z]*=//p" "$MR_BUILD_DIR/CMakeCache.txt"; }
rc=0
{
    cmake -S "$MR_SOURCE_DIR" -B "$W" -DMR_TEST_WEAK_HASH=ON -DBUILD_TESTING=ON \
        -DCMAKE_BUILD_TYPE="$(cache CMAKE_BUILD_TYPE)" -DMR_SANITIZE="$(cache MR_SANITIZE)" &&
        cmake --build "$W" -j2 --target mr-run wordcount stream skew skewfold skewcomb
} >"$T/build.log" 2>&1 || rc=$?
check "the weak-hash tree builds (exit $rc)" test "$rc" = 0 -a -x "$W/bin/mr-run"
[ "$rc" = 0 ] || tail -20 "$T/build.log" | sed 's/^/#   /'
check "  ... its engine is compiled with MR_TEST_WEAK_HASH" \
    grep -q MR_TEST_WEAK_HASH "$W/framework/CMakeFiles/mr_objects.dir/flags.make"
check "  ... and its mr-run loads its own libmr" \
    sh -c "ldd '$W/bin/mr-run' | grep -q '=> $W/bin/../lib/libmr.so'"

head -c 200000 "$MR_SOURCE_DIR/corpus/kjv.txt" >"$T/in.txt"
echo "# $(tr -s ' \t\n\r' '\n' <"$T/in.txt" | sort -u | wc -l) distinct words in the input"
mkdir "$T/o"
OOC="--memory 1M --spill-every 50"
spill_runs() { sed -n 's/.*"spill": {.*"runs": \([0-9]*\).*/\1/p' "$T/sj.json" 2>/dev/null; }
recv() { grep -o '"shuffle_recv": [0-9]*' "$T/sj.json" | grep -o '[0-9]*$' | tr '\n' ' '; }

# job NAME FILE ARGS...: the normal build in memory at -np 2, then the
# weak one in memory and out of core at -np 1 and 3; stdout and FILE.
job() {
    local name=$1 file=$2; shift 2
    rm -f "$file"
    run 2 "$@"
    cat "$file" >>"$T/out" 2>/dev/null
    cp "$T/out" "$T/ref"
    check "$name: normal build, in memory: exit 0 ($rc), $(wc -l <"$T/ref") lines" \
        test "$rc" = 0 -a -s "$file"
    local np how
    for np in 1 3; do
        for how in memory spill; do
            rm -f "$file" "$T/sj.json"
            local flags=""
            [ "$how" = spill ] && flags=$OOC
            MR_RUN="$W/bin/mr-run" MR_JOB_PATH="$W/tests/jobs" \
                run $np "$@" $flags --stats-json "$T/sj.json"
            cat "$file" >>"$T/out" 2>/dev/null
            local r; r=$(spill_runs)
            if [ "$rc" != 0 ]; then
                not_ok "$name: weak hash, np $np, $how: exit $rc"; sed 's/^/#   /' "$T/err" | head -10
            elif ! cmp -s "$T/ref" "$T/out"; then
                not_ok "$name: weak hash, np $np, $how: output differs from the normal build's"
                diff "$T/ref" "$T/out" | head -10 | sed 's/^/#   /'
            elif [ "$how" = spill ] && [ "${r:-0}" = 0 ]; then
                not_ok "$name: weak hash, np $np, $how: did not spill"
            elif [ "$how" = memory ] && [ "${r:-1}" != 0 ]; then
                not_ok "$name: weak hash, np $np, $how: spilled ($r runs)"
            else
                ok "$name: weak hash, np $np, $how ($r runs; received per rank: $(recv)): same bytes"
            fi
        done
    done
}

job "wordcount whitespace" "$T/o/wc.tsv" wordcount --quiet --tokens whitespace --top 20 \
    --out "$T/o/wc.tsv" "$T/in.txt"
S="$MR_SOURCE_DIR/tests/stream"
job "stream --combiner" "$T/o/s.txt" stream --mapper "awk -f '$S/wc_map.awk'" \
    --combiner "awk -f '$S/wc_reduce.awk'" --reducer "awk -f '$S/wc_reduce.awk'" \
    --out "$T/o/s.txt" "$T/in.txt"
for j in skew skewfold; do
    job "$j" "$T/o/$j.tsv" $j --keys 4000 --tasks 8 --pairs 3000 --out "$T/o/$j.tsv"
done

# The weak hash is in effect: at -np 3 the ranks receive other shares of
# the shuffle than in the normal build (keys go by length mod 4; block
# schedule: the one map task on rank 0 both times).
rm -f "$T/sj.json"
run 3 wordcount --quiet --tokens whitespace --schedule block --stats-json "$T/sj.json" "$T/in.txt"
normal=$(recv)
MR_RUN="$W/bin/mr-run" run 3 wordcount --quiet --tokens whitespace --schedule block --stats-json "$T/sj.json" "$T/in.txt"
weak=$(recv)
check "the weak hash is in effect: bytes received per rank at -np 3, normal ($normal) vs weak ($weak)" \
    test -n "$normal" -a -n "$weak" -a "$normal" != "$weak"
mr_done
