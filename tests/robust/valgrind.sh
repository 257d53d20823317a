#!/usr/bin/env bash
# Promise 4: valgrind memcheck, zero errors from our code, on the serial
# unit tests and on single-rank runs of every job. Suppressions name only
# Open MPI's libraries (tests/valgrind.supp, plus Open MPI's own file).
. "$MR_SOURCE_DIR/tests/lib.sh"
command -v valgrind >/dev/null || { echo "SKIP: valgrind is not installed"; exit 0; }
export OMPI_MCA_mca_base_component_disable_dlclose=1 OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
supp=(--suppressions="$MR_SOURCE_DIR/tests/valgrind.supp")
[ -f /usr/share/openmpi/openmpi-valgrind.supp ] && supp+=(--suppressions=/usr/share/openmpi/openmpi-valgrind.supp)
# A forked child that does not exec (the plugin probe) holds a copy of the
# parent's heap: its leak report says nothing, so it is silenced.
vg() { # WHAT COMMAND...: memcheck, errors and definite/indirect leaks fail
    local what=$1; shift
    rc=0
    timeout 300 valgrind -q --child-silent-after-fork=yes --error-exitcode=99 "${supp[@]}" --leak-check=full \
        --errors-for-leak-kinds=definite,indirect "$@" >"$T/out" 2>"$T/err" || rc=$?
    if [ "$rc" = 0 ]; then ok "valgrind: $what"; else
        not_ok "valgrind: $what (exit $rc)"; grep -v 'hwloc\|May be re\|reloading them' "$T/err" | head -30 | sed 's/^/#   /'
    fi
}

for t in "$MR_BUILD_DIR"/tests/test_*; do
    [ -x "$t" ] && vg "$(basename "$t")" "$t"
done

jobs=$MR_BUILD_DIR/lib/mr/jobs
vg "mr-run hello" "$MR_RUN" hello
for j in skew skewfold skewcomb; do
    vg "mr-run $j" "$MR_RUN" $j --tasks 6 --pairs 2000 --out "$T/$j.tsv"
done
[ -e "$jobs/wordcount.so" ] && vg "mr-run wordcount" "$MR_RUN" wordcount --out "$T/wc.tsv" "$MR_SOURCE_DIR/corpus"
[ -e "$jobs/matmul.so" ] && vg "mr-run matmul" "$MR_RUN" matmul --m 70 --k 33 --n 45 --block 16 --verify --out "$T/c.npy"
[ -e "$jobs/mandelbrot.so" ] && vg "mr-run mandelbrot" "$MR_RUN" mandelbrot --width 96 --height 64 --out "$T/m.png"
mr_done
