#!/usr/bin/env bash
# jobs.sh -- every job on 3 pretend hosts x 2 ranks (tools/mr-cluster, TCP
# between hosts, Debian's stock Open MPI settings) gives byte for byte what
# it gives on this host alone (2 ranks, tools/mr-mpirun), at every
# schedule: stdout and the --out files of wordcount (a folder, one big file
# cut into byte ranges, .gz files), matmul (generated, and NumPy's .npy
# files, with --verify), mandelbrot (PNG and counts) and stream.
# Inputs are a few MB: 6 ranks on 2 cores are slow.
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"
export LC_ALL=C
GEN=$MR_BUILD_DIR/bin/mr-gencorpus
SCHEDS="block cyclic dynamic master"

cluster_up 3

# Inputs, deterministic, sized for several map tasks (about 1 MiB each:
# small files are grouped, a big file is cut into byte ranges, each .gz is
# one task): 120 files (6 MB), one 8 MB file, 6 generated .gz files and the
# shipped corpus's.
"$GEN" --size 6M --files 120 --seed 7 "$T/docs" >/dev/null
"$GEN" --size 8M --files 1 --seed 8 "$T/big.txt" >/dev/null
"$GEN" --size 3M --files 6 --gzip --seed 9 "$T/gz" >/dev/null
cp "$MR_SOURCE_DIR/corpus/jargon-file.txt.gz" "$T/gz/"
check "inputs made" test -s "$T/big.txt" -a "$(find "$T/docs" -type f | wc -l)" = 120 \
    -a "$(find "$T/gz" -name '*.gz' | wc -l)" = 7

same_as_local "wordcount folder" "$SCHEDS" "$T/wc.tsv" \
    wordcount --top 20 --out "$T/wc.tsv" "$T/docs"
same_as_local "wordcount big file" "$SCHEDS" "$T/wc.tsv" \
    wordcount --out "$T/wc.tsv" "$T/big.txt"
same_as_local "wordcount .gz files" "$SCHEDS" "$T/wc.tsv" \
    wordcount --tokens whitespace --out "$T/wc.tsv" "$T/gz"

# matmul: generated, non-square with short edge blocks (30 tasks)
same_as_local "matmul generated 300x200x250" "$SCHEDS" "$T/c.npy" \
    matmul --m 300 --k 200 --n 250 --block 48 --verify --out "$T/c.npy"
# matmul from NumPy's files (C and Fortran order), if some python3 here
# has NumPy (tools/setup-deps installs python3-numpy)
PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then PY=$p; break; fi
done
if [ -n "$PY" ]; then
    "$PY" - "$T" <<'EOP'
import sys
import numpy as np
rng = np.random.default_rng(11)
np.save(sys.argv[1] + "/a.npy", rng.standard_normal((180, 220)))
np.save(sys.argv[1] + "/b.npy", np.asfortranarray(rng.uniform(-2, 2, (220, 140))))
EOP
    check "numpy wrote a.npy and b.npy" test -s "$T/a.npy" -a -s "$T/b.npy"
    same_as_local "matmul .npy 180x220 x 220x140" "$SCHEDS" "$T/c.npy" \
        matmul --a "$T/a.npy" --b "$T/b.npy" --block 40 --verify --out "$T/c.npy"
else
    echo "# skip: matmul from .npy files: no python3 with numpy (Debian: python3-numpy)"
fi

# mandelbrot: the PNG and the counts (26 tiles, the last one short)
same_as_local "mandelbrot" "$SCHEDS" "$T/m.png $T/m.npy" \
    mandelbrot --width 157 --height 101 --max-iter 300 --tile 4 \
    --out "$T/m.png" --counts "$T/m.npy"

# stream: awk mapper, combiner and reducer on the folder
S=$MR_SOURCE_DIR/tests/stream
same_as_local "stream word count" "$SCHEDS" "$T/st.tsv" \
    stream --mapper "awk -f '$S/wc_map.awk'" --combiner "awk -f '$S/wc_reduce.awk'" \
    --reducer "awk -f '$S/wc_reduce.awk'" --out "$T/st.tsv" "$T/docs"
check "stream's table is not empty" test "$(wc -l <"$T/ref.1")" -gt 1000

mr_done
