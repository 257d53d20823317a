#!/usr/bin/env bash
# python_codec.sh -- keys and values of every supported type go through
# the engine (encode, partition, shuffle, group, sort, decode) unchanged,
# in Python's order, with the same bytes at 1, 2 and 3 ranks under every
# schedule; fold "min"/"max"; NumPy arrays as values; records cut at a
# separator the script names; chunks of records; the script's folder on
# sys.path but never the current folder; threads default to 1.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/python/py_lib.sh"
SCHEDS="block cyclic dynamic master"
export LC_ALL=C

cat >"$T/keytypes.py" <<'PYEOF'
import math, sys
import numpy as np
import mr

KEYS = [None, 0, 1, -1, 2**63 - 1, -2**63, 2**63, -2**63 - 1, 2**70, -2**70,
        0.0, -2.5, 0.1, 1e16, -1e-300, float("inf"), float("-inf"),
        b"", b"a", b"a\x00", b"a\x00b", b"\xff\x00", b"b",
        "", "a", "a\x00", "\u00e9t\u00e9", "\U0001f600", "z",
        (), (1,), (1, 2), (1, "a"), ("a", b"b", (2.5, None)), ("a", ("b",)),
        ("a\x00",), ("a",), (b"x", -3)]

def split():
    return list(range(len(KEYS)))

def map(i):
    k = KEYS[i]
    yield k, ("value", i, np.arange(i, dtype=np.int16).reshape(1, i) if i else np.float32(1.5))
    yield k, (i, np.full((2, 2), i / 7.0))
    mr.emit(k, np.array([[True, False]]))   # emit() and yield mix

def reduce(k, values):
    vs = list(values)           # task order, then emission order
    assert len(vs) == 3, vs
    i = vs[0][1]
    assert vs[0][0] == "value" and KEYS[i] == k and type(KEYS[i]) is type(k), vs
    arr = vs[1][1]
    assert arr.dtype == np.float64 and arr.shape == (2, 2) and arr.flags.writeable
    arr += 1                    # the arrays are writable copies
    assert vs[2].dtype == bool and vs[2].tolist() == [[True, False]]
    if i:
        assert vs[0][2].dtype == np.int16 and vs[0][2].shape == (1, i)
        assert vs[0][2].tolist() == [list(range(i))]
    else:
        assert vs[0][2] == 1.5 and type(vs[0][2]) is float
    return i

seen = []

def output(k, i):
    assert k == KEYS[i] and type(k) is type(KEYS[i]), (k, KEYS[i])
    seen.append(k)
    print(repr(k))

def finish():
    assert len(seen) == len(KEYS)
    # within one type, the engine's bytewise order is Python's order
    for t in (int, float, bytes, str):
        got = [k for k in seen if type(k) is t]
        assert got == sorted(got), (t, got)
    for a, b in [((), (1,)), ((1,), (1, 2)), (("a",), ("a", ("b",))),
                 (("a", ("b",)), ("a\x00",))]:
        assert seen.index(a) < seen.index(b), (a, b)
    print("types in order:", [type(k).__name__ for k in seen])
PYEOF
same_output "keys of every type" "1 2 3" "$SCHEDS" python "$T/keytypes.py"
check "every key came back with its type (finish ran)" grep -q "types in order" "$T/first"

# Default output text: str/bytes as they are, numbers as repr, tuples
# tab-joined, arrays space-joined; min/max folds over ints and floats.
cat >"$T/fold.py" <<'PYEOF'
import mr
options = {"fold": ("min", "min or max")}
fold = "min"
def split():
    return range(40)
def map(t):
    yield "mixed", (t - 17) * (1.5 if t % 2 else 1)
    yield ("t", t % 3), -t
PYEOF
run 3 python "$T/fold.py" --schedule dynamic
printf 'mixed\t-24.0\nt\t0\t-39\nt\t1\t-37\nt\t2\t-38\n' >"$T/fold.want"
check "fold min over ints and floats, tuple keys printed tab-joined" cmp -s "$T/out" "$T/fold.want"
sed 's/^fold = "min"/fold = "max"/' "$T/fold.py" >"$T/fmax.py"
run 2 python "$T/fmax.py"
printf 'mixed\t33.0\nt\t0\t0\nt\t1\t-1\nt\t2\t-2\n' >"$T/fmax.want"
check "fold max" cmp -s "$T/out" "$T/fmax.want"

# combine (rank-local, before the shuffle) then reduce: the same result as
# reduce alone; a reduce that yields pairs of its own; order on a reduce.
cat >"$T/comb.py" <<'PYEOF'
import mr
def split():
    return range(30)
def map(t):
    for k in range(7):
        yield k % 5, (t, k)
def combine(key, values):          # many (t, k) -> one list of them
    yield key, sorted(v for vs in values for v in ([vs] if type(vs[0]) is int else vs))
def reduce(key, values):
    allv = sorted(v for vs in values for v in ([vs] if type(vs[0]) is int else vs))
    yield ("n", key), len(allv)
    yield ("sum", key), sum(t * k for t, k in allv)
def order(key, value):
    return key[1], key[0]
PYEOF
sed '/^def combine/,/^def reduce/{/^def reduce/!d}' "$T/comb.py" >"$T/nocomb.py"
check "the variant without combine has none" test "$(grep -c combine "$T/nocomb.py")" = 0
run 1 python "$T/nocomb.py"; cp "$T/out" "$T/nocomb.out"
check "reduce alone: 10 lines, ordered by the sort key" test "$(cut -f2 "$T/nocomb.out" | tr -d '\n')" = 0011223344
same_output "combine + reduce = reduce alone" "2 3" "block dynamic" python "$T/comb.py"
check "with combine: the same lines as without" cmp -s "$T/first" "$T/nocomb.out"

# Records cut at the script's separator; chunks of whole records.
printf 'a;b;;c\nd;e' >"$T/in.txt"
cat >"$T/sep.py" <<'PYEOF'
separator = ";\n"
def map(rec):
    yield rec, len(rec)
def reduce(k, vs):
    return sum(vs)
PYEOF
run 2 python "$T/sep.py" "$T/in.txt"
printf '\t0\na\t1\nb\t1\nc\t1\nd\t1\ne\t1\n' >"$T/sep.want"
check "records end at any byte of separator (empty records kept)" cmp -s "$T/out" "$T/sep.want"
head -c 3000000 "$MR_SOURCE_DIR/corpus/kjv.txt" >"$T/big.txt"
cat >"$T/chunks.py" <<'PYEOF'
chunks = True
encoding = None
fold = "sum"
def map(chunk):
    assert chunk.endswith(b"\n") or len(chunk) < 2**20, len(chunk)
    yield "lines", chunk.count(b"\n")
    yield "bytes", len(chunk)
PYEOF
run 2 python "$T/chunks.py" "$T/big.txt" "$T/big.txt"
printf 'bytes\t%s\nlines\t%s\n' $((2 * $(wc -c <"$T/big.txt"))) $((2 * $(wc -l <"$T/big.txt"))) >"$T/chunks.want"
check "chunks: every byte and line once, as bytes" cmp -s "$T/out" "$T/chunks.want"

# sys.path: the script's folder, never the current one; PYTHONPATH is
# ignored; OMP/BLAS threads default to 1 unless set.
mkdir -p "$T/cwd" "$T/scripts"
echo 'print("the current folder was imported")' >"$T/cwd/sidecar_cwd.py"
echo 'VALUE = 42' >"$T/scripts/sidecar_ok.py"
cat >"$T/scripts/path.py" <<'PYEOF'
import os, sys
import mr
import sidecar_ok
def setup():
    if mr.rank != 0:
        return
    try:
        import sidecar_cwd
        raise RuntimeError("imported from the current folder")
    except ImportError:
        pass
    mr.emit("omp", os.environ.get("OMP_NUM_THREADS"))
    mr.emit("blas", os.environ.get("OPENBLAS_NUM_THREADS"))
    mr.emit("sidecar", sidecar_ok.VALUE)
    mr.emit("cwd on path", os.getcwd() in sys.path or "" in sys.path)
    import numpy
PYEOF
(cd "$T/cwd" && PYTHONPATH="$T/cwd" OMP_NUM_THREADS= run 2 python ../scripts/path.py)
grep -v ^omp "$T/out" >"$T/path.got"
printf 'blas\t1\ncwd on path\t0\nsidecar\t42\n' >"$T/path.want"
check "script folder on sys.path, current folder and PYTHONPATH not" cmp -s "$T/path.got" "$T/path.want"
(cd "$T/cwd" && unset OMP_NUM_THREADS && run 1 python ../scripts/path.py)
check "OMP_NUM_THREADS defaults to 1" grep -qx "omp	1" "$T/out"
(cd "$T/cwd" && OMP_NUM_THREADS=3 run 1 python ../scripts/path.py)
check "an OMP_NUM_THREADS the user set is kept" grep -qx "omp	3" "$T/out"
mr_done
