#!/usr/bin/env bash
# wordcount.sh -- mr-run wordcount against a one-process C baseline and the
# tr | sort | uniq -c pipeline, on a generated corpus, in one invocation.
#
#   tools/bench/wordcount.sh [--size 1G] [--files 10000] [--build DIR]
#                            [--dir DIR] [--reps N] [--no-pipeline] [--keep]
#
# Generates (once; kept in --dir between runs with the same size) a corpus
# with build/bin/mr-gencorpus: one file of SIZE bytes, and the same amount
# as ~10,000 files. Then, for both layouts and both tokenizations, times
# `mr-run wordcount --out TABLE` at -np 1 and -np 2 (end to end: mpirun
# start to the sorted full table renamed into place) and mr-wc-baseline
# (same input layer, tokenizer and output, one process, no engine), checks
# that all tables are byte-identical, and times the pipeline
#   LC_ALL=C tr -s ' \t\n\v\f\r' '\n' | grep -v '^$' | sort | uniq -c
# (sort given 2 threads and 1 GiB of buffer) on the one-file corpus.
# On the many-files layout it also times two baselines at once, each on
# half of the folders: what two processes sharing this machine's cores,
# caches and memory can do with no engine at all, the ceiling for -np 2
# (its tables are not merged, so it is not a count of the corpus).
# Peak RSS per rank comes from /usr/bin/time (Debian package `time`).
# Before every timed run the input is read once, untimed, so that every
# run starts with it in the page cache (on a machine whose cache cannot
# hold both layouts, the first run on a layout otherwise reads from disk).
# With --reps N every line runs N times, in N rounds that each run every
# line once (so that load from elsewhere falls on all lines alike), and a
# line's fastest round counts.
#
# The issue's goals (not checked here; a benchmark, not a test): at -np 2
# >= 1.8x the baseline and >= 10x the pipeline; at -np 1 within 10% of the
# baseline; peak RSS per rank < 400 MB for 1 GB.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
size=1G files=10000 build=${BUILD:-$src/build} dir=${TMPDIR:-/tmp}/mr-bench-wordcount
pipeline=1 keep=0 reps=1
while [ $# -gt 0 ]; do
    case $1 in
    --size) size=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --reps) reps=$2; shift 2 ;;
    --no-pipeline) pipeline=0; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "wordcount.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
GEN=$build/bin/mr-gencorpus RUN=$build/bin/mr-run BASE=$build/bin/mr-wc-baseline
for x in "$GEN" "$RUN" "$BASE"; do
    [ -x "$x" ] || { echo "wordcount.sh: $x missing: build first (tools/build)" >&2; exit 1; }
done
TIME=/usr/bin/time
[ -x $TIME ] || { echo "wordcount.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
export LC_ALL=C

mkdir -p "$dir"
stamp="size=$size files=$files seed=1"
if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "# generating $size as one file and as $files files in $dir ..." >&2
    rm -rf "$dir/one.txt" "$dir/many" "$dir/stamp"
    "$GEN" --size "$size" --seed 1 "$dir/one.txt"
    "$GEN" --size "$size" --seed 1 --files "$files" "$dir/many"
    echo "$stamp" >"$dir/stamp"
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/mr-bench-wc.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
bytes_one=$(stat -c %s "$dir/one.txt")
bytes_many=$(find "$dir/many" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')

# The many layout's folders, cut in two halves by count (for the ceiling
# line: two baselines at once, one on each half).
# (By files when there are fewer than two folders: a small --files.)
mapfile -t dirs < <(find "$dir/many" -mindepth 1 -maxdepth 1 | sort)
[ ${#dirs[@]} -ge 2 ] || mapfile -t dirs < <(find "$dir/many" -type f | sort)
half1="${dirs[*]:0:$((${#dirs[@]} / 2))}" half2="${dirs[*]:$((${#dirs[@]} / 2))}"

# two_halves TOKENS: a baseline on each half of the many layout, at once.
two_halves() {
    local p rc=0
    # shellcheck disable=SC2086 # the halves are lists of folders
    $TIME -a -o "$work/mem" -f %M "$BASE" --tokens "$1" --out "$work/half1.tsv" $half1 &
    p=$!
    # shellcheck disable=SC2086
    $TIME -a -o "$work/mem" -f %M "$BASE" --tokens "$1" --out "$work/half2.tsv" $half2 || rc=1
    wait $p || rc=1
    return $rc
}

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

# warm PATH: reads the input once, untimed (into the page cache).
warm() { find "$1" -type f -print0 | xargs -0 cat >/dev/null; }

# The lines to time: line NAME KEY BYTES INPUT CMD... (KEY names its MB/s
# in mbs[]). Each run writes its table to its own file, checked after.
names=() keys=() nbytes=() inputs=() cmds=()
line() {
    names+=("$1") keys+=("$2") nbytes+=("$3") inputs+=("$4")
    shift 4
    cmds+=("$(printf '%q ' "$@")")
}
for layout in one many; do
    input=$dir/one.txt bytes=$bytes_one
    [ $layout = many ] && input=$dir/many bytes=$bytes_many
    for tokens in words whitespace; do
        for np in 1 2; do
            line "mr-run -np $np, $layout, $tokens" "$layout,$tokens,np$np" "$bytes" "$input" \
                "$src/tools/mr-mpirun" $np $TIME -a -o "$work/mem" -f %M \
                "$RUN" wordcount --tokens $tokens --out "$work/mr$np.$layout.$tokens.tsv" "$input"
        done
        line "baseline, $layout, $tokens" "$layout,$tokens,base" "$bytes" "$input" \
            $TIME -a -o "$work/mem" -f %M \
            "$BASE" --tokens $tokens --out "$work/base.$layout.$tokens.tsv" "$input"
        if [ $layout = many ]; then
            # The ceiling for -np 2 on this machine: two baselines at once,
            # each on half the folders, no engine and no merge of their
            # tables (so not a word count of the corpus: a measure of what
            # two processes sharing the cores, caches and memory can do).
            line "2 baselines at once on halves, $tokens" "$layout,$tokens,halves" "$bytes" "$input" \
                two_halves $tokens
        fi
    done
done
if [ $pipeline = 1 ]; then
    line "tr|sort|uniq -c, one, whitespace" pipe "$bytes_one" "$dir/one.txt" \
        sh -c "tr -s ' \t\n\v\f\r' '\n' <'$dir/one.txt' | grep -v '^\$' |
               sort -S 1G --parallel=2 | uniq -c >'$work/pipe.txt'"
fi

# Rounds: each runs every line once, in order, so that load from elsewhere
# on a shared machine falls on all lines alike instead of on one line's
# repetitions; a line's time is its fastest round. Peak RSS per process
# (MB) is the largest over the rounds.
declare -A mbs
secs=()
for r in $(seq "$reps"); do
    echo "# round $r of $reps" >&2
    for i in "${!cmds[@]}"; do
        warm "${inputs[$i]}"
        rm -f "$work/mem"
        t0=$(date +%s.%N)
        eval "${cmds[$i]}" >"$work/stdout" 2>"$work/stderr" || {
            echo "wordcount.sh: failed: ${cmds[$i]}" >&2; cat "$work/stderr" >&2; exit 1; }
        t1=$(date +%s.%N)
        [ -s "$work/mem" ] && cat "$work/mem" >>"$work/mem.$i"
        t=$(calc "$t1 - $t0")
        secs[i]=$(awk -v a="${secs[$i]:-}" -v b="$t" 'BEGIN { print (a == "" || b < a) ? b : a }')
        printf '%-38s %8.2f s\n' "${names[$i]}" "$t" >&2
    done
done
rows=()
for i in "${!cmds[@]}"; do
    mbs[${keys[$i]}]=$(calc "${nbytes[$i]} / 1000000 / ${secs[$i]}")
    # /usr/bin/time -a appends one line per process per run, in no fixed
    # order: show the largest P values (P processes per run).
    mem=$(if [ -s "$work/mem.$i" ]; then sort -n "$work/mem.$i" | tail -n $(($(wc -l <"$work/mem.$i") / reps)) | awk '{ printf "%s%.0f", (NR > 1 ? "/" : ""), $1 / 1024 }'; else echo "-"; fi)
    rows+=("$(printf '%-38s %8.1f %8.2f   %s' "${names[$i]}" "${mbs[${keys[$i]}]}" "${secs[$i]}" "$mem")")
done

for layout in one many; do
    for tokens in words whitespace; do
        for np in 1 2; do
            cmp -s "$work/mr$np.$layout.$tokens.tsv" "$work/base.$layout.$tokens.tsv" || {
                echo "wordcount.sh: -np $np table differs from the baseline's ($layout, $tokens)" >&2; exit 1; }
        done
    done
done
if [ $pipeline = 1 ]; then
    cmp -s <(sed 's/^ *//' "$work/pipe.txt" | sort) \
        <(awk -F'\t' '{ print $2 " " $1 }' "$work/base.one.whitespace.tsv" | sort) || {
        echo "wordcount.sh: the pipeline's counts differ from ours" >&2; exit 1; }
fi

echo
echo "wordcount benchmark: $size corpus (mr-gencorpus --seed 1), $(nproc) cores, $(date -u +%F)"
echo "one file: $bytes_one bytes; many: $(find "$dir/many" -type f | wc -l) files, $bytes_many bytes"
echo "all tables byte-identical to the baseline's$([ $pipeline = 1 ] && echo "; pipeline counts equal")"
echo
printf '%-38s %8s %8s   %s\n' "run" "MB/s" "seconds" "peak RSS per process (MB)"
printf '%s\n' "${rows[@]}"
echo
for layout in one many; do
    for tokens in words whitespace; do
        printf '%-4s %-10s  -np 2 / baseline %5.2fx   -np 1 / baseline %5.2fx' $layout $tokens \
            "$(calc "${mbs[$layout,$tokens,np2]} / ${mbs[$layout,$tokens,base]}")" \
            "$(calc "${mbs[$layout,$tokens,np1]} / ${mbs[$layout,$tokens,base]}")"
        if [ $layout = many ]; then
            printf '   -np 2 / 2 baselines on halves %4.2fx' \
                "$(calc "${mbs[$layout,$tokens,np2]} / ${mbs[$layout,$tokens,halves]}")"
        fi
        if [ $pipeline = 1 ] && [ $tokens = whitespace ]; then
            printf '   -np 2 / pipeline %5.1fx' "$(calc "${mbs[$layout,$tokens,np2]} / ${mbs[pipe]}")"
        fi
        echo
    done
done
echo "goals: -np 2 >= 1.8x baseline and >= 10x pipeline; -np 1 >= 0.9x baseline; peak RSS < 400 MB per rank (1 GB)"
