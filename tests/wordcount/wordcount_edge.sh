#!/usr/bin/env bash
# wordcount_edge.sh -- odd input that must just work: empty files and
# folders, binary data, a 100 MB token without separators (bounded memory),
# a symlink loop, tokens near and over the 64 KiB word limit, NUL bytes.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/wordcount/wc_lib.sh"

# 1. Empty input: an empty table, exit 0.
mkdir -p "$T/empty/sub"
: >"$T/empty/sub/nothing.txt"
run 2 wordcount --out "$T/e.tsv" "$T/empty"
check "empty folder: exit 0" test "$rc" = 0
check "empty folder: empty table" test -f "$T/e.tsv" -a ! -s "$T/e.tsv"
check "empty folder: nothing on stdout" test ! -s "$T/out"
check "empty folder: summary says 0" grep -q "^wordcount: 0 bytes, 0 words, 0 distinct" "$T/err"
run 1 wordcount --out "$T/e2.tsv" "$T/empty/sub/nothing.txt" - </dev/null
check "empty file and empty stdin: exit 0, empty table" test "$rc" = 0 -a ! -s "$T/e2.tsv"

# 2. Binary input: every byte counted, no crash, same at any rank count.
head -c 3000000 "$MR_RUN" >"$T/bin1"
"$GEN" --size 4M --gzip --seed 5 "$T/bin2" # gzip data, read as plain
bytes=$(cat "$T/bin1" "$T/bin2" | wc -c)
OUTFILE="$T/bin.tsv" same_output "binary input" "1 3" "dynamic" \
    wordcount --tokens whitespace --out "$T/bin.tsv" "$T/bin1" "$T/bin2"
check "binary: all bytes counted" grep -q "^wordcount: $bytes bytes" "$T/err"
check "binary: whitespace table equals tr|sort|uniq -c (no NUL bytes)" cmp -s \
    <(tr -d '\000' <"$T/bin1" | ref_whitespace /dev/stdin) \
    <(tr -d '\000' <"$T/bin1" >"$T/bin1.nonul"; run 2 wordcount --tokens whitespace --out "$T/b1.tsv" "$T/bin1.nonul"; table_as_ref "$T/b1.tsv")

# 3. NUL bytes are word bytes.
printf 'a\000b a\000b c\n' >"$T/nul.txt"
run 1 wordcount --tokens whitespace --out "$T/nul.tsv" "$T/nul.txt"
check "NUL inside a token" cmp -s "$T/nul.tsv" <(printf 'a\000b\t2\nc\t1\n')

# 4. A 100 MB token: one key, bounded memory on every rank.
head -c 100000000 /dev/zero | tr '\000' 'A' >"$T/huge.txt"
printf ' tail\n' >>"$T/huge.txt"
rc=0
timeout -k 5 120 "$MR_MPIRUN" 2 /usr/bin/env MR_TIME_OUT="$T/mem" \
    "$MR_RUN" wordcount --out "$T/huge.tsv" "$T/huge.txt" \
    >"$T/out" 2>"$T/err" || rc=$?
check "100 MB token: exit 0" test "$rc" = 0
key="$(printf 'a%.0s' $(seq 64)) ... (100000000 bytes, hash "
check "100 MB token: counted once under a shortened key" \
    grep -Fq "$key" "$T/huge.tsv"
check "100 MB token: the word after it too" grep -q "^tail	1$" "$T/huge.tsv"
check "100 MB token: two lines" test "$(wc -l <"$T/huge.tsv")" = 2
if [ -x /usr/bin/time ]; then
    rm -f "$T/mem"
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 2 /usr/bin/time -a -o "$T/mem" -f "%M" \
        "$MR_RUN" wordcount "$T/huge.txt" >"$T/out" 2>"$T/err" || rc=$?
    max=$(sort -n "$T/mem" | tail -n 1)
    echo "# peak RSS per rank (KB): $(tr '\n' ' ' <"$T/mem")"
    # 100 MB of input; a rank holds a 1 MiB buffer and 64 KiB of the token.
    # (Sanitizer builds carry their own shadow memory and quarantine.)
    limit=80000
    ldd "$MR_RUN" | grep -q libasan && limit=400000
    check "100 MB token: peak RSS per rank under $limit KB" test "${max:-999999999}" -lt $limit
else
    echo "ok - peak RSS: skipped (no /usr/bin/time; Debian package 'time')"
fi

# 5. Tokens around the 64 KiB limit: itself up to 65536 bytes.
{ head -c 65536 /dev/zero | tr '\000' b; echo; head -c 65537 /dev/zero | tr '\000' b; echo;
  head -c 65537 /dev/zero | tr '\000' b; echo; } >"$T/limit.txt"
run 2 wordcount --out "$T/limit.tsv" "$T/limit.txt"
check "64 KiB token counted as itself" \
    grep -q "^$(head -c 65536 /dev/zero | tr '\000' b)	1$" "$T/limit.tsv"
check "two equal longer tokens share one key" \
    grep -q "^b* \.\.\. (65537 bytes, hash [0-9a-f]*)	2$" "$T/limit.tsv"

# 6. A symlink loop does not hang; files are counted once.
mkdir -p "$T/loop/a"
printf 'x y\n' >"$T/loop/a/f.txt"
ln -s .. "$T/loop/a/up"
ln -s "$T/loop" "$T/loop/self"
run 2 wordcount --out "$T/loop.tsv" "$T/loop"
check "symlink loop: exit 0" test "$rc" = 0
check "symlink loop: each word once" cmp -s "$T/loop.tsv" <(printf 'x\t1\ny\t1\n')

# 7. Folders in sorted path order, and the same folder twice counts twice.
run 2 wordcount --out "$T/twice.tsv" "$T/loop" "$T/loop/a"
check "a folder named twice counts twice" cmp -s "$T/twice.tsv" <(printf 'x\t2\ny\t2\n')
mr_done
