#!/usr/bin/env bash
# Out of core gives the same bytes as in memory (issue 24): every job --
# wordcount (both tokenizations, parallel and rank-0 output), stream (with
# and without a combiner), the test jobs skew, skewcomb and skewfold,
# mandelbrot (PNG and counts), matmul (.npy) and python (a fold script and
# a reduce script whose result depends on the order of a key's values) --
# run in memory once, then with a 1 MiB budget spilling every 7 records
# (thousands of tiny runs, many merge levels, 256-byte shuffle rounds) at
# -np 1, 2, 3 and 4 under block, cyclic, dynamic and master, and every
# 1000 records; then wordcount once per spill codec. Each out-of-core run
# must have spilled (--stats-json spill.runs > 0), the reference none.
set -o pipefail # (not -e: a failed check is counted, and the test goes on)
. "$MR_SOURCE_DIR/tests/lib.sh"
. "$MR_SOURCE_DIR/tests/python/py_lib.sh" # the interpreter's leaks, under LSan
export LC_ALL=C
C="$MR_SOURCE_DIR/corpus"
E="$MR_SOURCE_DIR/docs/examples/python"

# Small inputs: two slices of the Bible and one of the Devil's Dictionary,
# in a folder (3 files, several map tasks).
mkdir "$T/in" "$T/o"
head -c 150000 "$C/kjv.txt" >"$T/in/a.txt"
tail -c 100000 "$C/kjv.txt" >"$T/in/b.txt"
head -c 60000 "$C/devils-dictionary.txt" >"$T/in/c.txt"

OOC7="--memory 1M --spill-every 7 --shuffle-round 256"
OOC1K="--memory 1M --spill-every 1000"
OOCB="--memory 1M" # the budget alone (outputs of a few MB)
# np, schedule and spill settings of the out-of-core runs: each rank count
# and each schedule at least once with every 7, twice with every 1000 (or,
# for jobs with few large records, twice by the budget alone).
PLAN="1:block:7 2:cyclic:7 3:dynamic:7 4:master:7 2:master:1k 3:block:1k"
PLAN_BIG="1:block:7 2:cyclic:7 3:dynamic:7 4:master:7 2:master:b 3:block:b"
if [ -n "${MR_TEST_SANITIZED:-}" ]; then
    # The sanitizer pass looks for memory errors (the plain pass has the
    # combinations): several ranks, with many tiny runs.
    PLAN="3:dynamic:7" PLAN_BIG="3:dynamic:7"
fi

# spill_runs FILE: spill.runs of a --stats-json file ("" if none).
spill_runs() { sed -n 's/.*"spill": {.*"runs": \([0-9]*\).*/\1/p' "$1" 2>/dev/null; }

# result OUTFILES: stdout of the last run and the files it wrote, in one
# blob ($T/got); a missing file counts as a difference.
result() {
    cp "$T/out" "$T/got"
    local f
    for f in "$@"; do
        echo "== $(basename "$f")" >>"$T/got"
        if [ -e "$f" ]; then cat "$f" >>"$T/got"; else echo "(missing)" >>"$T/got"; fi
    done
}

# job NAME "OUTFILES" ARGS...: the reference in memory (np 2), then every
# run of PLAN; byte-identical stdout and OUTFILES each time.
job() {
    local name=$1 outs=$2; shift 2
    rm -f $outs "$T/sj.json"
    run 2 "$@" --stats-json "$T/sj.json"
    if [ "$rc" != 0 ]; then
        not_ok "$name: the in-memory reference failed (exit $rc)"; sed 's/^/#   /' "$T/err" | head -10
        return
    fi
    result $outs; cp "$T/got" "$T/ref"
    local r; r=$(spill_runs "$T/sj.json")
    check "$name: in memory: exit 0, $(wc -c <"$T/ref") bytes out, no spill (runs $r)" \
        test "$r" = 0 -a -s "$T/ref"
    local p np s e flags how
    for p in ${plan:-$PLAN}; do
        IFS=: read -r np s e <<<"$p"
        case $e in
            7) flags=$OOC7 how="spill every 7" ;;
            1k) flags=$OOC1K how="spill every 1000" ;;
            *) flags=$OOCB how="1M budget alone" ;;
        esac
        rm -f $outs "$T/sj.json"
        run "$np" "$@" --schedule "$s" $flags --stats-json "$T/sj.json"
        r=$(spill_runs "$T/sj.json")
        if [ "$rc" != 0 ]; then
            not_ok "$name: np $np $s $how: exit $rc"; sed 's/^/#   /' "$T/err" | head -10
            continue
        fi
        result $outs
        if cmp -s "$T/ref" "$T/got" && [ "${r:-0}" -gt 0 ]; then
            ok "$name: np $np $s $how ($r runs): same bytes as in memory"
        else
            not_ok "$name: np $np $s $how: spill runs '${r}', output $(cmp -s "$T/ref" "$T/got" && echo same || echo DIFFERS)"
            diff "$T/ref" "$T/got" | head -10 | sed 's/^/#   /'
        fi
    done
}

# wordcount: words (default) with parallel output where it can (auto),
# whitespace with output through rank 0 and with parallel output forced.
job "wordcount" "$T/o/wc.tsv" wordcount --quiet --top 25 --out "$T/o/wc.tsv" "$T/in"
job "wordcount whitespace rank0" "$T/o/wc.tsv" wordcount --quiet --tokens whitespace \
    --top 25 --output-mode rank0 --out "$T/o/wc.tsv" "$T/in"
job "wordcount whitespace parallel" "$T/o/wc.tsv" wordcount --quiet --tokens whitespace \
    --top 25 --output-mode parallel --out "$T/o/wc.tsv" "$T/in"

# stream: a reducer that depends on the order of a key's values (the
# length of each line the word came from, in input order), and a word
# count with a combiner.
cat >"$T/map.sh" <<'SH'
#!/bin/sh
LC_ALL=C exec awk '{ for (i = 1; i <= NF; i++) print $i "\t" length($0) }'
SH
cat >"$T/red.sh" <<'SH'
#!/bin/sh
# key, count, sum and an order-sensitive checksum of the values
LC_ALL=C exec awk -F '\t' '
$1 "" != k { if (NR > 1) print k "\t" n "\t" s "\t" h; k = $1 ""; n = s = h = 0 }
{ n++; s += $2; h = (h * 31 + $2) % 1000003 }
END { if (NR) print k "\t" n "\t" s "\t" h }'
SH
cat >"$T/map1.sh" <<'SH'
#!/bin/sh
LC_ALL=C exec awk '{ for (i = 1; i <= NF; i++) print $i "\t1" }'
SH
cat >"$T/sum.sh" <<'SH'
#!/bin/sh
LC_ALL=C exec awk -F '\t' '
$1 "" != k { if (NR > 1) print k "\t" n; k = $1 ""; n = 0 }
{ n += $2 }
END { if (NR) print k "\t" n }'
SH
chmod +x "$T"/*.sh
job "stream" "" stream --mapper "$T/map.sh" --reducer "$T/red.sh" "$T/in"
job "stream --combiner" "$T/o/s.txt" stream --mapper "$T/map1.sh" --combiner "$T/sum.sh" \
    --reducer "$T/sum.sh" --out "$T/o/s.txt" "$T/in"

# The engine's test jobs: skew's reduce prints a hash of the values in the
# order it sees them; skewcomb combines; skewfold folds at emit.
for j in skew skewcomb skewfold; do
    job "$j" "$T/o/$j.tsv" $j --keys 3000 --tasks 9 --pairs 2500 --out "$T/o/$j.tsv"
done

# Few, large records: big enough that a 1 MiB budget alone spills them.
plan=$PLAN_BIG job "mandelbrot" "$T/o/m.png $T/o/m.npy" mandelbrot --width 600 \
    --height 400 --max-iter 100 --tile 2 --out "$T/o/m.png" --counts "$T/o/m.npy"
plan=$PLAN_BIG job "matmul" "$T/o/c.npy" matmul --n 256 --block 64 --split-k 2 \
    --out "$T/o/c.npy"

# python: the example's fold, and a reduce over values in emission order.
cat >"$T/order.py" <<'PY'
def map(line):
    for i, word in enumerate(line.split()):
        yield word, (len(line), i)
def reduce(word, values):
    h = 0
    for n, i in values:              # in task order, then emission order
        h = (h * 31 + n * 7 + i) % 1000003
    return h
PY
job "python wordcount.py" "" python "$E/wordcount.py" "$T/in"
job "python order.py" "" python "$T/order.py" "$T/in"

# One run per codec: the codec is the one asked for, the same bytes.
run 2 wordcount --quiet --tokens whitespace --top 25 --out "$T/o/wc.tsv" "$T/in"
result "$T/o/wc.tsv"; cp "$T/got" "$T/ref"
codecs="lz4 zstd zlib none"
[ -n "${MR_TEST_SANITIZED:-}" ] && codecs="lz4 zstd" # memory errors, not cases
for codec in $codecs; do
    rm -f "$T/o/wc.tsv" "$T/sj.json"
    run 3 wordcount --quiet --tokens whitespace --top 25 --out "$T/o/wc.tsv" "$T/in" \
        $OOC7 --spill-codec $codec --stats-json "$T/sj.json"
    result "$T/o/wc.tsv"
    check "codec $codec: exit 0 ($rc), spilled ($(spill_runs "$T/sj.json") runs) with $codec, same bytes" \
        test "$rc" = 0 -a "$(spill_runs "$T/sj.json")" -gt 0 \
        -a "$(grep -c "\"codec\": \"$codec\"" "$T/sj.json")" = 1 \
        -a "$(md5sum <"$T/got")" = "$(md5sum <"$T/ref")"
done

# One key for every pair: under cyclic no rank's map reaches its share
# (each maps 2 tasks, 150 KiB), but the key's rank would receive 600 KiB,
# over half of 1M.
run 1 skew --keys 1 --tasks 8 --pairs 3000
cp "$T/out" "$T/ref"
rm -f "$T/sj.json"
run 4 skew --keys 1 --tasks 8 --pairs 3000 --schedule cyclic --memory 1M --stats-json "$T/sj.json"
check "one hot key: a receiver over its budget takes the run out of core ($(spill_runs "$T/sj.json") runs), same bytes" \
    test "$rc" = 0 -a "$(spill_runs "$T/sj.json")" -gt 0 -a "$(md5sum <"$T/out")" = "$(md5sum <"$T/ref")"
run 4 skew --keys 1 --tasks 8 --pairs 1500 --schedule cyclic --memory 1M --stats-json "$T/sj.json"
check "one hot key, 300 KiB: stays in memory" test "$rc" = 0 -a "$(spill_runs "$T/sj.json")" = 0
mr_done
