#!/usr/bin/env bash
# wordcount_generated.sh -- wordcount on generated corpora (mr-gencorpus):
# one big file cut into byte ranges, many small files grouped into tasks,
# the same texts gzipped, and standard input; each against the reference
# pipeline or against each other, and byte-identical across rank counts
# and schedules.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/wordcount/wc_lib.sh"

# 6 MiB in one file: ranges of 1 MiB at any rank count.
"$GEN" --size 6M --seed 7 --vocab 50000 "$T/one.txt"
"$GEN" --size 6M --seed 7 --vocab 50000 --gzip --level 1 "$T/one.txt.gz"
# 400 files, 3 MiB in all, in 4 folders; and the same texts gzipped.
"$GEN" --size 3M --seed 9 --vocab 20000 --files 400 "$T/many"
"$GEN" --size 3M --seed 9 --vocab 20000 --files 400 --gzip --level 1 "$T/manygz"
check "generator is deterministic" cmp -s <(zcat "$T/one.txt.gz") "$T/one.txt"

# 1. One big file, cut into ranges: the reference pipeline.
run 3 wordcount --tokens whitespace --out "$T/one.tsv" "$T/one.txt"
check "one file: exit 0" test "$rc" = 0
ref_whitespace "$T/one.txt" >"$T/one.ref"
check "one file: whitespace table equals tr|sort|uniq -c" \
    cmp -s "$T/one.ref" <(table_as_ref "$T/one.tsv")
run 2 wordcount --tokens whitespace --out "$T/onegz.tsv" "$T/one.txt.gz"
check "one .gz file: same table as the plain file" cmp -s "$T/onegz.tsv" "$T/one.tsv"
run 4 wordcount --out "$T/onew.tsv" "$T/one.txt"
check "one file: words table equals the tr reference" \
    cmp -s <(ref_words "$T/one.txt") <(table_as_ref "$T/onew.tsv")

# 2. Many files (grouped), in sorted path order.
mapfile -t files < <(find "$T/many" -type f | sort)
check "400 files generated" test "${#files[@]}" = 400
ref_whitespace "${files[@]}" >"$T/many.ref"
OUTFILE="$T/many.tsv" same_output "many files" "1 2 3 4 8" "$SCHEDS" \
    wordcount --tokens whitespace --out "$T/many.tsv" "$T/many"
check "many files: whitespace table equals tr|sort|uniq -c" \
    cmp -s "$T/many.ref" <(table_as_ref "$T/many.tsv")
run 3 wordcount --tokens whitespace --out "$T/manygz.tsv" "$T/manygz"
check "many .gz files: same table as plain" cmp -s "$T/manygz.tsv" "$T/many.tsv"
OUTFILE="$T/mix.tsv" same_output "files, folders and .gz mixed, 4 KiB rounds" \
    "1 2 4" "dynamic master" wordcount --shuffle-round 4096 \
    --out "$T/mix.tsv" "$T/manygz" "$T/one.txt" "$T/many/d001"

# 2b. The benchmark's baseline (tools/bench/wordcount): the one-process
#     count that tools/bench/wordcount.sh measures mr-run against must give
#     the same table and the same top lines, or its speed means nothing.
BASE="$MR_BUILD_DIR/bin/mr-wc-baseline"
for tok in words whitespace; do
    run 2 wordcount --tokens "$tok" --top 5 --out "$T/mr-$tok.tsv" \
        "$T/one.txt" "$T/many"
    check "mr-run, $tok, file and folder: exit 0" test "$rc" = 0
    cp "$T/out" "$T/mr-$tok.top"
    rc=0
    "$BASE" --tokens "$tok" --top 5 --out "$T/base-$tok.tsv" "$T/one.txt" \
        "$T/many" >"$T/base-$tok.top" 2>"$T/err" || rc=$?
    check "baseline, $tok: exit 0" test "$rc" = 0
    check "baseline, $tok: the same table as mr-run" \
        cmp -s "$T/base-$tok.tsv" "$T/mr-$tok.tsv"
    check "baseline, $tok: the same top 5" \
        cmp -s "$T/base-$tok.top" "$T/mr-$tok.top"
done

# 3. Standard input ("-" is copied by rank 0, then cut like a file). The
#    copy goes to $TMPDIR, a private folder here, and must be gone after.
mkdir "$T/tmp"
rc=0
TMPDIR="$T/tmp" timeout -k 5 120 "$MR_MPIRUN" 2 "$MR_RUN" wordcount \
    --tokens whitespace --out "$T/stdin.tsv" - <"$T/one.txt" \
    >"$T/out" 2>"$T/err" || rc=$?
check "stdin: exit 0" test "$rc" = 0
check "stdin: same table as the file" cmp -s "$T/stdin.tsv" "$T/one.tsv"
rc=0
cat "$T/one.txt" | TMPDIR="$T/tmp" timeout -k 5 120 "$MR_MPIRUN" 3 "$MR_RUN" \
    wordcount --tokens whitespace --out "$T/stdin2.tsv" "$T/one.txt" - \
    >"$T/out" 2>"$T/err" || rc=$?
check "stdin and a file: exit 0" test "$rc" = 0
check "stdin and a file: every count doubled" cmp -s "$T/stdin2.tsv" \
    <(awk -F'\t' '{ print $1 "\t" 2 * $2 }' "$T/one.tsv")
check "stdin: the temporary copies are removed" \
    test -z "$(find "$T/tmp" -name 'mr-stdin.*')"
mr_done
