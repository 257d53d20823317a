#!/usr/bin/env bash
# tests/batch/daemons.sh -- bring a batch scheduler up before the batch
# tests and down after them (the setup and cleanup ctest fixtures).
#
# Usage (from ctest): daemons.sh sge|slurm up|down
#
# up runs tools/sge-setup or tools/slurm-setup (idempotent: installs,
# configures and starts what is missing; about 1 s when all is up). When
# slurmd cannot run on this host, tools/slurm-setup exits 77 and says why;
# the reason is kept in <build>/tests/batch/slurm.skip so that the Slurm
# test can print it when it skips too, and this step skips (77).
# Not root: nothing can be installed or started, so a scheduler that is
# already up is used as it is, and otherwise the step skips.
#
# down stops the daemons (CI must not leave them running), unless
# MR_BATCH_KEEP=1 asks to keep them for the next run.
# SPDX-License-Identifier: MIT
source "$MR_SOURCE_DIR/tests/lib.sh"
# The daemons outlive this test, and their jobs run as the scheduler's
# users: they keep Open MPI's default place for shared-memory segments.
unset OMPI_MCA_btl_vader_backing_directory

sched=${1:?sge or slurm}
what=${2:?up or down}
tool=$MR_SOURCE_DIR/tools/$sched-setup
state=$MR_BUILD_DIR/tests/batch
skipfile=$state/$sched.skip
mkdir -p "$state"

skip() {
    echo "SKIP: $*"
    exit 77
}

is_up() { "$tool" --status >/dev/null 2>&1; }

case $what in
up)
    rm -f "$skipfile"
    if [ "$(id -u)" -ne 0 ]; then
        is_up || {
            echo "$sched: not running, and only root can start it ($tool)" >"$skipfile"
            skip "$(cat "$skipfile")"
        }
        ok "$sched is up (started by someone else; not root, so left as it is)"
        mr_done
        exit
    fi
    rc=0
    start=$(date +%s)
    timeout -k 10 280 "$tool" >"$T/log" 2>&1 || rc=$?
    sed 's/^/#   /' "$T/log"
    if [ "$rc" = 77 ]; then
        grep 'SKIP:' "$T/log" | sed 's/.*SKIP: //' >"$skipfile"
        skip "$(cat "$skipfile")"
    fi
    check "$sched-setup exits 0 (exit $rc, $(($(date +%s) - start)) s)" [ "$rc" = 0 ]
    check "$sched-setup --status says the daemons are up" is_up
    ;;
down)
    if [ -n "${MR_BATCH_KEEP:-}" ]; then
        echo "# MR_BATCH_KEEP is set: $sched left running"
        ok "$sched kept"
        mr_done
        exit
    fi
    [ "$(id -u)" -eq 0 ] || skip "not root: $sched left as it was"
    rc=0
    start=$(date +%s)
    timeout -k 10 100 "$tool" --stop >"$T/log" 2>&1 || rc=$?
    sed 's/^/#   /' "$T/log"
    check "$sched-setup --stop exits 0 (exit $rc, $(($(date +%s) - start)) s)" [ "$rc" = 0 ]
    srv=0
    "$tool" --status >"$T/status" 2>&1 || srv=$?
    check "$sched-setup --status then says stopped (exit $srv, want 3)" [ "$srv" = 3 ]
    ;;
*)
    echo "usage: daemons.sh sge|slurm up|down" >&2
    exit 2
    ;;
esac
mr_done
