#!/usr/bin/env bash
# wordcount_corpus.sh -- wordcount on the shipped corpus (plain files, one
# multi-member .gz) under mpirun: both tokenizations against independent
# pipelines, the output format, and byte-identical output at 1, 2, 3, 4 and
# 8 ranks under every schedule, also with 4 KiB shuffle rounds.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/wordcount/wc_lib.sh"
C="$MR_SOURCE_DIR/corpus"
mapfile -t FILES < <(find "$C" -type f | sort) # README.md is text too

# 1. whitespace: count for count what tr | sort | uniq -c gives.
run 2 wordcount --tokens whitespace --out "$T/ws.tsv" "$C"
check "whitespace: exit 0" test "$rc" = 0
ref_whitespace "${FILES[@]}" >"$T/ws.ref"
table_as_ref "$T/ws.tsv" >"$T/ws.got"
check "whitespace: table equals tr|sort|uniq -c" cmp -s "$T/ws.ref" "$T/ws.got"
check "whitespace: table sorted by count, then word" table_sorted "$T/ws.tsv"

# 2. words (default), lowercased, and --case-sensitive.
run 2 wordcount --out "$T/w.tsv" "$C"
check "words: exit 0" test "$rc" = 0
ref_words "${FILES[@]}" >"$T/w.ref"
table_as_ref "$T/w.tsv" >"$T/w.got"
check "words: table equals the tr reference" cmp -s "$T/w.ref" "$T/w.got"
check "words: table sorted" table_sorted "$T/w.tsv"
check "words: top 10 on stdout = first 10 table lines" \
    cmp -s "$T/out" <(head -n 10 "$T/w.tsv")
check "words: 'the' is the most frequent word" \
    grep -q "^the$(printf '\t')" <(head -n 1 "$T/w.tsv")
bytes=$(for f in "${FILES[@]}"; do case $f in *.gz) zcat "$f" ;; *) cat "$f" ;; esac; done | wc -c)
words=$(awk -F'\t' '{ s += $2 } END { print s }' "$T/w.tsv")
distinct=$(wc -l <"$T/w.tsv")
check "summary line: bytes, words, distinct, seconds, MB/s" grep -Eq \
    "^wordcount: $bytes bytes, $words words, $distinct distinct, [0-9.]+ s, [0-9.]+ MB/s$" "$T/err"

run 1 wordcount --case-sensitive --top 3 --out "$T/cs.tsv" "$C"
ref_words --case-sensitive "${FILES[@]}" >"$T/cs.ref"
table_as_ref "$T/cs.tsv" >"$T/cs.got"
check "case-sensitive: table equals the tr reference" cmp -s "$T/cs.ref" "$T/cs.got"
check "--top 3: three lines" test "$(wc -l <"$T/out")" = 3

# 3. Same bytes for any rank count and schedule (stdout and the table).
OUTFILE="$T/s.tsv" same_output "corpus words" "1 2 3 4 8" "$SCHEDS" \
    wordcount --top 25 --out "$T/s.tsv" "$C"
check "same_output table equals the first run's" cmp -s "$T/s.tsv" "$T/w.tsv"
OUTFILE="$T/r.tsv" same_output "corpus whitespace, 4 KiB rounds" "1 2 3 8" \
    "dynamic block" wordcount --tokens whitespace --shuffle-round 4096 \
    --out "$T/r.tsv" "$C"
check "many rounds: same table" cmp -s "$T/r.tsv" "$T/ws.tsv"
mr_done
