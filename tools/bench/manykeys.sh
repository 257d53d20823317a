#!/usr/bin/env bash
# manykeys.sh -- word count with many distinct keys (issue 22): mr against
# the one-process baseline on Linux kernel sources, in one invocation.
#
#   tools/bench/manykeys.sh [--reps N] [--dir DIR] [--build DIR]
#                           [--corpus big|tree|both] [--tokens whitespace|words|both]
#                           [--quick] [--keep]
#
# Corpora (made once, kept in --dir, default /var/tmp/mr-bench-manykeys):
#   tree     the unpacked source tree of Debian's package linux-source-6.1
#            (installed with apt-get when /usr/src/linux-source-6.1.tar.xz
#            is missing: root only; ~140 MB download, ~1.5 GB unpacked);
#   big.txt  its *.c, *.h and *.rst files concatenated in sorted path order
#            (find | LC_ALL=C sort), about 1.2 GB in one file.
# --quick uses a generated corpus instead (build/bin/mr-gencorpus, 24 MB as
# one file and as 1000 files, 3 rounds unless --reps is given): a smoke test
# of the script that runs in under a minute, not a measurement.
#
# For each corpus and tokenization (--tokens whitespace and the default
# words) it times, in interleaved rounds (each round runs every line once,
# so that load from elsewhere falls on all lines alike):
#   mr -np 1 and mr -np 2   mr-run wordcount --out TABLE --stats-json FILE
#                           (default schedule, dynamic), end to end;
#   baseline                mr-wc-baseline (tools/bench/wordcount/), the
#                           same input layer, tokenizer and output in one
#                           process;
#   2 baselines on halves   two baselines at once, each on half of the
#                           input's bytes (big.txt split at a line near its
#                           middle; the tree as two lists of folders and
#                           files): what two processes sharing this
#                           machine's cores, caches and memory do with no
#                           engine at all, the ceiling for -np 2.
# It prints per line the median wall time with its spread (min-max), the
# median of each phase (max over ranks, from --stats-json), the map
# imbalance, the baselines' output phase (their summary line: sort, write
# and fsync of the table, the slower of the two halves), and the largest
# peak RSS per rank (/usr/bin/time, a file per rank); then the ratios the issue's goals name, as medians of per-round
# paired ratios. Every mr table is checked against the baseline's
# (byte-identical). Needs /usr/bin/time (Debian package `time`) and python3.
#
# Goals (issue 22; not checked here: a benchmark, not a test): at -np 2,
# whitespace tokens, >= 0.95 of the two baselines on the tree, the output
# phase under 0.5 s on big.txt, peak RSS per rank <= 450 MB on big.txt, map
# imbalance <= 1.03 on big.txt; words: >= 0.95 of the two baselines too.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build} dir=/var/tmp/mr-bench-manykeys
reps='' quick=0 keep=0 corpora="big tree" tokenses="whitespace words"
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --corpus) case $2 in both) corpora="big tree" ;; big|tree) corpora=$2 ;;
              *) echo "manykeys.sh: --corpus big|tree|both" >&2; exit 2 ;; esac; shift 2 ;;
    --tokens) case $2 in both) tokenses="whitespace words" ;; whitespace|words) tokenses=$2 ;;
              *) echo "manykeys.sh: --tokens whitespace|words|both" >&2; exit 2 ;; esac; shift 2 ;;
    --quick) quick=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,44p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "manykeys.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
[ -n "$reps" ] || reps=$([ $quick = 1 ] && echo 3 || echo 5)
RUN=$build/bin/mr-run BASE=$build/bin/mr-wc-baseline GEN=$build/bin/mr-gencorpus
for x in "$RUN" "$BASE" "$GEN"; do
    [ -x "$x" ] || { echo "manykeys.sh: $x missing: build first (tools/build)" >&2; exit 1; }
done
TIME=/usr/bin/time
[ -x $TIME ] || { echo "manykeys.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
command -v python3 >/dev/null || { echo "manykeys.sh: needs python3" >&2; exit 1; }
export LC_ALL=C
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# ---------------- corpora ----------------

# make_big TREE OUT: the tree's *.c *.h *.rst in sorted path order.
make_big() {
    (cd "$1" && find . -type f \( -name '*.c' -o -name '*.h' -o -name '*.rst' \) |
        sed 's|^\./||' | sort | tr '\n' '\0' | xargs -0 cat) >"$2.part"
    mv "$2.part" "$2"
}

# split_half FILE: FILE.1 and FILE.2, cut at the first newline after the
# middle byte.
split_half() {
    local mid
    mid=$(python3 -c 'import os, sys
p = sys.argv[1]; n = os.path.getsize(p)
with open(p, "rb") as f:
    f.seek(n // 2); rest = f.read(1 << 20); i = rest.find(b"\n")
print(n // 2 + (i + 1 if i >= 0 else len(rest)))' "$1")
    head -c "$mid" "$1" >"$1.1"
    tail -c +$((mid + 1)) "$1" >"$1.2"
}

if [ $quick = 1 ]; then
    dir=${TMPDIR:-/tmp}/mr-bench-manykeys-quick
    mkdir -p "$dir"
    if [ ! -e "$dir/stamp" ]; then
        echo "# generating the quick corpus in $dir ..." >&2
        rm -rf "$dir/big.txt" "$dir/tree"
        "$GEN" --size 12M --seed 7 --vocab 2000000 "$dir/big.txt"
        "$GEN" --size 12M --seed 8 --vocab 2000000 --files 1000 "$dir/tree"
        split_half "$dir/big.txt"
        touch "$dir/stamp" "$dir/big.ok"
    fi
    tree=$dir/tree
else
    mkdir -p "$dir"
    tree=$dir/linux-source-6.1
    if [ ! -e "$dir/tree.ok" ]; then
        tarball=/usr/src/linux-source-6.1.tar.xz
        if [ ! -e $tarball ]; then
            [ "$(id -u)" = 0 ] || { echo "manykeys.sh: $tarball missing: apt-get install linux-source-6.1 (as root), or run this as root" >&2; exit 1; }
            echo "# installing linux-source-6.1 (apt-get) ..." >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >&2
        fi
        avail=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
        [ "$avail" -gt $((4 << 20)) ] || { echo "manykeys.sh: $dir needs ~4 GB free (tree, big.txt, halves)" >&2; exit 1; }
        echo "# unpacking $tarball into $dir ..." >&2
        rm -rf "$tree"
        tar xf $tarball -C "$dir"
        touch "$dir/tree.ok"
    fi
fi
if [ ! -e "$dir/big.ok" ]; then
    echo "# making big.txt and its halves ..." >&2
    make_big "$tree" "$dir/big.txt"
    split_half "$dir/big.txt"
    touch "$dir/big.ok"
fi
# The tree's halves: the sorted file list cut at half its bytes, each half
# written as the fewest folders and files that hold exactly its files.
if [ ! -e "$dir/tree.halves" ]; then
    (cd "$tree" && find . -type f -printf '%s %P\n' | sort -k2) | awk -v root="$tree" '
        { size[NR] = $1; sub(/^[0-9]+ /, ""); path[NR] = $0; total += size[NR] }
        END {
            for (i = 1; i <= NR; i++) {
                acc += size[i]; half[i] = (acc - size[i] < total / 2) ? 1 : 2
                n = split(path[i], part, "/"); p = ""
                for (j = 1; j < n; j++) { p = p (j > 1 ? "/" : "") part[j]; has[p, half[i]] = 1 }
            }
            last = ""
            for (i = 1; i <= NR; i++) {
                n = split(path[i], part, "/"); p = ""; out = path[i]
                for (j = 1; j < n; j++) {
                    p = p (j > 1 ? "/" : "") part[j]
                    if (!((p, 3 - half[i]) in has)) { out = p; break }
                }
                if (out != last) print half[i] "\t" root "/" out
                last = out
            }
        }' >"$dir/tree.halves.part"
    mv "$dir/tree.halves.part" "$dir/tree.halves"
fi
mapfile -t tree1 < <(awk -F'\t' '$1 == 1 { print $2 }' "$dir/tree.halves")
mapfile -t tree2 < <(awk -F'\t' '$1 == 2 { print $2 }' "$dir/tree.halves")

work=$(mktemp -d "${TMPDIR:-/tmp}/mr-bench-manykeys.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT

# ---------------- the lines ----------------

# mr NP CORPUS TOKENS MEM JSON OUT: mr-run under mpirun, a peak-RSS file per
# rank (MEM.RANK).
mr() {
    local np=$1 input=$2 tokens=$3 mem=$4 json=$5 out=$6
    "$src/tools/mr-mpirun" "$np" sh -c 'exec "$0" -o "$1.$OMPI_COMM_WORLD_RANK" -f %M "$2" wordcount --tokens "$3" --stats-json "$4" --out "$5" "$6"' \
        $TIME "$mem" "$RUN" "$tokens" "$json" "$out" "$input"
}
base() { # MEM TOKENS OUT INPUT...
    local mem=$1 tokens=$2 out=$3
    shift 3
    $TIME -o "$mem" -f %M "$BASE" --tokens "$tokens" --out "$out" "$@"
}
halves() { # MEM TOKENS CORPUS
    local p rc=0
    if [ "$3" = big ]; then
        base "$1.0" "$2" "$work/half1.tsv" "$dir/big.txt.1" & p=$!
        base "$1.1" "$2" "$work/half2.tsv" "$dir/big.txt.2" || rc=1
    else
        base "$1.0" "$2" "$work/half1.tsv" "${tree1[@]}" & p=$!
        base "$1.1" "$2" "$work/half2.tsv" "${tree2[@]}" || rc=1
    fi
    wait $p || rc=1
    return $rc
}

warm() { find "$@" -type f -print0 | xargs -0 cat >/dev/null; }

kinds=("mr -np 1" "mr -np 2" "baseline" "2 baselines on halves")
lines=()
for c in $corpora; do
    for t in $tokenses; do
        for k in 0 1 2 3; do lines+=("$c|$t|$k"); done
    done
done

records=$work/records
: >"$records"
for r in $(seq "$reps"); do
    echo "# round $r of $reps" >&2
    warmed=''
    for l in "${lines[@]}"; do
        IFS='|' read -r c t k <<<"$l"
        input=$dir/big.txt
        [ "$c" = tree ] && input=$tree
        case " $warmed " in *" $c "*) ;; *) warm "$input"; warmed="$warmed $c" ;; esac
        id="$c.$t.$k" mem=$work/mem.$c.$t.$k.$r json=-
        t0=$(date +%s.%N)
        case $k in
        0|1) json=$work/stats.$id.$r.json
             mr $((k + 1)) "$input" "$t" "$mem" "$json" "$work/table.$id.tsv" >/dev/null 2>"$work/stderr" ;;
        2)   base "$mem.0" "$t" "$work/table.$id.tsv" "$input" >/dev/null 2>"$work/stderr" ;;
        3)   halves "$mem" "$t" "$c" >/dev/null 2>"$work/stderr" ;;
        esac || { echo "manykeys.sh: failed: ${kinds[$k]}, $c, $t" >&2; cat "$work/stderr" >&2; exit 1; }
        t1=$(date +%s.%N)
        rss=$(cat "$mem".* | tr '\n' ' ')
        # A baseline's output phase (sort, write, fsync; the slower of two).
        bout=$(sed -n 's/.*, output \([0-9.]*\) s$/\1/p' "$work/stderr" | sort -g | tail -n 1)
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$t" "$k" "$r" \
            "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" "$json" "$rss" "${bout:--}" >>"$records"
        printf '%-42s %8.2f s\n' "${kinds[$k]}, $c, $t" "$(tail -n 1 "$records" | cut -f5)" >&2
    done
done

for c in $corpora; do
    for t in $tokenses; do
        for k in 0 1; do
            cmp -s "$work/table.$c.$t.$k.tsv" "$work/table.$c.$t.2.tsv" || {
                echo "manykeys.sh: the table of ${kinds[$k]} differs from the baseline's ($c, $t)" >&2; exit 1; }
        done
    done
done

# ---------------- summary ----------------

echo
if [ $quick = 1 ]; then
    echo "manykeys benchmark, QUICK (generated corpus: a smoke test, not a measurement), $(nproc) cores, $(date -u +%F)"
else
    echo "manykeys benchmark: linux-source-6.1, $(nproc) cores, $(date -u +%F), load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
fi
echo "big.txt: $(stat -c %s "$dir/big.txt") bytes; tree: $(find "$tree" -type f | wc -l) files, $(find "$tree" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }') bytes"
echo "every mr table byte-identical to the baseline's; $reps interleaved rounds; median (min-max)"
echo "distinct keys (baseline's table): $(for c in $corpora; do for t in $tokenses; do printf '%s %s %s; ' "$c" "$t" "$(wc -l <"$work/table.$c.$t.2.tsv")"; done; done)"
echo
python3 - "$records" <<'EOF'
import json, statistics, sys
kinds = ["mr -np 1", "mr -np 2", "baseline", "2 baselines on halves"]
phases = ["map", "combine", "shuffle", "reduce", "output"]
runs = {}  # (corpus, tokens, kind) -> {round: (secs, stats, [rss MB])}
order = []
for line in open(sys.argv[1]):
    c, t, k, r, secs, js, rss, bout = line.rstrip("\n").split("\t")
    key = (c, t, int(k))
    if key not in runs:
        runs[key] = {}
        order.append(key)
    st = json.load(open(js)) if js != "-" else None
    if bout != "-":  # a baseline: its output phase, where mr's stats have it
        st = {"phases": [{"name": "output", "max": float(bout)}]}
    runs[key][int(r)] = (float(secs), st, [int(x) / 1024 for x in rss.split()])

def med(xs):
    return statistics.median(xs)

def spread(xs, fmt="%.2f"):
    return (fmt + " (" + fmt + "-" + fmt + ")") % (med(xs), min(xs), max(xs))

def phase_max(st, name):
    for p in st["phases"]:
        if p["name"] == name:
            return p["max"]
    return 0.0

def output_phase(key):
    """A line's output phase over its rounds (mr's or a baseline's)."""
    return [phase_max(v[1], "output") for v in runs[key].values()]

print("%-42s %-20s %s" % ("run", "seconds", "peak RSS per rank, MB (largest of the rounds)"))
for key in order:
    c, t, k = key
    rr = runs[key]
    secs = [v[0] for v in rr.values()]
    rss = [max(v[2]) if v[2] else 0 for v in rr.values()]
    per = [sorted(v[2], reverse=True) for v in rr.values()]
    width = max(len(p) for p in per)
    peak = ["%.0f" % max(p[i] for p in per if len(p) > i) for i in range(width)]
    print("%-42s %-20s %s" % ("%s, %s, %s" % (kinds[k], c, t), spread(secs), "/".join(peak)))
print()
print("phases of mr (seconds, max over ranks: median (min-max)); map imbalance = max/mean busy")
for key in order:
    c, t, k = key
    if k > 1:
        continue
    rr = runs[key]
    cols = []
    for p in phases:
        cols.append("%s %s" % (p, spread([phase_max(v[1], p) for v in rr.values()])))
    cols.append("imbalance %s" % spread([v[1]["imbalance"] for v in rr.values()], "%.3f"))
    print("  %-40s %s" % ("%s, %s, %s" % (kinds[k], c, t), "; ".join(cols)))
for key in order:
    c, t, k = key
    rr = runs[key]
    if k > 1 and all(v[1] for v in rr.values()):
        print("  %-40s output %s (from the table complete to the file synced)" % (
            "%s, %s, %s" % (kinds[k], c, t), spread(output_phase(key))))
print()

def paired(c, t, num, den):
    """Median of per-round speed ratios: den's time over num's."""
    a, b = runs.get((c, t, num)), runs.get((c, t, den))
    if not a or not b:
        return None
    xs = [b[r][0] / a[r][0] for r in a if r in b]
    return spread(xs)

print("ratios (speed, paired per round: median (min-max))")
for c in ("big", "tree"):
    for t in ("whitespace", "words"):
        if (c, t, 1) not in runs:
            continue
        print("  %-4s %-10s -np 2 / 2 baselines on halves %s   -np 2 / baseline %s   -np 1 / baseline %s" % (
            c, t, paired(c, t, 1, 3), paired(c, t, 1, 2), paired(c, t, 0, 2)))
print()
print("goals (issue 22), at -np 2:")
def goal(text, value, ok):
    print("  %-62s %-24s %s" % (text, value, "met" if ok else "NOT met"))
def medratio(c, t, num, den):
    a, b = runs[(c, t, num)], runs[(c, t, den)]
    return med([b[r][0] / a[r][0] for r in a if r in b])
for t, name in (("whitespace", "whitespace"), ("words", "words")):
    if ("tree", t, 1) in runs:
        x = medratio("tree", t, 1, 3)
        goal("tree, %s: >= 0.95 of 2 baselines on halves" % name, "%.2f" % x, x >= 0.95)
if ("big", "whitespace", 1) in runs:
    rr = runs[("big", "whitespace", 1)]
    o = med(output_phase(("big", "whitespace", 1)))
    bo = [med(output_phase(("big", "whitespace", k)))
          for k in (2, 3) if ("big", "whitespace", k) in runs]
    goal("big.txt, whitespace: output phase < 0.5 s", "%.2f s" % o + (
        " (baselines' %s)" % "/".join("%.2f" % x for x in bo) if bo else ""), o < 0.5)
    m = max(max(v[2]) for v in rr.values())
    goal("big.txt, whitespace: peak RSS per rank <= 450 MB", "%.0f MB" % m, m <= 450)
    i = med([v[1]["imbalance"] for v in rr.values()])
    goal("big.txt, whitespace: map imbalance <= 1.03 (dynamic)", "%.3f" % i, i <= 1.03)
EOF
