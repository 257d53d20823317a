#!/usr/bin/env bash
# stream_errors.sh -- a mapper, combiner or reducer that fails, crashes,
# cannot be started or writes a line without a tab stops the run (exit 1)
# with a message naming the role, the command, the task and its input, the
# exit status or signal and the first lines of its stderr; no output file
# is left (an older one stays as it was). Usage errors exit 2.
source "$MR_SOURCE_DIR/tests/lib.sh"
export LC_ALL=C MR_TIMEOUT=60
C="$MR_SOURCE_DIR/corpus"
S="$MR_SOURCE_DIR/tests/stream"
MAP="awk -f '$S/wc_map.awk'"
RED="awk -f '$S/wc_reduce.awk'"
IN="$C/kjv.txt"
O="$T/o" # the output folder: must stay empty
mkdir "$O"
TASK='\(task [0-9]+, input [^)]*kjv\.txt from byte [0-9]+\)'

no_output() {
    check "$1: no output file, no temporary file" test -z "$(ls -A "$O")"
}

# fails NP PATTERN WHAT STREAM-ARGS...: exit 1, PATTERN on stderr, no file.
fails() {
    local np=$1 pat=$2 what=$3; shift 3
    expect_fail 1 "$pat" "$what" "$np" stream --out "$O/t.tsv" "$@" "$IN"
    no_output "$what"
}

for np in 1 3; do
    fails $np "map: mapper \"awk '\{exit 3\}'\" $TASK: exit status 3\$" \
        "np $np: mapper exits 3" --mapper "awk '{exit 3}'" --reducer cat
    fails $np "map: mapper \"kill -SEGV \\\$\\\$\" $TASK: killed by signal 11 \(" \
        "np $np: mapper crashes (SIGSEGV)" --mapper 'kill -SEGV $$' --reducer cat
done
fails 2 "map: mapper \"echo notab; cat >/dev/null\" $TASK: output line 1 has no tab: \"notab\"" \
    "mapper line without a tab" --mapper 'echo notab; cat >/dev/null' --reducer cat
fails 2 "map: mapper \"awk .*\" $TASK: output line 3 has no tab: \"x\"" \
    "third line without a tab" --mapper "awk '{print \"a\\tb\"; print \"\\t\"; print \"x\"}'" \
    --reducer cat
run 2 stream --out "$O/t.tsv" --reducer cat \
    --mapper 'printf "first line\nsecond line\n" >&2; exit 4' "$IN"
check "mapper's stderr lines are in the message" grep -Eq \
    "exit status 4; its stderr:" "$T/err"
check "  first stderr line" grep -Eq '^    first line$' "$T/err"
check "  second stderr line" grep -Eq '^    second line$' "$T/err"
no_output "mapper with stderr"
fails 2 "map: mapper \"no_such_program_xyz\" $TASK: exit status 127; its stderr:" \
    "mapper that cannot be started" --mapper no_such_program_xyz --reducer cat
check "  sh says it was not found" grep -q 'no_such_program_xyz: not found' "$T/err"

printf 'a\n' >"$T/f1.txt"; printf 'b\n' >"$T/f2.txt"; printf 'c\n' >"$T/f3.txt"
expect_fail 1 "map: mapper \"exit 3\" \(task 0, input [^ ]*/f1\.txt and 2 more files\): exit status 3" \
    "a task of several small files: the first and the number of others" \
    2 stream --mapper 'exit 3' --reducer cat "$T/f1.txt" "$T/f2.txt" "$T/f3.txt"

fails 2 "map: combiner \"echo comb-oops >&2; exit 5\" $TASK: exit status 5; its stderr:" \
    "combiner exits 5" --mapper "$MAP" --combiner 'echo comb-oops >&2; exit 5' \
    --reducer "$RED"
check "  combiner's stderr" grep -q '^    comb-oops$' "$T/err"
fails 2 "map: combiner \"awk [^\"]*\" $TASK: output line 1 has no tab: \"" \
    "combiner line without a tab" --mapper "$MAP" --combiner "awk '{print \$1}'" \
    --reducer "$RED"

for np in 1 3; do
    fails $np "reduce: reducer \"echo red-oops >&2; exit 2\" \(after [0-9]+ keys?\): exit status 2; its stderr:" \
        "np $np: reducer exits 2" --mapper "$MAP" --reducer 'echo red-oops >&2; exit 2'
    check "  reducer's stderr" grep -q '^    red-oops$' "$T/err"
done
fails 2 "reduce: reducer \"head -n 3 >/dev/null; kill -SEGV \\\$\\\$\" \(after [0-9]+ keys?\): killed by signal 11" \
    "reducer crashes after reading a little" --mapper "$MAP" \
    --reducer 'head -n 3 >/dev/null; kill -SEGV $$'

# An older output file stays as it was when the run fails.
echo old >"$O/t.tsv"
run 2 stream --out "$O/t.tsv" --mapper "$MAP" --reducer 'exit 1' "$IN"
check "failed run: exit 1" test "$rc" = 1
check "failed run: the older --out file is untouched" test "$(cat "$O/t.tsv")" = old
check "failed run: no temporary file" test "$(ls -A "$O")" = t.tsv
rm -f "$O/t.tsv"

# Usage errors: exit 2, before any work.
expect_fail 2 "setup: --mapper CMD is required" "no --mapper: exit 2" \
    2 stream --reducer cat "$IN"
expect_fail 2 "setup: --reducer CMD is required" "no --reducer: exit 2" \
    2 stream --mapper cat "$IN"
expect_fail 2 "setup: no INPUT" "no INPUT: exit 2" \
    2 stream --mapper cat --reducer cat
expect_fail 2 "cannot write there" "--out in a missing folder: exit 2" \
    2 stream --mapper cat --reducer cat --out "$T/nope/t.tsv" "$IN"
expect_fail 1 "no-such-file" "missing input: exit 1" \
    2 stream --mapper cat --reducer cat "$T/no-such-file"
run 1 stream --help
check "--help lists --mapper, --reducer, --combiner, --out" \
    grep -q -- '--combiner' "$T/out" "$T/err"
mr_done
