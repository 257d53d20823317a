#!/usr/bin/env bash
# mandelbrot.sh -- end-to-end tests of the mandelbrot job under mpirun.
#
# The image and the counts must be byte-identical at 1..4 and 8 ranks and
# under every schedule (also with a tiny shuffle round), right against an
# independent recomputation (check_mandel), the same with every kernel;
# bad input must stop the run before any work, with a clear message and
# no file left; --profile must write its CSVs with the expected columns
# and row counts.
source "$MR_SOURCE_DIR/tests/lib.sh"
CHECK="$MR_BUILD_DIR/tests/check_mandel"
SCHEDS="block cyclic dynamic master"
# Small enough for 40-odd runs, with tails in every vector block (W = 157)
# and a last tile shorter than the others (H = 101, tile 4).
W=157 H=101 M=300 REGION=-2,1,-1,1
SMALL=(mandelbrot --width $W --height $H --max-iter $M --tile 4)

# 1. Image and counts together (the PNG goes through a temporary file),
#    compared byte for byte; stdout (the summary line) too.
OUTFILE="$T/img.png" same_output "png" "1 2 3 4 8" "$SCHEDS" \
    "${SMALL[@]}" --out "$T/img.png" --counts "$T/both.npy"
check "PNG and counts right (check_mandel)" \
    "$CHECK" "$T/img.png" "$T/both.npy" $W $H $REGION $M

# NumPy itself reads the counts, if some python3 here has it.
for py in python3 /usr/bin/python3; do
    if "$py" -c 'import numpy' 2>/dev/null; then
        check "numpy.load reads the counts: int32 ($H, $W), range 1..$M" "$py" -c "
import numpy as np, sys
a = np.load(sys.argv[1])
assert a.dtype == np.int32 and a.shape == ($H, $W), (a.dtype, a.shape)
assert a.min() >= 1 and a.max() == $M
" "$T/both.npy"
        break
    fi
done

# 2. Counts alone (streamed straight into the atomic file), tiny shuffle
#    rounds so that rows cross in many rounds.
OUTFILE="$T/c.npy" same_output "counts" "1 3 8" "$SCHEDS" \
    "${SMALL[@]}" --out '' --counts "$T/c.npy" --shuffle-round 300
check "counts alone equal counts next to the image" cmp -s "$T/c.npy" "$T/both.npy"
check "no image written with --out ''" test ! -e "$T/mandelbrot.png"

# 3. Every kernel, and one-row tiles, give the same counts (the sanitizer
# pass: the plain loop and one vector kernel).
kernels="scalar sse2 avx2 avx512"
[ -n "${MR_TEST_SANITIZED:-}" ] && kernels="scalar avx2"
for k in $kernels; do
    run 2 "${SMALL[@]}" --tile 1 --out '' --counts "$T/k.npy" --kernel $k
    if [ "$rc" = 2 ] && grep -q "cannot run it" "$T/err"; then
        echo "ok - kernel $k: not supported by this CPU (skipped)"
        continue
    fi
    check "kernel $k: exit 0" test "$rc" = 0
    check "kernel $k: same counts" cmp -s "$T/k.npy" "$T/both.npy"
done

# 4. A non-default view and a larger image, checked from outside.
run 3 mandelbrot --width 333 --height 211 --region=-0.75,-0.7,0.1,0.14 \
    --max-iter 2000 --tile 7 --out "$T/zoom.png" --counts "$T/zoom.npy"
check "zoomed view: exit 0" test "$rc" = 0
check "zoomed view right (check_mandel)" \
    "$CHECK" "$T/zoom.png" "$T/zoom.npy" 333 211 -0.75,-0.7,0.1,0.14 2000

# 5. The default output name, in the current folder.
mkdir "$T/cwd"
(cd "$T/cwd" && run 2 mandelbrot --width 64 --height 48 && test "$rc" = 0) &&
    [ -s "$T/cwd/mandelbrot.png" ] && ok "default --out mandelbrot.png" ||
    not_ok "default --out mandelbrot.png"

# 6. Bad input: exit 2, a message that says what is wrong, no file left.
bad() {
    local pat=$1 what=$2; shift 2
    rm -f "$T/bad.png" "$T/bad.npy"
    expect_fail 2 "$pat" "$what" 2 mandelbrot --width 64 --height 48 \
        --out "$T/bad.png" --counts "$T/bad.npy" "$@"
    check "$what: no output file" test ! -e "$T/bad.png" -a ! -e "$T/bad.npy"
}
bad "inverted or empty" "inverted region" --region 1,-2,-1,1
bad "inverted or empty" "empty region" --region -1,1,0.5,0.5
bad "want four numbers" "malformed region" --region -2,1,-1
bad "want four numbers" "non-numeric region" --region a,b,c,d
bad "--width must be between 1" "zero width" --width 0
bad "--height must be between 1" "negative height" --height -5
bad "--max-iter must be between 1" "max-iter 0" --max-iter 0
bad "--tile must be between 1" "tile 0" --tile 0
bad "needs about [0-9]+ bytes.*memory budget" "image over the memory budget" \
    --width 200000 --height 200000
bad "needs about 4930560 bytes" "image over an explicit budget" \
    --width 640 --height 480 --mem-budget 1M
# A row is one record: one wider than the engine's 256 MiB is refused at
# setup, not after seconds of work in map.
bad "--width 100000000 makes rows of 381 MiB: a row is one record, and records are at most 256 MiB" \
    "a row over the record limit" --width 100000000 --height 1
check "... refused in setup, before any map work" grep -q ", setup: --width 100000000 makes rows" "$T/err"
bad "cannot write there" "image in a missing folder" --out "$T/no/such/x.png"
bad "cannot write there" "counts in a missing folder" --counts "$T/no/x.npy"
bad "cannot create the folder" "profile in a missing folder" \
    --profile "$T/no/such/dir"
bad "same file" "image and counts on one path" --counts "$T/bad.png"
bad "--kernel avx9" "unknown kernel" --kernel avx9
check "nothing left behind in $T" \
    test -z "$(find "$T" -maxdepth 1 \( -name '.*tmp*' -o -name 'bad*' \))"

# 7. --profile: the study's files, columns and row counts.
P="$T/prof"
run 3 "${SMALL[@]}" --tile 7 --schedule block --out '' --profile "$P" \
    --profile-stride 5
check "profile run: exit 0" test "$rc" = 0
ntasks=$(( (H + 6) / 7 ))
nsamples=$(( ((H + 4) / 5) * ((W + 4) / 5) ))
header() { head -1 "$P/$1" | grep -qx "$2"; }
rows() { [ "$(($(wc -l <"$P/$1") - 1))" = "$2" ]; }
check "tasks.csv columns" header tasks.csv \
    "task,rank,first_row,rows,pixels,iterations,start_s,end_s,wall_s,cpu_s"
check "tasks.csv: one line per task ($ntasks)" rows tasks.csv $ntasks
check "tasks.csv: ranks 0..2, every row once" awk -F, -v H=$H '
    NR > 1 { if ($2 < 0 || $2 > 2 || $9 < 0 || $10 < 0) exit 1; n += $4 }
    END { exit n != H }' "$P/tasks.csv"
check "ranks.csv columns" header ranks.csv \
    "rank,tasks,pixels,iterations,busy_s,cpu_s,idle_s"
check "ranks.csv: one line per rank" rows ranks.csv 3
check "ranks.csv: pixels add up to W*H" awk -F, -v P=$((W * H)) '
    NR > 1 { n += $3 } END { exit n != P }' "$P/ranks.csv"
check "pixel_times.csv columns" header pixel_times.csv "row,col,count,ns"
check "pixel_times.csv: $nsamples samples" rows pixel_times.csv $nsamples
check "iterations.csv columns" header iterations.csv "lo,hi,pixels"
check "iterations.csv: all W*H pixels, counts 1..M" awk -F, -v P=$((W * H)) \
    -v M=$M 'NR > 1 { n += $3; if ($1 < 1 || $2 > M) exit 1 }
    END { exit n != P }' "$P/iterations.csv"
check "summary.csv: imbalance ratios >= 1" awk -F, '
    $1 ~ /^imbalance/ { if ($2 < 1) exit 1; n++ }
    END { exit n != 3 }' "$P/summary.csv"
check "summary.csv: tasks" grep -qx "tasks,$ntasks" "$P/summary.csv"
if command -v gnuplot >/dev/null; then
    for p in pixel_times iterations tasks ranks; do
        check "plot $p.png" test -s "$P/$p.png"
    done
else
    check "no gnuplot: plots skipped, said so" grep -q "plots skipped" "$T/err"
fi

# 8. --report names the kernel and the imbalance, on stderr only.
run 2 "${SMALL[@]}" --out '' --report
check "report on stderr" grep -q "mandelbrot: kernel .* lanes" "$T/err"
check "report: imbalance" grep -q "imbalance (max/mean busy)" "$T/err"
check "stdout: the summary line only" test "$(wc -l <"$T/out")" = 1

# 9. The module exports only its init function.
so="$MR_BUILD_DIR/lib/mr/jobs/mandelbrot.so"
check "exports only mr_job_mandelbrot_init" test \
    "$(nm -D --defined-only "$so" | awk '{print $3}' | grep -v '^_' | sort | tr '\n' ' ')" \
    = "mr_job_mandelbrot_init "

mr_done
