#!/usr/bin/env bash
# python_errors.sh -- a script's errors stop the run like any job error:
# one message naming the rank, the callback and task, the script's file and
# line, the exception and the traceback's last lines; exit 1 (2 for usage
# errors); never a hang (lib.sh bounds each run) and no partial output.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/python/py_lib.sh"
export MR_TIMEOUT=60
printf 'one two\nthree\n' >"$T/in.txt"
no_output() { test ! -s "$T/out"; }

# A syntax error: exit 1, file and line, on every rank count.
printf 'fold = "sum"\n\ndef map(line)\n    yield line, 1\n' >"$T/syntax.py"
for np in 1 3; do
    expect_fail 1 "setup: $T/syntax.py:3: loading the script: SyntaxError: expected ':'" \
        "np $np: syntax error names file and line" $np python "$T/syntax.py" "$T/in.txt"
    check "np $np: syntax error: no output" no_output
done
check "syntax error: reported once for all ranks" test "$(grep -c SyntaxError "$T/err")" = 1
# ... also when the command line has options for the script
expect_fail 1 "syntax.py:3: .*SyntaxError" "syntax error with script options given" \
    2 python "$T/syntax.py" --top 3 --flag "$T/in.txt"

# An exception in map on one rank only: that rank, its task, the line.
cat >"$T/boom.py" <<'PYEOF'
import mr

def split():
    return range(12)

def helper(t):
    return 100 // (t - 7)

def map(t):
    yield t, helper(t)
PYEOF
scheds="block cyclic dynamic master"
[ -n "${MR_TEST_SANITIZED:-}" ] && scheds="block master" # memory errors, not cases
for np in 3; do
    for s in $scheds; do
        expect_fail 1 "rank [0-9]+ on [^,]+, map: $T/boom.py:7: in map, task 7 \(7\): ZeroDivisionError: integer division or modulo by zero" \
            "np $np $s: exception in map names rank, task, file:line" $np python "$T/boom.py" --schedule $s
        check "np $np $s: no partial output" no_output
    done
done
check "the traceback's last lines are shown" grep -q "line 10, in map" "$T/err"
check "one error message" test "$(grep -c 'error: rank' "$T/err")" = 1
# the failing rank is the one that ran task 7: rank 1 of 2 under cyclic
expect_fail 1 "rank 1 on [^,]+, map: .*boom.py:7:" "cyclic np 2: task 7 fails on rank 1" \
    2 python "$T/boom.py" --schedule cyclic
run 2 python "$T/boom.py" --out "$T/boom.tsv"
check "a failed run leaves no --out file" test "$rc" = 1 -a ! -e "$T/boom.tsv"
expect_fail 2 "nowhere/x.tsv" "--out in a missing folder: exit 2, before any work" \
    2 python "$T/boom.py" --out "$T/nowhere/x.tsv"

# Unsupported types: the line of the yield or mr.emit() that made them.
cat >"$T/types.py" <<'PYEOF'
import mr
def map(line):
    if line == "three":
        yield line, {1, 2}
    yield line, 1
PYEOF
expect_fail 1 "map: $T/types.py:4: in map, task 0 \([^)]*in.txt[^)]*\): TypeError: unsupported value type set" \
    "unsupported value type: file and line of the yield" 2 python "$T/types.py" "$T/in.txt"
check "unsupported value: no output" no_output
cat >"$T/keytype.py" <<'PYEOF'
import mr
def map(line):
    mr.emit([1, {}], 1)
PYEOF
expect_fail 1 "keytype.py:3: in map.*TypeError: unsupported key type dict" \
    "unsupported key type from mr.emit(): its line" 1 python "$T/keytype.py" "$T/in.txt"
cat >"$T/npkey.py" <<'PYEOF'
import numpy as np
def map(line):
    return [(np.zeros(2), 1)]
PYEOF
expect_fail 1 "npkey.py:2: in map.*unsupported key type numpy.ndarray" \
    "an array as a key is refused (map's line when map returned a list)" 1 python "$T/npkey.py" "$T/in.txt"
printf 'fold = "sum"\ndef map(line):\n    yield line, 0.5\n' >"$T/fsum.py"
expect_fail 1 "fsum.py:3: .*fold = \"sum\" takes int values, not float" \
    "fold sum refuses floats, saying why" 2 python "$T/fsum.py" "$T/in.txt"
printf 'def map(line):\n    return line\n' >"$T/notpairs.py"
expect_fail 1 "notpairs.py:1: in map.*map must return or yield \(key, value\) pairs, got str" \
    "map returning a str: says pairs are wanted" 1 python "$T/notpairs.py" "$T/in.txt"

# Errors in reduce, output and finish (rank 0: after the shuffle).
cat >"$T/late.py" <<'PYEOF'
import mr
options = {"where": ("reduce", "reduce, output or finish")}
def map(line):
    yield line, 1
def reduce(k, vs):
    if mr.options["where"] == "reduce" and k == "three":
        raise KeyError(k)
    return sum(vs)
def output(k, v):
    print(k, v)
    if mr.options["where"] == "output" and k == "three":
        raise ValueError("cannot print " + k)
def finish():
    if mr.options["where"] == "finish":
        raise RuntimeError("finish failed")
PYEOF
expect_fail 1 "reduce: $T/late.py:7: in reduce: KeyError: 'three'" "exception in reduce" \
    3 python "$T/late.py" "$T/in.txt"
check "reduce error: no output" no_output
expect_fail 1 "rank 0 on [^,]+, output: .*late.py:12: in output: ValueError: cannot print" \
    "exception in output" 2 python "$T/late.py" --where output "$T/in.txt"
check "exception in output after printing a line: no partial output" no_output
expect_fail 1 "late.py:15: in finish: RuntimeError: finish failed" "exception in finish" \
    2 python "$T/late.py" --where finish "$T/in.txt"

# Usage errors exit 2: a bad value for a script option, an unknown
# option, mr.UsageError from setup, no INPUT, no script, a missing script.
cat >"$T/opts.py" <<'PYEOF'
import mr
options = {"n": (3, "how many"), "ratio": (0.5, "a ratio"), "name": (None, "a name"), "v": (False, "verbose")}
def setup():
    if mr.options["n"] < 1:
        raise mr.UsageError(f"--n {mr.options['n']}: give 1 or more")
def map(line):
    yield line, (mr.options["n"], mr.options["ratio"], mr.options["name"], mr.options["v"])
PYEOF
expect_fail 2 "option --n: 'abc' is not an integer" "bad int for a script option: exit 2" \
    2 python "$T/opts.py" --n abc "$T/in.txt"
expect_fail 2 "unknown option '--nope'" "unknown script option: exit 2" 2 python "$T/opts.py" --nope "$T/in.txt"
expect_fail 2 "ranks 0-2, setup: --n 0: give 1 or more" "mr.UsageError in setup: exit 2, once" \
    3 python "$T/opts.py" --n 0 "$T/in.txt"
check "usage error printed once" test "$(grep -c 'give 1 or more' "$T/err")" = 1
expect_fail 2 "no INPUT" "no input: exit 2" 2 python "$T/opts.py"
expect_fail 2 "no script" "no script: exit 2" 1 python
expect_fail 2 "cannot read the script.*missing.py" "missing script: exit 2" 1 python "$T/missing.py" "$T/in.txt"
run 2 python "$T/opts.py" --n 4 --ratio 2.5 --name x --v "$T/in.txt"
printf 'one two\t4\t2.5\tx\t1\nthree\t4\t2.5\tx\t1\n' >"$T/opts.want"
check "script options reach the script (int, float, str, flag)" cmp -s "$T/out" "$T/opts.want"
run 1 python "$T/opts.py" --help
check "--help lists the script's options" grep -q -- "--ratio X *a ratio (default: 0.5)" "$T/out"
printf 'options = {"stats": (1, "clashes")}\ndef map(l):\n    pass\n' >"$T/clash.py"
expect_fail 1 "clash.py.*--stats is an option of mr-run itself" "a script option may not shadow the engine's" \
    1 python "$T/clash.py" "$T/in.txt"
# --list loads every job: the python job registers without a script and
# without starting Python.
run 1 --list
check "mr-run --list lists the python job" grep -Eq "^  python +a job written in Python" "$T/out"
check "mr-run --list: no warning about it" test "$(grep -c python "$T/err")" = 0
mr_done
