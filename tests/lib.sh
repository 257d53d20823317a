# tests/lib.sh -- helpers for the shell tests run by ctest (source it).
#
# ctest sets MR_RUN (build/bin/mr-run), MR_MPIRUN (tools/mr-mpirun),
# MR_SOURCE_DIR, MR_BUILD_DIR and MR_JOB_PATH. Each test gets a fresh
# temporary folder $T, removed on exit. Tests print "ok - ..." / "not ok -
# ..." lines and end with mr_done, which exits non-zero if anything failed.
set -u
: "${MR_RUN:?run me through ctest}" "${MR_MPIRUN:?}" "${MR_SOURCE_DIR:?}"
T=$(mktemp -d "${TMPDIR:-/tmp}/mrtest.XXXXXX")
# Open MPI's shared-memory segments (vader_segment.*) go to a folder of
# the test's own: runs that a test kills on purpose cannot unlink theirs,
# and they would pile up in /dev/shm (RAM) from one test run to the next.
# (tests/batch unsets it: the scheduler's daemons outlive the test.)
MR_SHM=$(mktemp -d /dev/shm/mrtest.XXXXXX 2>/dev/null || mktemp -d "$T/shm.XXXXXX")
export OMPI_MCA_btl_vader_backing_directory=$MR_SHM
trap 'rm -rf "$T" "$MR_SHM"' EXIT
if [ -n "${MR_TEST_SANITIZED:-}" ]; then
    # A leak check at exit on one rank of each run, in turn (tests/leak-rank).
    export MR_MPIRUN=$MR_SOURCE_DIR/tests/leak-rank MR_LEAK_RUNS=$T/.leak-runs
fi
mr_failed=0
mr_passed=0

ok()     { mr_passed=$((mr_passed + 1)); echo "ok - $*"; }
not_ok() { mr_failed=$((mr_failed + 1)); echo "not ok - $*"; }
check()  { local what=$1; shift; if "$@"; then ok "$what"; else not_ok "$what"; fi; }

# run NP ARGS...: mr-run under mpirun with NP ranks; stdout to $T/out,
# stderr to $T/err, exit status in $rc. Bounded by `timeout`, so a hang
# shows up as rc 124.
run() {
    local np=$1; shift
    rc=0
    timeout -k 5 "${MR_TIMEOUT:-120}" "$MR_MPIRUN" "$np" "$MR_RUN" "$@" \
        >"$T/out" 2>"$T/err" || rc=$?
    [ "$rc" = 0 ] || mr_symbolize "$T/err"
}

# mr_symbolize FILE: names the frames of the sanitizer reports in FILE
# ("#3 0x... (/path/mr-run+0x1f2e)" gets "in func file:line"). The
# sanitizer pass runs with symbolize=0 (tools/test): the leak check's
# suppressions match by library name, and the symbolizer that the
# sanitizers would start in every process costs about 0.3 s a run.
mr_symbolize() {
    local f=$1 line fn loc
    grep -q 'Sanitizer' "$f" 2>/dev/null && command -v llvm-symbolizer >/dev/null ||
        return 0
    while IFS= read -r line; do
        if [[ $line =~ ^(.*#[0-9]+\ 0x[0-9a-f]+)\ +\((.+)\+(0x[0-9a-f]+)\)$ ]]; then
            { read -r fn; read -r loc; } < <(llvm-symbolizer \
                --obj="${BASH_REMATCH[2]}" "${BASH_REMATCH[3]}" 2>/dev/null)
            line="${BASH_REMATCH[1]} in ${fn:-?} ${loc:-} (${BASH_REMATCH[2]}+${BASH_REMATCH[3]})"
        fi
        printf '%s\n' "$line"
    done <"$f" >"$f.sym" && mv "$f.sym" "$f"
}

# expect_fail RC PATTERN WHAT NP ARGS...: the run exits with RC and its
# stderr matches the extended regex PATTERN.
expect_fail() {
    local want=$1 pat=$2 what=$3; shift 3
    run "$@"
    if [ "$rc" = "$want" ] && grep -Eq -- "$pat" "$T/err"; then
        ok "$what"
    else
        not_ok "$what (exit $rc, want $want; stderr:)"; sed 's/^/#   /' "$T/err" | head -20
    fi
}

# same_output NAME "NPS" "SCHEDULES" ARGS...: runs mr-run at every rank
# count and schedule; stdout (and the file named by $OUTFILE if set) must be
# byte-identical to the first run's.
same_output() {
    local name=$1 nps=$2 scheds=$3; shift 3
    local first="" np s pairs=() i=0
    local -a npa=($nps) sca=($scheds)
    if [ -n "${MR_TEST_SANITIZED:-}" ]; then
        # The sanitizer pass looks for memory errors, not for combinations
        # (the plain pass runs them all): each rank count and each schedule
        # once.
        for ((i = 0; i < ${#npa[@]} || i < ${#sca[@]}; i++)); do
            np=${npa[i < ${#npa[@]} ? i : ${#npa[@]} - 1]}
            pairs+=("$np ${sca[i % ${#sca[@]}]}")
        done
    else
        for np in $nps; do
            for s in $scheds; do
                pairs+=("$np $s")
            done
        done
    fi
    for i in "${pairs[@]}"; do
        np=${i% *} s=${i#* }
        run "$np" "$@" --schedule "$s"
        if [ "$rc" != 0 ]; then
            not_ok "$name: np $np schedule $s exit $rc"; sed 's/^/#   /' "$T/err" | head -20
            continue
        fi
        [ -n "${OUTFILE:-}" ] && cat "$OUTFILE" >>"$T/out"
        if [ -z "$first" ]; then
            first="np $np $s"; cp "$T/out" "$T/first"
        elif cmp -s "$T/first" "$T/out"; then
            ok "$name: np $np $s same as $first"
        else
            not_ok "$name: np $np $s differs from $first"
            diff "$T/first" "$T/out" | head -10 | sed 's/^/#   /'
        fi
    done
}

# combos "A1 A2" "B1 B2 B3" ...: words A:B:... for every combination; in
# the sanitizer pass (MR_TEST_SANITIZED), only enough that each value of
# each list comes once (as same_output does).
combos() {
    local -a lists=("$@") out=()
    local n=0 i k w
    for w in "$@"; do
        set -- $w
        [ $# -gt $n ] && n=$#
    done
    if [ -n "${MR_TEST_SANITIZED:-}" ]; then
        for ((i = 0; i < n; i++)); do
            w=""
            for k in "${lists[@]}"; do
                set -- $k
                local -a v=("$@")
                w+="${w:+:}${v[i % ${#v[@]}]}"
            done
            out+=("$w")
        done
    else
        out=("")
        for k in "${lists[@]}"; do
            local -a next=()
            for w in "${out[@]}"; do
                for i in $k; do next+=("${w:+$w:}$i"); done
            done
            out=("${next[@]}")
        done
    fi
    echo "${out[@]}"
}

mr_done() {
    echo "$mr_passed passed, $mr_failed failed"
    [ "$mr_failed" = 0 ]
}

# ranks_apart DIR: makes DIR and "$T/apart", a wrapper for the rank's
# command that, on every rank but 0, mounts a private tmpfs over DIR (a
# mount namespace of the rank's own) first: those ranks do not see what
# rank 0 writes there, as on hosts that share no file system. Use it as
# "$MR_MPIRUN" NP "$T/apart" "$MR_RUN" ... Fails where that cannot be done
# (not root, no mount namespaces).
ranks_apart() {
    [ "$(id -u)" = 0 ] && unshare -m true 2>/dev/null || return 1
    mkdir -p "$1"
    cat >"$T/apart" <<WRAP
#!/bin/sh
if [ "\${OMPI_COMM_WORLD_RANK:-0}" != 0 ]; then
    exec unshare -m sh -c 'mount -t tmpfs none "$1" && exec "\$@"' sh "\$@"
fi
exec "\$@"
WRAP
    chmod +x "$T/apart"
}
