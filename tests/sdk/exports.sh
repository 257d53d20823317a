#!/usr/bin/env bash
# exports.sh -- every job module in the build's job folder exports exactly
# one dynamic symbol, its entry mr_job_<name>_init (nm -D --defined-only):
# everything else stays hidden, so modules never clash with each other or
# with libmr. Nothing is filtered out: Debian 12's gcc and ld put no
# _init/_fini (or any other symbol) in a module's dynamic symbol table, and
# a toolchain that did would show up here first.
source "$MR_SOURCE_DIR/tests/lib.sh"
n=0
for so in "$MR_BUILD_DIR"/lib/mr/jobs/*.so; do
    [ -e "$so" ] || continue
    name=$(basename "$so" .so)
    got=$(nm -D --defined-only "$so" | awk '{ print $NF }' | sort | tr '\n' ' ')
    check "$name.so exports only mr_job_${name}_init (got: $got)" \
        test "$got" = "mr_job_${name}_init "
    n=$((n + 1))
done
# The built-in jobs are there (the glob did not come back empty).
for job in hello stream; do
    check "$job.so is among the modules" test -e "$MR_BUILD_DIR/lib/mr/jobs/$job.so"
done
check "$n modules checked" test "$n" -ge 2
# libmr: every exported function has a symbol version (framework/libmr.map),
# so that a job built against a newer mr is refused with the versions.
lib=$(ls "$MR_BUILD_DIR"/lib/libmr.so.1 2>/dev/null || ls "$MR_BUILD_DIR"/lib*/libmr.so.1)
unversioned=$(objdump -T "$lib" | awk '$4 == ".text" && $NF ~ /^mr_/ && $(NF-1) !~ /^MR_1\./ {print $NF}' | tr '\n' ' ')
check "libmr exports only versioned mr_ symbols (unversioned: ${unversioned:-none})" test -z "$unversioned"
others=$(objdump -T "$lib" | awk '$4 == ".text" && $NF !~ /^mr_/ {print $NF}' | tr '\n' ' ')
check "libmr exports nothing but mr_ symbols (others: ${others:-none})" test -z "$others"
nver=$(objdump -T "$lib" | awk '$4 == ".text" && $(NF-1) ~ /^MR_1\./' | wc -l)
check "libmr exports $nver versioned functions" test "$nver" -ge 40
mr_done
