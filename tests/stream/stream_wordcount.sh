#!/usr/bin/env bash
# stream_wordcount.sh -- the stream job as a word count with awk (and
# Python) mapper, reducer and combiner on the shipped corpus: the same
# table as `wordcount --tokens whitespace` at 1, 2, 3 and 4 ranks, the same
# bytes for every rank count and schedule, the reducer's input sorted and
# grouped by key, and the values of a key in input order.
source "$MR_SOURCE_DIR/tests/lib.sh"
export LC_ALL=C
C="$MR_SOURCE_DIR/corpus"
S="$MR_SOURCE_DIR/tests/stream"
MAP="awk -f '$S/wc_map.awk'"
RED="awk -f '$S/wc_reduce.awk'"
TAB=$(printf '\t')

# The reference: wordcount's table when the module is built (it is written
# alongside), else the pipeline its README says it equals. Both as
# "word<TAB>count" lines sorted bytewise, which is the order stream gives.
if [ -e "$MR_BUILD_DIR/lib/mr/jobs/wordcount.so" ]; then
    run 2 wordcount --tokens whitespace --out "$T/wc.tsv" "$C"
    check "reference: wordcount --tokens whitespace exit 0" test "$rc" = 0
    sort "$T/wc.tsv" >"$T/ref"
else
    echo "# wordcount.so not built: reference from tr | sort | uniq -c"
    find "$C" -type f | sort | while read -r f; do
        case $f in *.gz) zcat -- "$f" ;; *) cat -- "$f" ;; esac
    done | tr -s ' \t\n\v\f\r' '\n' | grep -v '^$' | sort | uniq -c |
        awk '{ print $2 "\t" $1 }' | sort >"$T/ref"
fi
check "reference has thousands of words" test "$(wc -l <"$T/ref")" -gt 10000

# 1. The same table at 1..4 ranks (--out), already sorted by line.
for np in 1 2 3 4; do
    run $np stream --mapper "$MAP" --reducer "$RED" --out "$T/s$np" "$C"
    check "np $np: exit 0" test "$rc" = 0
    check "np $np: table equals wordcount's" cmp -s "$T/ref" "$T/s$np"
    check "np $np: nothing on stdout with --out" test ! -s "$T/out"
done
lines=$(wc -l <"$T/ref")
bytes=$(find "$C" -type f | sort | while read -r f; do
    case $f in *.gz) zcat -- "$f" ;; *) cat -- "$f" ;; esac; done | wc -c)
check "summary line on stderr" grep -Eq \
    "^stream: $bytes bytes, $lines lines out, [0-9.]+ s, [0-9.]+ MB/s$" "$T/err"

# 2. Byte-identical stdout for every rank count and schedule, also with
# small shuffle rounds; and it is the table.
same_output "stream word count" "1 2 3 4" "block cyclic dynamic master" \
    stream --mapper "$MAP" --reducer "$RED" "$C"
check "stdout equals the table" cmp -s "$T/first" "$T/ref"
same_output "stream word count, 4 KiB rounds" "2 3" "dynamic" \
    stream --mapper "$MAP" --reducer "$RED" --shuffle-round 4096 "$C"

# 3. A combiner (the reducer again) gives the same table.
for np in 1 3; do
    run $np stream --mapper "$MAP" --combiner "$RED" --reducer "$RED" \
        --out "$T/c$np" "$C"
    check "combiner np $np: exit 0" test "$rc" = 0
    check "combiner np $np: same table" cmp -s "$T/ref" "$T/c$np"
done

# 4. Python mapper and reducer.
if command -v python3 >/dev/null; then
    run 2 stream --mapper "python3 '$S/wc_map.py'" \
        --reducer "python3 '$S/wc_reduce.py'" --out "$T/py" "$C"
    check "python3 mapper and reducer: exit 0" test "$rc" = 0
    check "python3 mapper and reducer: same table" cmp -s "$T/ref" "$T/py"
else
    not_ok "python3 is missing (tools/setup-deps installs it)"
fi

# 5. Each reducer reads its lines sorted by key (sort -c fails otherwise,
# and so would the run): one "sorted" line per rank that had keys.
for np in 1 3; do
    run $np stream --mapper "$MAP" \
        --reducer "sort -c -s -t '$TAB' -k1,1 && echo sorted" "$C"
    check "np $np: reducer input sorted by key" \
        test "$rc" = 0 -a -s "$T/out" -a "$(sort -u "$T/out")" = sorted
done

# 6. The values of a key come in input order, whatever ranks ran which
# task: 300000 numbered lines (several tasks) under one key.
seq 1 300000 >"$T/seq.txt"
for np in 1 3; do
    for s in cyclic dynamic; do
        run $np stream --schedule $s --mapper "awk '{ print \"k\\t\" \$0 }'" \
            --reducer "awk -F '\\t' '\$2 != NR { bad++ } END { print \"values\", NR, bad + 0 }'" \
            "$T/seq.txt"
        check "np $np $s: values in input order" \
            test "$rc" = 0 -a "$(cat "$T/out")" = "values 300000 0"
    done
done
mr_done
