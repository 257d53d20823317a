# shellcheck shell=bash
# tests/cluster/lib.sh -- helpers for the tests that run mr across pretend
# hosts (tools/mr-cluster: network namespaces on this machine). Source it
# instead of tests/lib.sh (it sources that one).
#
# Each test has a cluster of its own, named after the script and the build
# folder (state dir /tmp/mr-cluster-test.NAME-TAG, namespaces
# mrt-NAME-TAG-*, TAG from $MR_BUILD_DIR), so that what a killed test
# leaves cannot break another test, nor the same test run from another
# build folder at the same time; cluster_up first removes what the same
# test's last run left (ctest's timeout kills with SIGKILL, no trap runs
# then). `mr-cluster down` ALWAYS runs when the test ends: normal end,
# failure, SIGINT, SIGTERM, SIGHUP. Not root, or no namespaces here: "skip: ..."
# and exit 77 (the ctest property SKIP_RETURN_CODE 77).
#
# crun ARGS...: mr-run with ARGS on the cluster (mr-cluster mpirun -np
# $CNP, default 6), like tests/lib.sh's run: stdout in $T/out, stderr in
# $T/err, status in $rc, bounded by timeout (rc 124 on a hang).
# Nothing here sets OMPI_MCA_osc: the tests run on Debian's stock
# /etc/openmpi/openmpi-mca-params.conf.
source "$MR_SOURCE_DIR/tests/lib.sh"
set -euo pipefail
MRC=$MR_SOURCE_DIR/tools/mr-cluster
CNP=${CNP:-6}

if [ "$(id -u)" != 0 ]; then
    echo "skip: the cluster tests need root (network namespaces)"
    exit 77
fi
# Set, not inherited: a test must never take down a cluster of the user's.
mrc_name=${MRC_TEST_NAME:-$(basename "$0" .sh)}
mrc_tag=$(printf '%s' "${MR_BUILD_DIR:-}" | md5sum | cut -c1-6)
export MR_CLUSTER_DIR=/tmp/mr-cluster-test.$mrc_name-$mrc_tag
export MR_CLUSTER_NS=mrt-$mrc_name-$mrc_tag
unset MR_CLUSTER_PPN

mrc_bg=""      # the run in progress (timeout's pid), stopped first on a signal
mrc_armed=""   # set once the test may have made a cluster

mrc_cleanup() {
    local st=0
    trap - EXIT ERR
    trap '' INT TERM HUP    # a second ^C must not stop the cleanup half-way
    if [ -n "$mrc_bg" ] && kill -0 "$mrc_bg" 2>/dev/null; then
        kill -TERM "$mrc_bg" 2>/dev/null || true   # timeout passes it to mpirun
    fi
    if [ -n "$mrc_armed" ]; then
        "$MRC" down >"$T/down.log" 2>&1 || st=$?
        if [ "$st" != 0 ]; then
            echo "not ok - mr-cluster down failed (exit $st):"; sed 's/^/#   /' "$T/down.log"
        fi
    fi
    rm -rf "$T" "$MR_SHM"
    return "$st"
}
# set -e ends the test at an unexpected failure: say where
trap 'echo "not ok - line $LINENO: \"$BASH_COMMAND\" failed (exit $?)"' ERR
# EXIT keeps the test's status unless down failed; on a signal, the usual 128+N.
trap 'mrc_cleanup || exit 1' EXIT
trap 'echo "# SIGTERM: taking the cluster down"; mrc_cleanup || true; exit 143' TERM
trap 'echo "# SIGINT: taking the cluster down"; mrc_cleanup || true; exit 130' INT
trap 'echo "# SIGHUP: taking the cluster down"; mrc_cleanup || true; exit 129' HUP

# bg_run OUT ERR CMD...: CMD in the background with stdout in OUT and
# stderr in ERR, waited for: a trapped signal is handled at once, not after
# CMD (bash defers traps during a foreground command). Status in $rc. (The
# redirections are CMD's, not the function's: a trap run meanwhile must
# still reach the test's own output.)
bg_run() {
    local out=$1 err=$2; shift 2
    rc=0
    "$@" >"$out" 2>"$err" &
    mrc_bg=$!
    wait "$mrc_bg" || rc=$?
    mrc_bg=""
}

# cluster_up [N]: a fresh cluster of N hosts (default 3), or skip.
cluster_up() {
    local st=0
    mrc_armed=1
    "$MRC" down >/dev/null 2>&1 || true
    "$MRC" up "$@" >"$T/up.log" 2>&1 || st=$?
    if [ "$st" = 77 ]; then
        echo "skip: $(grep -m1 'cannot make' "$T/up.log" || cat "$T/up.log")"
        exit 77
    fi
    if [ "$st" != 0 ]; then
        echo "not ok - mr-cluster up $* failed (exit $st):"; sed 's/^/#   /' "$T/up.log"
        exit 1
    fi
}

# the cluster tests' own run: like tests/lib.sh's, interruptible
crun() {
    bg_run "$T/out" "$T/err" \
        timeout -k 5 "${MR_TIMEOUT:-120}" "$MRC" mpirun -np "$CNP" "$MR_RUN" "$@"
}

# lrun NP ARGS...: the reference on this host alone (tools/mr-mpirun)
lrun() {
    local np=$1; shift
    bg_run "$T/out" "$T/err" timeout -k 5 "${MR_TIMEOUT:-120}" "$MR_MPIRUN" "$np" "$MR_RUN" "$@"
}

# show_err: the run's stderr, indented, for a "not ok"
show_err() { head -20 "$T/err" | sed 's/^/#   /'; }

# same_as_local NAME "SCHEDULES" "OUTFILES" ARGS...: mr-run ARGS on 2 ranks
# of this host (schedule block) is the reference; on the cluster, at every
# schedule, stdout and each of OUTFILES (paths ARGS write) must be
# byte-identical to it. Output files are removed before each run, so a
# stale one cannot pass for a new one.
same_as_local() {
    local name=$1 scheds=$2 files=$3 s f i; shift 3
    # shellcheck disable=SC2086  # file lists are words
    rm -f $files
    lrun 2 "$@" --schedule block
    if [ "$rc" != 0 ]; then
        not_ok "$name: reference (this host, 2 ranks) exit $rc"; show_err
        return 0
    fi
    cp "$T/out" "$T/ref.out"
    i=0
    for f in $files; do i=$((i + 1)); mv "$f" "$T/ref.$i"; done
    for s in $scheds; do
        # shellcheck disable=SC2086
        rm -f $files
        crun "$@" --schedule "$s"
        if [ "$rc" != 0 ]; then
            not_ok "$name: $CNP ranks on the cluster, $s: exit $rc"; show_err
            continue
        fi
        if ! cmp -s "$T/ref.out" "$T/out"; then
            not_ok "$name, $s: stdout differs from this host's"
            { diff "$T/ref.out" "$T/out" || true; } | head -10 | sed 's/^/#   /' || true
            continue
        fi
        i=0
        for f in $files; do
            i=$((i + 1))
            cmp -s "$T/ref.$i" "$f" || { not_ok "$name, $s: $(basename "$f") differs from this host's"; continue 2; }
        done
        ok "$name, $s: same output as on this host"
    done
}
