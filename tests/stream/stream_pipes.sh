#!/usr/bin/env bash
# stream_pipes.sh -- the stream job's pipes under load and at the edges:
# mappers and reducers whose output is far larger than a pipe (written
# while reading, or all before reading), a mapper that stops reading,
# input without a final newline, small files grouped into one task, gzip
# and standard input, lines longer than the reader's buffer, and empty
# input.
source "$MR_SOURCE_DIR/tests/lib.sh"
export LC_ALL=C
TAB=$(printf '\t')

# 1. 52 MB of mapper output written while it reads (400000 lines of ~130
# bytes for 2.7 MB of input): we must drain while we feed. The reducer
# writes one line per value back (52 MB), drained while it is fed too.
seq 1 400000 >"$T/seq.txt"
PAD=$(printf '%0120d' 0)
MAP="awk '{ print \$0 % 1000 \"\\t\" \$0 \"-$PAD\" }'"
for np in 1 2; do
    run $np stream --mapper "$MAP" \
        --reducer "awk -F '\\t' '{ n[\$1]++ } END { for (k in n) print k \"\\t\" n[k] }'" \
        "$T/seq.txt"
    check "np $np: 52 MB of mapper output: exit $rc" test "$rc" = 0
    check "np $np: 1000 keys of 400 values each" \
        test "$(wc -l <"$T/out")" = 1000 -a "$(cut -f2 "$T/out" | sort -u)" = 400
done
run 2 stream --mapper "$MAP" --reducer "cat" --out "$T/big" "$T/seq.txt"
check "52 MB of reducer output: exit $rc" test "$rc" = 0
check "  every mapper line in the output" test "$(wc -l <"$T/big")" = 400000
check "  sorted by line" sort -c "$T/big"

# 2. A mapper that writes 20 MB before it reads any input, then echoes its
# input: its whole input must still arrive.
run 2 stream --reducer "awk -F '\\t' '\$1 != k { if (NR > 1) print k \"\\t\" n; k = \$1; n = 0 } { n++ } END { print k \"\\t\" n }'" \
    --mapper "yes 'x${TAB}yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy' | head -n 200000; awk '{ print \"line\\t\" \$0 }'" \
    "$T/seq.txt"
check "mapper writing 20 MB before reading: exit $rc" test "$rc" = 0
check "  all 400000 input lines arrived" grep -qx "line${TAB}400000" "$T/out"
check "  200000 lines per task" awk -F '\t' \
    '$1 == "x" { exit !($2 > 0 && $2 % 200000 == 0) }' "$T/out"

# 3. A mapper that reads one line and exits 0: the rest of its input is
# dropped (EPIPE, not SIGPIPE), as in a shell pipeline.
run 2 stream --mapper "awk 'NR == 1 { print \"first\\t\" \$0; exit }'" \
    --reducer cat "$T/seq.txt"
check "mapper that stops reading: exit $rc" test "$rc" = 0
check "  one line per task, the task's first" \
    test -s "$T/out" -a "$(grep -vc "^first${TAB}[0-9]*\$" "$T/out")" = 0
check "  the first task starts at line 1" grep -qx "first${TAB}1" "$T/out"

# 4. Small files go to one task; a last line without '\n' gets one, so
# `wc -l` counts it.
printf 'a b\nc d' >"$T/f1.txt"
printf 'e\nf\ng\n' >"$T/f2.txt"
printf 'h' >"$T/f3.txt"
run 2 stream --mapper "printf 'lines\\t'; wc -l" --reducer cat \
    "$T/f1.txt" "$T/f2.txt" "$T/f3.txt"
check "every last line ends with a newline" test "$(cat "$T/out")" = "lines${TAB}6"
run 3 stream --mapper cat --reducer cat "$T/f1.txt" "$T/f3.txt"
check "lines without a tab in the input reach the mapper as they are" \
    test "$rc" = 1 -a -n "$(grep -F 'output line 1 has no tab: "a b"' "$T/err")"

# A 3 MB line (longer than the input reader's 1 MiB buffer) arrives whole.
head -c 3000000 /dev/zero | tr '\0' x >"$T/long.txt"
printf '\nshort\n' >>"$T/long.txt"
run 2 stream --mapper "awk '{ print \"k\\t\" length(\$0) }'" --reducer cat "$T/long.txt"
check "a 3 MB line reaches the mapper whole" \
    test "$rc" = 0 -a "$(tr '\n\t' ' :' <"$T/out")" = "k:3000000 k:5 "

# 5. gzip input and standard input give what the plain file gives.
run 2 stream --mapper "awk '{ print \$0 % 7 \"\\t\" \$0 }'" \
    --reducer "awk -F '\\t' '{ s[\$1] += \$2 % 1000 } END { for (k in s) print k, s[k] }'" \
    "$T/seq.txt"
cp "$T/out" "$T/plain"
gzip -c "$T/seq.txt" >"$T/seq.txt.gz"
run 2 stream --mapper "awk '{ print \$0 % 7 \"\\t\" \$0 }'" \
    --reducer "awk -F '\\t' '{ s[\$1] += \$2 % 1000 } END { for (k in s) print k, s[k] }'" \
    "$T/seq.txt.gz"
check "gzip input: exit $rc, same output" cmp -s "$T/plain" "$T/out"
rc=0
timeout -k 5 120 "$MR_MPIRUN" 2 "$MR_RUN" stream \
    --mapper "awk '{ print \$0 % 7 \"\\t\" \$0 }'" \
    --reducer "awk -F '\\t' '{ s[\$1] += \$2 % 1000 } END { for (k in s) print k, s[k] }'" \
    - <"$T/seq.txt" >"$T/out" 2>"$T/err" || rc=$?
check "standard input: exit $rc, same output" cmp -s "$T/plain" "$T/out"
check "  7 keys" test "$(wc -l <"$T/plain")" = 7

# 6. Empty input: no task, no reducer, an empty --out file.
: >"$T/empty.txt"
run 2 stream --mapper cat --reducer 'echo started' --out "$T/e.out" "$T/empty.txt"
check "empty input: exit $rc, empty output file, no reducer started" \
    test "$rc" = 0 -a -f "$T/e.out" -a ! -s "$T/e.out"
# A mapper with no output: no keys anywhere, no combiner, no reducer.
run 2 stream --mapper 'cat >/dev/null' --combiner 'echo started' \
    --reducer 'echo started' "$T/seq.txt"
check "mapper with no output: exit $rc, nothing started" \
    test "$rc" = 0 -a ! -s "$T/out"
mr_done
