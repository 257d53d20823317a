#!/usr/bin/env bash
# sdk.sh -- the job SDK as a user meets it (docs/writing-a-job.md): install
# mr into a temporary prefix (then move the prefix, since the install
# claims to be relocatable), build the example job docs/examples/invindex
# out of tree both ways (cc with pkg-config; CMake with find_package(mr)),
# and run it at 2 ranks with the INSTALLED mr-run, through MR_JOB_PATH and
# through --plugin, on a few small documents with a known index.
#
# Usage (ctest): sdk.sh CMAKE CC
source "$MR_SOURCE_DIR/tests/lib.sh"
CMAKE=${1:-cmake}
CC=${2:-cc}
export LC_ALL=C
EX="$MR_SOURCE_DIR/docs/examples/invindex"

# 1. Install, then move the prefix: nothing may point at the old place.
rc=0
"$CMAKE" --install "$MR_BUILD_DIR" --prefix "$T/stage" >"$T/install.log" 2>&1 || rc=$?
check "cmake --install into a temporary prefix: exit $rc" test "$rc" = 0
mv "$T/stage" "$T/prefix"
P="$T/prefix"
for f in bin/mr-run lib/libmr.so include/mr/mr_job.h include/mr/mr_input.h \
    lib/pkgconfig/mr.pc lib/cmake/mr/mrConfig.cmake lib/mr/jobs/stream.so; do
    check "installed $f" test -e "$P/$f"
done
check "installed mr-run uses the installed libmr" \
    grep -q "$P/bin/../lib/libmr.so\|$P/lib/libmr.so" <(ldd "$P/bin/mr-run")

# The installed mr-run finds the installed jobs with no environment.
rc=0
env -u MR_JOB_PATH "$P/bin/mr-run" --list >"$T/list" 2>&1 || rc=$?
check "installed mr-run --list: exit $rc" test "$rc" = 0
for job in hello stream wordcount; do
    check "installed mr-run lists $job without MR_JOB_PATH" \
        grep -Eq "^  $job " "$T/list"
done
check "it searched the installed job folder" \
    grep -q "searched: .*$P/bin/../lib/mr/jobs\|searched: .*$P/lib/mr/jobs" "$T/list"

# 2. Build the example out of tree, both ways.
mkdir "$T/cc" "$T/docs" "$T/docs/more"
rc=0
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
(
    cd "$T/cc" &&
        PKG_CONFIG_PATH="$P/lib/pkgconfig" &&
        export PKG_CONFIG_PATH &&
        "$CC" -shared -fPIC -Wall -Wextra -Werror "$EX/invindex.c" \
            $(pkg-config --cflags --libs mr) -o invindex.so
) >"$T/cc.log" 2>&1 || rc=$?
check "cc -shared -fPIC invindex.c \$(pkg-config --cflags --libs mr): exit $rc" \
    test "$rc" = 0
sed 's/^/#   /' "$T/cc.log" | head -20

rc=0
{
    CMAKE_PREFIX_PATH="$P" "$CMAKE" -S "$EX" -B "$T/cm" &&
        "$CMAKE" --build "$T/cm"
} >"$T/cm.log" 2>&1 || rc=$?
check "cmake with find_package(mr) and mr_add_job: exit $rc" test "$rc" = 0
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/cm.log" | tail -20
check "CMake build made invindex.so" test -f "$T/cm/invindex.so"
for so in "$T/cc/invindex.so" "$T/cm/invindex.so"; do
    check "${so#"$T"/}: exports only mr_job_invindex_init" test \
        "$(nm -D --defined-only "$so" 2>/dev/null | awk '{ print $3 }')" = \
        mr_job_invindex_init
done

# 3. A few documents with a known index: case folded, punctuation split,
# a word twice in one document listed once, a folder walked in order, a
# .gz document, words shorter than --min-length left out.
printf 'The cat sat on the mat.\nThe END\n' >"$T/docs/a.txt"
printf 'the dog, the CAT and the cat!\n' >"$T/docs/b.txt"
printf 'Dogs and cats: 2 dogs.' >"$T/docs/more/c.txt"
printf 'A mat for a dog\n' | gzip -c >"$T/docs/more/d.txt.gz"
cat >"$T/want" <<'EOF'
2	more/c.txt
a	more/d.txt.gz
and	b.txt	more/c.txt
cat	a.txt	b.txt
cats	more/c.txt
dog	b.txt	more/d.txt.gz
dogs	more/c.txt
end	a.txt
for	more/d.txt.gz
mat	a.txt	more/d.txt.gz
on	a.txt
sat	a.txt
the	a.txt	b.txt
EOF
# The documents are named by their paths as walked from the arguments.
sed 's/\t/\t.\//g' "$T/want" >"$T/want.dot"

# irun NP ARGS...: the INSTALLED mr-run under mpirun, from the documents'
# folder.
irun() {
    local np=$1; shift
    rc=0
    (cd "$T/docs" && timeout -k 5 120 "$MR_MPIRUN" "$np" "$P/bin/mr-run" "$@") \
        >"$T/out" 2>"$T/err" || rc=$?
}

MR_JOB_PATH="$T/cm" irun 2 invindex a.txt b.txt more
check "MR_JOB_PATH, np 2: exit $rc" test "$rc" = 0
check "MR_JOB_PATH, np 2: the index" cmp -s "$T/want" "$T/out"
[ "$rc" = 0 ] || sed 's/^/#   /' "$T/err" | head
diff "$T/want" "$T/out" | head | sed 's/^/#   /'

MR_JOB_PATH="" irun 2 --plugin "$T/cc/invindex.so" a.txt b.txt more
check "--plugin, np 2: exit $rc" test "$rc" = 0
check "--plugin, np 2: the index" cmp -s "$T/want" "$T/out"

MR_JOB_PATH="$T/cc" irun 2 invindex --out "$T/ix.tsv" --schedule cyclic .
check "--out, a folder argument: exit $rc" test "$rc" = 0
check "--out: the index, documents named ./..." cmp -s "$T/want.dot" "$T/ix.tsv"
check "--out: nothing on stdout" test ! -s "$T/out"

MR_JOB_PATH="$T/cm" irun 2 invindex --min-length 4 a.txt b.txt more
check "--min-length 4" test "$(cut -f1 "$T/out" | tr '\n' ' ')" = "cats dogs "

MR_JOB_PATH="$T/cm" irun 2 invindex --min-length 0 a.txt
check "bad option value: exit 2 and the job's message" \
    test "$rc" = 2 -a -n "$(grep -F -- '--min-length 0: give 1 to 64' "$T/err")"
MR_JOB_PATH="$T/cm" irun 2 invindex a.txt no-such.txt
check "missing input: exit 1, named" \
    test "$rc" = 1 -a -n "$(grep -F 'no-such.txt' "$T/err")"
mr_done
