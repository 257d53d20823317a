#!/usr/bin/env bash
# Seeing a run: --stats, --stats-json, --trace, the progress report, and
# tools/mr-plot, on real multi-rank runs.
. "$MR_SOURCE_DIR/tests/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to parse JSON"; exit 0; }

for np in 1 3; do
    run $np skewfold --tasks 24 --pairs 3000 --stats --stats-json "$T/s.json" --trace "$T/t.json"
    check "np $np: run with --stats/--stats-json/--trace exits 0" test "$rc" = 0
    check "np $np: --stats prints the phase table" grep -Eq '^mr: shuffle +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+$' "$T/err"
    check "np $np: --stats names the slowest tasks" grep -q '^mr: slow task ' "$T/err"
    check "np $np: stats JSON: a record per rank and per task" python3 - "$T/s.json" "$np" <<'PY'
import json, sys
s = json.load(open(sys.argv[1])); np = int(sys.argv[2])
assert s["ranks"] == np and len(s["rank_stats"]) == np
assert sorted(t["id"] for t in s["task_stats"]) == list(range(24))
assert {p["name"] for p in s["phases"]} >= {"map", "shuffle", "reduce", "output"}
assert s["imbalance"] >= 1.0 and s["pairs_emitted"] == 24 * 3000
assert all(r["busy"] >= 0 and r["tasks"] >= 0 for r in s["rank_stats"])
# The peak resident size by each phase's end, per rank and the largest: a
# live process holds a few MiB at least, a peak never falls, and the
# largest is some rank's.
names = [p["name"] for p in s["phases"]]
for r in s["rank_stats"]:
    assert set(r["peak_rss"]) == set(names)
    peaks = [r["peak_rss"][n] for n in names]
    assert all(v > (1 << 20) for v in peaks), r["peak_rss"]
    assert peaks == sorted(peaks), r["peak_rss"]
for p in s["phases"]:
    assert p["peak_rss_max"] == max(r["peak_rss"][p["name"]] for r in s["rank_stats"])
PY
    check "np $np: trace: a track per rank, a span per task, phases and waits" python3 - "$T/t.json" "$np" <<'PY'
import json, sys
t = json.load(open(sys.argv[1])); np = int(sys.argv[2])
ev = t["traceEvents"]
tracks = {e["tid"] for e in ev if e.get("name") == "thread_name"}
assert tracks == set(range(np)), tracks
tasks = [e for e in ev if e.get("cat") == "task"]
assert sorted(int(e["name"].split()[1]) for e in tasks) == list(range(24))
assert all(e["ph"] == "X" and e["dur"] >= 0 and e["tid"] in tracks for e in tasks)
phases = {(e["tid"], e["name"]) for e in ev if e.get("cat") == "phase"}
assert all((r, "map") in phases for r in range(np))
assert any(e.get("cat") == "wait" for e in ev)
PY
done

# Clocks: every task lies within its rank's map phase.
check "trace: tasks nest inside their rank's map phase" python3 - "$T/t.json" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
maps = {e["tid"]: (e["ts"], e["ts"] + e["dur"]) for e in ev if e.get("cat") == "phase" and e["name"] == "map"}
for e in ev:
    if e.get("cat") == "task":
        a, b = maps[e["tid"]]
        assert a - 1 <= e["ts"] and e["ts"] + e["dur"] <= b + 1, (e, a, b)
PY

# A job's describe (ABI 1.2): wordcount names its tasks by path, a group
# of small files as FIRST .. LAST (N files), one file with its byte range.
mkdir -p "$T/docs"
for i in 1 2 3 4 5 6; do echo "alpha beta $i" >"$T/docs/f$i.txt"; done
echo "gamma delta" >"$T/one.txt"
run 2 wordcount --stats "$T/docs"
check "describe: a group of files is FIRST .. LAST (N files)" \
    grep -Eq "^mr: slow task [0-9]+ on rank [0-9]: [0-9.]+ s  $T/docs/f1.txt .. $T/docs/f6.txt \(6 files\)$" "$T/err"
run 1 wordcount --stats "$T/one.txt"
check "describe: one file with its byte range" \
    grep -Eq "^mr: slow task .* $T/one.txt bytes 0-12$" "$T/err"

# Progress: plain lines (stderr is not a terminal), on rank 0 only.
MR_PROGRESS_AFTER=0.1 MR_PROGRESS_INTERVAL=0.2 run 2 skew --tasks 12 --pairs 10 --sleep-ms 150
check "progress: plain lines with tasks, MB/s and ETA" grep -Eq '^mr: map [0-9]+/12 tasks, [0-9.]+ MB, [0-9.]+ MB/s, ETA ' "$T/err"
check "progress: a final line with all tasks done" grep -Eq '^mr: map 12/12 tasks' "$T/err"
MR_PROGRESS_AFTER=0.1 MR_PROGRESS_INTERVAL=0.2 run 2 skew --tasks 12 --pairs 10 --sleep-ms 150 --quiet
check "--quiet: no progress lines" bash -c "! grep -q '^mr: map' '$T/err'"
MR_PROGRESS_AFTER=0.1 MR_PROGRESS_INTERVAL=0.2 run 3 skew --tasks 12 --pairs 10 --sleep-ms 100 --schedule master
check "progress under master (rank 0 serving)" grep -Eq '^mr: map 12/12 tasks' "$T/err"

# Unwritable --stats-json: refused before any work, exit 2.
expect_fail 2 "no-such-dir/s.json: cannot write there" "unwritable --stats-json refused" \
    2 skewfold --tasks 2 --stats-json "$T/no-such-dir/s.json"

# mr-plot: PNG files a viewer opens (PNG signature, non-trivial size).
if command -v gnuplot >/dev/null; then
    "$MR_SOURCE_DIR/tools/mr-plot" "$T/s.json" "$T/plots" >/dev/null 2>&1
    for p in ranks tasks; do
        check "mr-plot: $p.png is a PNG" bash -c "head -c 8 '$T/plots/$p.png' | od -An -c | grep -q 'P   N   G'"
    done
    check "mr-plot: ranks.csv has a row per rank" test "$(wc -l <"$T/plots/ranks.csv")" = 4
else
    echo "# gnuplot missing: mr-plot PNG checks skipped"
fi

mr_done
