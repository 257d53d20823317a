#!/usr/bin/env bash
# outofcore.sh -- word count under a memory budget (issue 24): mr in
# memory, mr with --memory 64M and 16M, and GNU sort under the same memory,
# in one invocation.
#
#   tools/bench/outofcore.sh [--reps N] [--dir DIR] [--tree DIR] [--build DIR]
#                            [--corpus tree|gen|both] [--codec none|lz4|zstd|zlib]
#                            [--quick] [--keep]
#
# Corpora (made once, kept in --dir, default /var/tmp/mr-bench/outofcore):
#   tree  the unpacked source tree of Debian's linux-source-6.1, as its
#         ~84,000 files (~1.3 GB, ~12 M distinct whitespace tokens). An
#         existing unpacked tree is used where found (--tree DIR, DIR/
#         linux-source-6.1, manykeys.sh's folders); else it is unpacked from
#         /usr/src/linux-source-6.1.tar.xz as manykeys.sh does (apt-get
#         install linux-source-6.1 when missing: root only).
#         For sort, tree.stream: the same files (find -L | LC_ALL=C sort)
#         with a newline after each, so that no token spans two files
#         (mr's input never joins files); made once, outside the timing.
#   gen   build/bin/mr-gencorpus, one file of the tree's size, Zipf words
#         from a vocabulary of 12 M scaled with the size.
# --quick: a ~100 MB slice of the tree (every k-th file, copied into
# DIR/quick) and a generated corpus of the slice's size: checks the script
# in a few minutes (with --reps 1), not a measurement.
#
# Lines, at -np 2, `wordcount --tokens whitespace` (end to end, table to a
# file), in interleaved rounds (each round runs every line once, so that
# load from elsewhere falls on all lines alike):
#   mr in memory    no --memory;
#   mr 64M / 16M    --memory 64M / 16M --spill-dir WORK/spill [--spill-codec];
#   sort 64M / 16M  tr -s '[:space:]' '\n' <IN | LC_ALL=C sort -S 64M -T WORK
#                   | uniq -c (-S 16M): counting the same tokens.
# A build without --memory prints n/a on the mr 64M / 16M lines; a run that
# fails prints "failed" and its message, and the rounds go on.
# For each line: seconds (median and spread over the rounds), peak RSS per
# rank (/usr/bin/time -f %M, a file per rank; for sort its sort process, the
# pipeline's big one), bytes spilled (--stats-json's "spill" object:
# bytes_written, bytes_raw, runs; n/a without it). Then the issue's goals as
# medians of per-round paired ratios, and whether the tables are the same:
# mr's and uniq -c's, both as token<TAB>count lines sorted bytewise (tokens
# over 64 KiB excepted: mr counts them under a shortened key), and each mr
# --memory table byte-identical to the in-memory one. Needs /usr/bin/time
# (Debian package `time`) and python3.
#
# Goals (issue 24; a benchmark, not a test): 64M time / in-memory time
# <= 1.5; 16M / in-memory <= 2.5; peak RSS per rank at 64M under 100 MB.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
build=${BUILD:-$src/build} dir=/var/tmp/mr-bench/outofcore
reps=5 quick=0 keep=0 corpora="tree gen" codec='' tree_arg=''
while [ $# -gt 0 ]; do
    case $1 in
    --reps) reps=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    --tree) tree_arg=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --corpus) case $2 in both) corpora="tree gen" ;; tree|gen) corpora=$2 ;;
              *) echo "outofcore.sh: --corpus tree|gen|both" >&2; exit 2 ;; esac; shift 2 ;;
    --codec) codec=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n '2,48p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "outofcore.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
case $reps in ''|*[!0-9]*|0) echo "outofcore.sh: --reps N (N >= 1)" >&2; exit 2 ;; esac
RUN=$build/bin/mr-run GEN=$build/bin/mr-gencorpus
for x in "$RUN" "$GEN"; do
    [ -x "$x" ] || { echo "outofcore.sh: $x missing: build first (tools/build)" >&2; exit 1; }
done
TIME=/usr/bin/time
[ -x $TIME ] || { echo "outofcore.sh: needs /usr/bin/time (apt-get install time)" >&2; exit 1; }
PY=/usr/bin/python3
[ -x $PY ] || PY=$(command -v python3) || { echo "outofcore.sh: needs python3" >&2; exit 1; }
export LC_ALL=C
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

# What this build of mr-run offers: the flags land with the engine's part
# of issue 24; until then the --memory lines print n/a.
help=$("$RUN" wordcount --help 2>&1 || true)
has() { grep -qE -- "^ *$1 " <<<"$help"; }
mem_ok=0 spilldir_ok=0 codec_ok=0
has --memory && mem_ok=1
has --spill-dir && spilldir_ok=1
has --spill-codec && codec_ok=1
if [ -n "$codec" ] && [ $codec_ok = 0 ] && [ $mem_ok = 1 ]; then
    echo "outofcore.sh: this mr-run has no --spill-codec" >&2; exit 1
fi

# ---------------- corpora ----------------

mkdir -p "$dir"
# An unpacked tree: given, ours, or manykeys.sh's (default --dir, or under
# /var/tmp/mr-bench), each stamped complete by a tree.ok beside it.
tree=''
if [ -n "$tree_arg" ]; then
    [ -d "$tree_arg" ] || { echo "outofcore.sh: --tree $tree_arg: no such folder" >&2; exit 1; }
    tree=$(cd "$tree_arg" && pwd)
else
    for d in "$dir" /var/tmp/mr-bench-manykeys /var/tmp/mr-bench/manykeys; do
        if [ -e "$d/tree.ok" ] && [ -d "$d/linux-source-6.1" ]; then
            tree=$d/linux-source-6.1; break
        fi
    done
fi
if [ -z "$tree" ]; then
    tarball=/usr/src/linux-source-6.1.tar.xz
    if [ ! -e $tarball ]; then
        [ "$(id -u)" = 0 ] || { echo "outofcore.sh: $tarball missing: apt-get install linux-source-6.1 (as root), or run this as root" >&2; exit 1; }
        echo "# installing linux-source-6.1 (apt-get) ..." >&2
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq linux-source-6.1 >&2
    fi
    avail=$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')
    [ "$avail" -gt $((5 << 20)) ] || { echo "outofcore.sh: $dir needs ~5 GB free (tree, its stream, gen.txt, spills)" >&2; exit 1; }
    echo "# unpacking $tarball into $dir ..." >&2
    rm -rf "$dir/linux-source-6.1"
    tar xf $tarball -C "$dir"
    touch "$dir/tree.ok"
    tree=$dir/linux-source-6.1
fi

# stream LIST OUT: the files of LIST (one path a line) each followed by a
# newline, into OUT.
stream() {
    $PY - "$1" "$2.part" <<'EOF'
import sys
with open(sys.argv[1], "rb") as names, open(sys.argv[2], "wb") as out:
    for name in names:
        with open(name.rstrip(b"\n"), "rb") as f:
            while True:
                b = f.read(1 << 20)
                if not b:
                    break
                out.write(b)
        out.write(b"\n")
EOF
    mv "$2.part" "$2"
}

# The size of a file or of the files under a folder.
bytes_of() { find -L "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }

if [ $quick = 1 ]; then
    cdir=$dir/quick
    mkdir -p "$cdir"
    if [ ! -e "$cdir/tree.ok" ]; then
        # Every k-th file in path order: a slice with the mix of the whole.
        echo "# copying a ~100 MB slice of $tree into $cdir/tree ..." >&2
        rm -rf "$cdir/tree"
        mkdir -p "$cdir/tree"
        total=$(bytes_of "$tree")
        k=$(( (total + 104857599) / 104857600 ))
        (cd "$tree" && find -L . -type f | sort | awk -v k="$k" '(NR - 1) % k == 0') >"$cdir/slice.list"
        tar -C "$tree" -chf - -T "$cdir/slice.list" | tar -C "$cdir/tree" -xf -
        touch "$cdir/tree.ok"
    fi
    ctree=$cdir/tree
else
    cdir=$dir ctree=$tree
fi
if [ ! -e "$cdir/tree.stream.ok" ]; then
    echo "# making tree.stream (the tree's files, a newline after each) ..." >&2
    (cd "$ctree" && find -L "$ctree" -type f | sort) >"$cdir/tree.list"
    stream "$cdir/tree.list" "$cdir/tree.stream"
    touch "$cdir/tree.stream.ok"
fi
tree_bytes=$(bytes_of "$ctree")
if [ ! -e "$cdir/gen.ok" ]; then
    vocab=$(( 12000000 * (tree_bytes / 1048576) / 1272 ))
    [ $vocab -ge 10000 ] || vocab=10000
    echo "# generating gen.txt ($tree_bytes bytes, vocabulary $vocab) ..." >&2
    "$GEN" --size "$tree_bytes" --seed 24 --vocab "$vocab" "$cdir/gen.txt"
    echo "$vocab" >"$cdir/gen.ok"
fi

work=$(mktemp -d "$dir/work.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work/spill" "$work/sorttmp"

# ---------------- the lines ----------------

kinds=("mr in memory" "mr --memory 64M" "sort -S 64M" "mr --memory 16M" "sort -S 16M")
lim=("" 64M 64M 16M 16M)

# mr MEMFLAG INPUT MEM JSON OUT: mr-run at -np 2 under mpirun, a peak-RSS
# file per rank (MEM.RANK). MEMFLAG: '' (in memory) or a size.
mr() {
    local m=$1 input=$2 mem=$3 json=$4 out=$5
    local extra=()
    if [ -n "$m" ]; then
        extra=(--memory "$m")
        [ $spilldir_ok = 0 ] || extra+=(--spill-dir "$work/spill")
        [ -z "$codec" ] || extra+=(--spill-codec "$codec")
    fi
    # shellcheck disable=SC2016 # expanded by the sh of each rank
    "$src/tools/mr-mpirun" 2 sh -c 't=$0 m=$1; shift; exec "$t" -o "$m.$OMPI_COMM_WORLD_RANK" -f %M "$@"' \
        $TIME "$mem" "$RUN" wordcount --tokens whitespace --stats-json "$json" \
        --out "$out" "${extra[@]}" "$input"
}
# gsort SIZE INPUT MEM OUT: the same count with GNU sort in SIZE of memory.
# MEM.sort gets sort's peak RSS and its blocks written (%O, 512 bytes,
# counted as pages are dirtied: its temporary files, as its output is a
# pipe), what it spilled.
gsort() {
    tr -s '[:space:]' '\n' <"$2" |
        $TIME -o "$3.sort" -f '%M %O' sort -S "$1" -T "$work/sorttmp" | uniq -c >"$4"
}
warm() { find -L "$@" -type f -print0 | xargs -0 cat >/dev/null; }

input_of() { # CORPUS KIND: what the line reads
    case $1.$2 in
    tree.[013]) echo "$ctree" ;;
    tree.*) echo "$cdir/tree.stream" ;;
    *) echo "$cdir/gen.txt" ;;
    esac
}

records=$work/records
: >"$records"
for r in $(seq "$reps"); do
    echo "# round $r of $reps" >&2
    for c in $corpora; do
        a=$(input_of "$c" 0) b=$(input_of "$c" 2)
        if [ "$a" = "$b" ]; then warm "$a"; else warm "$a" "$b"; fi
        for k in 0 1 2 3 4; do
            id=$c.$k mem=$work/mem.$c.$k.$r json=- status=ok
            input=$(input_of "$c" "$k")
            table=$work/table.$id.tsv
            if [ $k = 1 ] || [ $k = 3 ]; then
                if [ $mem_ok = 0 ]; then
                    printf '%s\t%s\t%s\t-\t-\tn/a\t\n' "$c" "$k" "$r" >>"$records"
                    continue
                fi
            fi
            rm -f "$mem".* "$table"
            t0=$(date +%s.%N)
            case $k in
            0|1|3) json=$work/stats.$id.$r.json
                   mr "${lim[$k]}" "$input" "$mem" "$json" "$table" >/dev/null 2>"$work/stderr" || status=failed ;;
            *)     gsort "${lim[$k]}" "$input" "$mem" "$table" 2>"$work/stderr" || status=failed ;;
            esac
            t1=$(date +%s.%N)
            secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')
            note=''
            if [ $status = failed ]; then
                note=$(grep -v '^ *$' "$work/stderr" | head -n 1 | tr '\t' ' ' | cut -c1-160)
                cp "$work/stderr" "$work/stderr.$id.$r"
                rm -f "$table" # a partial table is no table
                echo "outofcore.sh: failed: ${kinds[$k]}, $c, round $r: $note" >&2
            fi
            left=$(find "$work/spill" -mindepth 1 | wc -l)
            if [ "$left" != 0 ]; then
                note="$note${note:+; }left $left files in the spill folder"
                rm -rf "${work:?}/spill" && mkdir "$work/spill"
            fi
            rss='' written=-
            if [ -e "$mem.sort" ]; then
                read -r rss written <"$mem.sort" || true
                written=$(( ${written:-0} * 512 ))
            else
                rss=$(cat "$mem".* 2>/dev/null | tr '\n' ' ' || true)
            fi
            printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$k" "$r" "$secs" "$json" "$status" "$rss" "$note" "$written" >>"$records"
            printf '%-34s %8.2f s  %s\n' "${kinds[$k]}, $c" "$secs" "$status" >&2
        done
    done
done

# ---------------- same tables ----------------

# as_tsv TABLE KIND OUT: token<TAB>count lines sorted bytewise; uniq -c's
# "%7d TOKEN" turned round, its empty token (input that starts with a
# blank) dropped.
as_tsv() {
    if [ "$2" = 2 ] || [ "$2" = 4 ]; then
        sed -E -n 's/^ *([0-9]+) (.+)$/\2\t\1/p' "$1"
    else
        cat "$1"
    fi | sort -S 256M -T "$work/sorttmp" >"$3"
}
# Lines only in one of two sorted tables (comm), tokens over 64 KiB set
# apart: mr counts those under a shortened key that holds spaces.
diffsum() {
    { comm -23 "$1" "$2" | sed 's/^/<\t/'; comm -13 "$1" "$2" | sed 's/^/>\t/'; } |
        $PY -c '
import re, sys
long_mr = re.compile(rb" \.\.\. \(\d+ bytes, hash ")
n = {b"<": 0, b">": 0}; first = {}; apart = 0
for l in sys.stdin.buffer:
    side, line = l[:1], l[2:].rstrip(b"\n")
    if (side == b"<" and long_mr.search(line)) or (side == b">" and len(line.split(b"\t")[0]) > 65536):
        apart += 1
        continue
    n[side] += 1
    first.setdefault(side, line[:80])
if not n[b"<"] and not n[b">"]:
    print("yes (%d lines of tokens over 64 KiB set apart)" % apart)
else:
    print("no: %d lines only in mr\x27s, %d only in sort\x27s; first: %r / %r" % (
        n[b"<"], n[b">"], first.get(b"<"), first.get(b">")))
'
}
declare -A same distinct
for c in $corpora; do
    t0=$work/table.$c.0.tsv
    if [ ! -s "$t0" ]; then
        same[$c]="n/a (mr in memory failed)"
        continue
    fi
    distinct[$c]=$(wc -l <"$t0")
    as_tsv "$t0" 0 "$work/norm.mr.tsv"
    verdict=''
    for k in 2 4; do
        t=$work/table.$c.$k.tsv
        if [ ! -e "$t" ]; then verdict="$verdict ${kinds[$k]}: n/a;"; continue; fi
        as_tsv "$t" $k "$work/norm.sort.tsv"
        if cmp -s "$work/norm.mr.tsv" "$work/norm.sort.tsv"; then
            v=yes
        else
            v=$(diffsum "$work/norm.mr.tsv" "$work/norm.sort.tsv")
        fi
        verdict="$verdict mr in memory vs ${kinds[$k]}: $v;"
    done
    for k in 1 3; do
        t=$work/table.$c.$k.tsv
        if [ $mem_ok = 0 ]; then v=n/a
        elif [ ! -s "$t" ]; then v="n/a (failed)"
        elif cmp -s "$t0" "$t"; then v=yes
        else v=no
        fi
        verdict="$verdict ${kinds[$k]} vs in memory (byte-identical): $v;"
    done
    same[$c]=$verdict
done

# ---------------- summary ----------------

echo
if [ $quick = 1 ]; then
    echo "outofcore benchmark, QUICK (a ~100 MB slice: checks the script, not a measurement), $(nproc) cores, $(date -u +%F), load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
else
    echo "outofcore benchmark: linux-source-6.1 and a generated corpus, $(nproc) cores, $(date -u +%F), load at the end $(cut -d' ' -f1-3 /proc/loadavg)"
fi
echo "mr-run: --memory $([ $mem_ok = 1 ] && echo yes || echo 'no (n/a below)'), --spill-dir $([ $spilldir_ok = 1 ] && echo yes || echo no), --spill-codec ${codec:-default}; -np 2, --tokens whitespace; $reps interleaved rounds; median (min-max)"
for c in $corpora; do
    case $c in
    tree) echo "tree: $ctree: $(find -L "$ctree" -type f | wc -l) files, $tree_bytes bytes; ${distinct[$c]:-?} distinct tokens" ;;
    gen) echo "gen: $cdir/gen.txt: $(stat -c %s "$cdir/gen.txt") bytes, vocabulary $(cat "$cdir/gen.ok"); ${distinct[$c]:-?} distinct tokens" ;;
    esac
done
echo
$PY - "$records" <<'EOF'
import json, statistics, sys
kinds = ["mr in memory", "mr --memory 64M", "sort -S 64M", "mr --memory 16M", "sort -S 16M"]
runs, notes, order = {}, {}, []   # (corpus, kind) -> {round: (secs, spill, [rss MB])}
for line in open(sys.argv[1]):
    c, k, r, secs, js, status, rss, note, written = (line.rstrip("\n").split("\t") + [""] * 9)[:9]
    key = (c, int(k))
    if key not in order:
        order.append(key)
    runs.setdefault(key, {})
    if note:
        notes.setdefault(key, set()).add(note)
    if status != "ok":
        runs[key][int(r)] = status        # "n/a" or "failed"
        continue
    spill = None
    if written not in ("", "-"):          # sort: its blocks written
        spill = {"bytes_written": int(written)}
    if js != "-":
        try:
            st = json.load(open(js))
        except (OSError, ValueError):
            st = {}
        sp = st.get("spill")
        if isinstance(sp, list):          # per rank: add them up
            tot = {}
            for x in sp:
                for f in ("bytes_written", "bytes_raw", "runs"):
                    tot[f] = tot.get(f, 0) + (x.get(f) or 0)
            sp = tot
        if not sp:                        # or under each rank's stats
            per = [x.get("spill") for x in st.get("rank_stats", []) if isinstance(x, dict) and x.get("spill")]
            if per:
                sp = {f: sum(p.get(f, 0) for p in per) for f in ("bytes_written", "bytes_raw", "runs")}
        if isinstance(sp, dict) and "bytes_written" in sp:
            spill = sp
    runs[key][int(r)] = (float(secs), spill, [int(x) / 1024 for x in rss.split()])

def med(xs): return statistics.median(xs)
def spread(xs, fmt="%.2f"): return (fmt + " (" + fmt + "-" + fmt + ")") % (med(xs), min(xs), max(xs))
def ok(key): return {r: v for r, v in runs.get(key, {}).items() if isinstance(v, tuple)}
def why_not(key):
    vals = set(v for v in runs.get(key, {}).values() if not isinstance(v, tuple))
    return "failed" if "failed" in vals else "n/a"

def mb(x): return "%.1f MB" % (x / 1e6)
print("%-26s %-22s %-22s %s" % ("run", "seconds", "peak RSS/rank, MB", "spilled: written (raw), runs"))
for key in order:
    c, k = key
    rr = ok(key)
    name = "%s, %s" % (kinds[k], c)
    if not rr:
        print("%-26s %-22s %-22s %s" % (name, why_not(key), "n/a", "n/a"))
    else:
        secs = [v[0] for v in rr.values()]
        per = [sorted(v[2], reverse=True) for v in rr.values() if v[2]]
        width = max((len(p) for p in per), default=0)
        peak = "/".join("%.0f" % max(p[i] for p in per if len(p) > i) for i in range(width)) or "n/a"
        sps = [v[1] for v in rr.values() if v[1]]
        if k in (2, 4):
            sp = "%s (temp files)" % mb(med([s["bytes_written"] for s in sps])) if sps else "n/a"
        else:
            if sps:
                sp = "%s (%s), %s" % (mb(med([s["bytes_written"] for s in sps])),
                                      mb(med([s.get("bytes_raw", 0) for s in sps])),
                                      "%.0f" % med([s.get("runs", 0) for s in sps]))
            else:
                sp = "n/a"
        extra = "" if len(rr) == len(runs[key]) else "  (%d of %d rounds failed)" % (len(runs[key]) - len(rr), len(runs[key]))
        print("%-26s %-22s %-22s %s%s" % (name, spread(secs), peak, sp, extra))
    for n in sorted(notes.get(key, ())):
        print("    note: %s" % n)
print("(peak RSS: per rank, largest of the rounds; for sort, its sort process)")
print()

def paired(c, num, den):
    a, b = ok((c, num)), ok((c, den))
    xs = [a[r][0] / b[r][0] for r in a if r in b]
    return xs
print("ratios (time, paired per round: median (min-max))")
for c in dict.fromkeys(k[0] for k in order):
    cols = []
    for num, den, label in ((1, 0, "64M / in memory"), (3, 0, "16M / in memory"),
                            (1, 2, "mr 64M / sort 64M"), (3, 4, "mr 16M / sort 16M"),
                            (0, 2, "mr in memory / sort 64M")):
        xs = paired(c, num, den)
        cols.append("%s %s" % (label, spread(xs) if xs else "n/a"))
    print("  %-5s %s" % (c, ";  ".join(cols)))
print()
print("goals (issue 24), -np 2:")
def goal(text, value, ok_):
    print("  %-52s %-14s %s" % (text, value, "n/a" if ok_ is None else ("met" if ok_ else "NOT met")))
for c in dict.fromkeys(k[0] for k in order):
    for num, lim, label in ((1, 1.5, "64M"), (3, 2.5, "16M")):
        xs = paired(c, num, 0)
        goal("%s: %s time / in-memory time <= %.1f" % (c, label, lim),
             "%.2f" % med(xs) if xs else "n/a", med(xs) <= lim if xs else None)
    rr = ok((c, 1))
    rss = [max(v[2]) for v in rr.values() if v[2]]
    goal("%s: peak RSS per rank at 64M < 100 MB" % c,
         "%.0f MB" % max(rss) if rss else "n/a", max(rss) < 100 if rss else None)
EOF
echo
for c in $corpora; do
    s=${same[$c]}
    case $s in
    *": no"*) yn=no ;;
    *": yes"*) yn=yes ;;
    *) yn=n/a ;;
    esac
    echo "same table ($c): $yn"
    tr ';' '\n' <<<"$s" | sed -n 's/^ */  /p' | grep -v '^  $' || true
done
