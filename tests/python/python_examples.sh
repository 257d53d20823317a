#!/usr/bin/env bash
# python_examples.sh -- the course's exercises as Python jobs
# (docs/examples/python), through real mpirun and the system's CPython and
# NumPy: each gives the C job's answer (or NumPy's on one process), and the
# same bytes at 1, 2 and 3 ranks under every schedule.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/python/py_lib.sh"
E="$MR_SOURCE_DIR/docs/examples/python"
C="$MR_SOURCE_DIR/corpus"
SCHEDS="block cyclic dynamic master"
PY=/usr/bin/python3
export LC_ALL=C
# Rank counts and schedules the examples run at; the sanitizer pass looks
# for memory errors, not combinations, and takes the ends of each list.
NPS="1 2 3"
RUNS=("1 block" "2 cyclic" "3 dynamic" "3 master")
if [ -n "${MR_TEST_SANITIZED:-}" ]; then
    NPS="1 3"
    RUNS=("1 block" "3 master")
fi

# hello: the C job's lines, at 1-3 ranks.
for np in $NPS; do
    run $np hello; cp "$T/out" "$T/hello.c"
    run $np python "$E/hello.py"
    check "hello.py np $np: exit 0" test "$rc" = 0
    check "hello.py np $np: same lines as the C hello" cmp -s "$T/out" "$T/hello.c"
done

# wordcount.py: the C wordcount's full table, byte for byte (corpus: plain
# files, a .gz), and the same bytes at every rank count and schedule.
run 2 wordcount --out "$T/wc.c" "$C"
check "C wordcount ran" test "$rc" = 0
# (every schedule at 1-3 ranks is in python_codec; here one per run, to
# keep the test short)
for run_ in "${RUNS[@]}"; do
    set -- $run_
    run $1 python "$E/wordcount.py" --schedule $2 "$C"
    check "wordcount.py np $1 $2: table = C wordcount --out table" cmp -s "$T/out" "$T/wc.c"
done
check "the table is not empty" test "$(wc -l <"$T/wc.c")" -gt 1000
# --out (the python job's own option): the same table, in a file
run 2 python "$E/wordcount.py" --out "$T/wc.py" "$C"
check "wordcount.py --out: exit 0, nothing on stdout" test "$rc" = 0 -a ! -s "$T/out"
check "wordcount.py --out FILE = C wordcount --out table" cmp -s "$T/wc.py" "$T/wc.c"
# a dict (collections.Counter) returned by map is a bulk of pairs too
sed 's/^    mr.count(\(.*\))$/    return __import__("collections").Counter(\1)/' \
    "$E/wordcount.py" >"$T/wc_counter.py"
check "the Counter variant differs from wordcount.py" grep -q "Counter(chunk" "$T/wc_counter.py"
run 3 python "$T/wc_counter.py" --schedule cyclic "$C"
check "map returning a Counter: the same table" cmp -s "$T/out" "$T/wc.c"

# wordcount_lines.py (one call per line, one pair per word, str records)
# against a serial Python count of the same files; also with stdin.
F="$C/devils-dictionary.txt"
$PY - "$F" >"$T/lines.ref" <<'PYEOF'
import sys, collections
c = collections.Counter()
with open(sys.argv[1], encoding="utf-8", errors="surrogateescape", newline="\n") as f:
    for line in f:
        c.update(line.rstrip("\n").split())
for w, n in sorted(c.items(), key=lambda p: (-p[1], p[0])):
    sys.stdout.buffer.write(w.encode("utf-8", "surrogateescape") + b"\t%d\n" % n)
PYEOF
same_output "wordcount_lines.py" "1 3" "block dynamic" python "$E/wordcount_lines.py" "$F"
check "wordcount_lines.py = serial Counter of line.split()" cmp -s "$T/first" "$T/lines.ref"
rc=0; timeout 120 "$MR_MPIRUN" 2 "$MR_RUN" python "$E/wordcount_lines.py" - <"$F" >"$T/stdin.out" 2>"$T/err" || rc=$?
check "wordcount_lines.py reads stdin (-)" cmp -s "$T/stdin.out" "$T/lines.ref"

# mandelbrot.py: both kernels give the C job's counts exactly.
M="--width 96 --height 64 --max-iter 150 --tile 4"
run 2 mandelbrot $M --out '' --counts "$T/c.npy"
check "C mandelbrot ran" test "$rc" = 0
for run_ in "${RUNS[@]}"; do
    set -- $run_
    run $1 python "$E/mandelbrot.py" $M --counts "$T/py.npy" --schedule $2
    check "mandelbrot.py numpy np $1 $2: counts = C job's" \
        $PY -c "import numpy as n, sys; sys.exit(not n.array_equal(n.load('$T/py.npy'), n.load('$T/c.npy')))"
done
for np in 1 3; do
    run $np python "$E/mandelbrot.py" $M --kernel pixel --counts "$T/px.npy" --schedule cyclic --stats
    check "mandelbrot.py pixel np $np: counts = C job's" \
        $PY -c "import numpy as n, sys; sys.exit(not n.array_equal(n.load('$T/px.npy'), n.load('$T/c.npy')))"
done
check "mandelbrot.py --stats prints the phase table" grep -q "map" "$T/err"
expect_fail 2 "--kernel gpu: give numpy or pixel" "mandelbrot.py: a bad --kernel exits 2" \
    2 python "$E/mandelbrot.py" --kernel gpu

# matmul.py: NumPy blocks; C equals A @ B (NumPy, one process) and the C
# job's product; same bytes at every rank count and schedule.
$PY -c "
import numpy as n; r = n.random.default_rng(7)
n.save('$T/A.npy', r.standard_normal((150, 90))); n.save('$T/B.npy', r.standard_normal((90, 110)))"
run 2 matmul --a "$T/A.npy" --b "$T/B.npy" --out "$T/Cc.npy"
for run_ in "${RUNS[@]}"; do
    set -- $run_
    run $1 python "$E/matmul.py" --a "$T/A.npy" --b "$T/B.npy" --block 32 \
        --out "$T/C.$1.$2.npy" --schedule $2 --verify
    check "matmul.py np $1 $2: exit 0, verified against A @ B" test "$rc" = 0
    check "matmul.py np $1 $2: same bytes as np 1 block" \
        cmp -s "$T/C.$1.$2.npy" "$T/C.1.block.npy"
done
check "matmul.py C = the C job's C (to rounding)" $PY -c "
import numpy as n, sys; a, b = n.load('$T/C.1.block.npy'), n.load('$T/Cc.npy')
sys.exit(not (a.shape == b.shape and n.abs(a - b).max() < 1e-10))"
mr_done
