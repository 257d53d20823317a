#!/usr/bin/env bash
# python.sh -- jobs in Python (mr-run python) against the ways the course
# does the same work, and against mr's C jobs, in one invocation.
#
#   tools/bench/python.sh [--size 64M] [--files 16] [--rounds 5]
#                         [--mandel WxHxITER] [--build DIR] [--dir DIR]
#
# Word count, on --files files of a generated corpus (mr-gencorpus --seed
# 1, --size in all), each at -np 2 / 2 processes, end to end:
#   mr-python   mpirun -np 2 mr-run python docs/examples/python/wordcount.py
#               --out FILE (map: mr.count(words), fold = "sum")
#   mr-py-counter  the same with map returning collections.Counter(words),
#               as the baselines count
#   mpi4py      the course's way: rank 0 scatters the file names, each rank
#               counts its files with collections.Counter, gather, merge
#               and sort on rank 0 (same tokeniser as wordcount.py, so the
#               tables can be compared)
#   pool        multiprocessing.Pool(2).map over the files, merge, sort
#   mr-c        mpirun -np 2 mr-run wordcount --out FILE
# Mandelbrot (--mandel, default 800x600x500), counts to a .npy file:
#   mr-python   mandelbrot.py (NumPy tiles of 8 rows) at -np 2
#   numpy-1     the serial plotter vectorised with NumPy, one process (the
#               same kernel on the whole image at once: every point
#               iterates until the last one escapes)
#   numpy-tiles the same kernel on the job's tiles of 8 rows, one after
#               the other, one process: the serial time of the same work
#   mr-c        mpirun -np 2 mr-run mandelbrot --out '' --counts FILE
# Per-record cost of the embedding, -np 1, on the first 1M lines:
#   noop        def map(line): pass          (a str and a call per line)
#   identity    def map(line): return ((line, None),)  (a pair per line)
# reported as records per second of the map phase (--stats; the run's
# total time is in the first columns).
#
# Rounds are interleaved (A B C D, A B C D, ...); each line gives the
# median and the min-max of the rounds. All outputs of a kind are checked
# equal. The machine's load is printed: shared machines are noisy.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
size=64M files=16 rounds=5 mandel=800x600x500
build=${BUILD:-$src/build} dir=${TMPDIR:-/tmp}/mr-bench-python
while [ $# -gt 0 ]; do
    case $1 in
    --size) size=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --mandel) mandel=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --dir) dir=$2; shift 2 ;;
    -h|--help) sed -n '2,36p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "python.sh: unknown option $1" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3 RUN=$build/bin/mr-run GEN=$build/bin/mr-gencorpus
EX=$src/docs/examples/python MPIRUN=$src/tools/mr-mpirun
for f in "$build/lib/mr/jobs/python.so" "$build/lib/mr/jobs/wordcount.so" "$GEN"; do
    [ -e "$f" ] || { echo "python.sh: $f missing: build first (tools/build)" >&2; exit 1; }
done
$PY -c "import mpi4py, numpy" 2>/dev/null ||
    { echo "python.sh: needs python3-mpi4py and python3-numpy (tools/setup-deps)" >&2; exit 1; }
export LC_ALL=C
IFS=x read -r MW MH MI <<<"$mandel"

# ---------------- inputs ----------------
mkdir -p "$dir"
stamp="size=$size files=$files seed=1"
if [ "$(cat "$dir/stamp" 2>/dev/null)" != "$stamp" ]; then
    echo "# generating $size in $files files under $dir/corpus ..." >&2
    rm -rf "$dir/corpus" "$dir/stamp" && mkdir -p "$dir/corpus"
    "$GEN" --size "$size" --seed 1 "$dir/all.txt"
    split -d -a 3 -n "l/$files" "$dir/all.txt" "$dir/corpus/part."
    head -n 1000000 "$dir/all.txt" >"$dir/lines.txt"
    rm -f "$dir/all.txt"
    echo "$stamp" >"$dir/stamp"
fi
bytes=$(cat "$dir"/corpus/* | wc -c)
work=$(mktemp -d "${TMPDIR:-/tmp}/mr-bench-python.XXXXXX")
trap 'rm -rf "$work"' EXIT

# ---------------- baselines ----------------
cat >"$work/common.py" <<'EOF'
WORD = set(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
WORD |= set(range(0x80, 0x100))
TABLE = bytes(b if b in WORD else 0x20 for b in range(256)).lower()

def count_file(path):
    from collections import Counter
    with open(path, "rb") as f:
        return Counter(f.read().translate(TABLE).split())

def write_table(counts, path):
    with open(path, "wb") as out:
        for w, n in sorted(counts.items(), key=lambda p: (-p[1], p[0])):
            out.write(b"%s\t%d\n" % (w, n))
EOF
cat >"$work/wc_mpi4py.py" <<'EOF'
import os, sys
from collections import Counter
from mpi4py import MPI
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import count_file, write_table
comm = MPI.COMM_WORLD
rank, size = comm.Get_rank(), comm.Get_size()
if rank == 0:
    names = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1]))
    chunks = [names[i::size] for i in range(size)]
else:
    chunks = None
mine = comm.scatter(chunks, root=0)
counts = Counter()
for name in mine:
    counts.update(count_file(name))
everything = comm.gather(counts, root=0)
if rank == 0:
    total = Counter()
    for c in everything:
        total.update(c)
    write_table(total, sys.argv[2])
EOF
cat >"$work/wc_pool.py" <<'EOF'
import os, sys
from collections import Counter
from multiprocessing import Pool
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import count_file, write_table
if __name__ == "__main__":
    names = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1]))
    total = Counter()
    with Pool(2) as pool:
        for c in pool.imap_unordered(count_file, names):
            total.update(c)
    write_table(total, sys.argv[2])
EOF
cat >"$work/mandel_serial.py" <<'EOF'
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import importlib.util
spec = importlib.util.spec_from_file_location("m", sys.argv[1] + "/mandelbrot.py")
# the example imports mr only for its job functions; the kernel is plain
sys.modules["mr"] = type(sys)("mr")
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
W, H, IT = (int(v) for v in sys.argv[2:5])
cx = -2.0 + np.arange(W, dtype=np.float64) * (1.0 - -2.0) / W
cy = -1.0 + np.arange(H, dtype=np.float64) * (1.0 - -1.0) / H
if len(sys.argv) > 6:  # the same tiles as the job, one after the other
    T = int(sys.argv[6])
    image = np.concatenate([m.tile_numpy(cx, cy[r:r + T], IT) for r in range(0, H, T)])
else:  # the whole image at once, as the course's vectorised plotter
    image = m.tile_numpy(cx, cy, IT)
np.save(sys.argv[5], image)
EOF
# wordcount.py with the Counter the baselines use instead of mr.count
sed 's/^    mr.count(\(.*\))$/    return __import__("collections").Counter(\1)/' \
    "$EX/wordcount.py" >"$work/wc_counter.py"
grep -q "Counter(chunk" "$work/wc_counter.py" || { echo "python.sh: wc_counter.py not made" >&2; exit 1; }
printf 'def map(line):\n    pass\n' >"$work/noop.py"
printf 'def map(line):\n    return ((line, None),)\n' >"$work/identity.py"

# ---------------- measuring ----------------
declare -A times
# once NAME CMD...: one timed run; its seconds appended to times[NAME]
once() {
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    if ! "$@" >"$work/$name.out" 2>"$work/$name.err"; then
        echo "python.sh: $name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1
    fi
    t1=$(date +%s.%N)
    times[$name]+="$(awk "BEGIN { printf \"%.4f\", $t1 - $t0 }") "
}
declare -A mapt
# map_time NAME: the map phase's seconds (max over ranks) from --stats
map_time() { awk '$1 == "mr:" && $2 == "map" { print $5 }' "$work/$1.err"; }
# stats NAME [ARRAY]: "median min max" of the rounds
stats() { local -n arr=${2:-times}; tr ' ' '\n' <<<"${arr[$1]}" | grep . | sort -g |
    awk '{ v[NR] = $1 } END { m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.3f %.3f %.3f", m, v[1], v[NR] }'; }

echo "# machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at start; $(date -u +%FT%TZ)"
echo "# word count: $bytes bytes in $files files; mandelbrot ${MW}x${MH}, max-iter $MI; $rounds interleaved rounds"
C=$dir/corpus
for r in $(seq "$rounds"); do
    echo "# round $r/$rounds ..." >&2
    once wc.mr-python "$MPIRUN" 2 "$RUN" python "$EX/wordcount.py" --quiet --out "$work/t.mr-python" "$C"
    once wc.mr-py-counter "$MPIRUN" 2 "$RUN" python "$work/wc_counter.py" --quiet --out "$work/t.mr-py-counter" "$C"
    once wc.mpi4py "$MPIRUN" 2 $PY "$work/wc_mpi4py.py" "$C" "$work/t.mpi4py"
    once wc.pool $PY "$work/wc_pool.py" "$C" "$work/t.pool"
    once wc.mr-c "$MPIRUN" 2 "$RUN" wordcount --quiet --out "$work/t.mr-c" "$C"
    once mandel.mr-python "$MPIRUN" 2 "$RUN" python "$EX/mandelbrot.py" --quiet \
        --width "$MW" --height "$MH" --max-iter "$MI" --counts "$work/m.mr-python.npy"
    once mandel.numpy-1 $PY "$work/mandel_serial.py" "$EX" "$MW" "$MH" "$MI" "$work/m.numpy-1.npy"
    once mandel.numpy-tiles $PY "$work/mandel_serial.py" "$EX" "$MW" "$MH" "$MI" "$work/m.numpy-tiles.npy" 8
    once mandel.mr-c "$MPIRUN" 2 "$RUN" mandelbrot --quiet --width "$MW" --height "$MH" \
        --max-iter "$MI" --out '' --counts "$work/m.mr-c.npy"
    once rec.noop "$MPIRUN" 1 "$RUN" python "$work/noop.py" --quiet --stats "$dir/lines.txt"
    mapt[rec.noop]+="$(map_time rec.noop) "
    once rec.identity "$MPIRUN" 1 "$RUN" python "$work/identity.py" --quiet --stats --out "$work/identity.tsv" "$dir/lines.txt"
    mapt[rec.identity]+="$(map_time rec.identity) "
done

for v in mr-py-counter mpi4py pool mr-c; do
    cmp -s "$work/t.mr-python" "$work/t.$v" || { echo "python.sh: word tables differ: mr-python vs $v" >&2; exit 1; }
done
$PY -c "
import numpy as n, sys
a = [n.load('$work/m.%s.npy' % v) for v in ('mr-python', 'numpy-1', 'numpy-tiles', 'mr-c')]
sys.exit(not all(n.array_equal(a[0], x) for x in a[1:]))" ||
    { echo "python.sh: mandelbrot counts differ" >&2; exit 1; }
lines=$(wc -l <"$dir/lines.txt")
[ "$(wc -l <"$work/identity.tsv")" = "$lines" ] || { echo "python.sh: identity lost lines" >&2; exit 1; }

printf '%-18s %9s %9s %9s  %s\n' run median_s min_s max_s note
line() { # NAME NOTE
    read -r med lo hi <<<"$(stats "$1")"
    printf '%-18s %9s %9s %9s  %s\n' "$1" "$med" "$lo" "$hi" "$2"
}
med() { stats "$1" | cut -d' ' -f1; }
ratio() { awk "BEGIN { printf \"%.2f\", $(med "$1") / $(med "$2") }"; }
mbs=$(awk "BEGIN { printf \"%.1f\", $bytes / 1e6 / $(med wc.mr-python) }")
line wc.mr-python "$mbs MB/s; mpi4py/mr-python $(ratio wc.mpi4py wc.mr-python)x, pool/mr-python $(ratio wc.pool wc.mr-python)x, mr-python/mr-c $(ratio wc.mr-python wc.mr-c)x"
line wc.mr-py-counter "the same, map returns collections.Counter(words); mpi4py/this $(ratio wc.mpi4py wc.mr-py-counter)x"
line wc.mpi4py "scatter names, Counter, gather, merge at rank 0"
line wc.pool "multiprocessing.Pool(2)"
line wc.mr-c "mr-run wordcount"
line mandel.mr-python "numpy-1/mr-python $(ratio mandel.numpy-1 mandel.mr-python)x, mr-python/mr-c $(ratio mandel.mr-python mandel.mr-c)x"
line mandel.numpy-1 "serial NumPy, one process, the whole image at once"
line mandel.numpy-tiles "serial NumPy, one process, the job's tiles in a loop; this/mr-python $(ratio mandel.numpy-tiles mandel.mr-python)x"
line mandel.mr-c "mr-run mandelbrot"
recs() { # NAME: records/s in the map phase, median and range over rounds
    read -r m lo hi <<<"$(stats "$1" mapt)"
    awk -v n="$lines" -v m="$m" -v lo="$lo" -v hi="$hi" 'BEGIN {
        printf "map phase %.3f s (%.3f-%.3f): %.2f M records/s (%.2f-%.2f)", m, lo, hi, n / 1e6 / m, n / 1e6 / hi, n / 1e6 / lo }'
}
line rec.noop "$(recs rec.noop); $lines lines, -np 1"
line rec.identity "$(recs rec.identity); each line emitted, then shuffled, sorted, printed"
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
