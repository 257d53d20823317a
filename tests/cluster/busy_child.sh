#!/usr/bin/env bash
# busy_child.sh -- not a test of its own: cleanup.sh runs it (with
# MRC_TEST_NAME set) and kills it in the middle of a run. It makes its
# cluster, shapes it (nfdelay daemons, iptables rules, qdiscs), then runs
# 6 ranks of sleep across the hosts until it is killed.
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"
echo "T=$T SHM=$MR_SHM"
cluster_up 3
"$MRC" shape 5 1gbit >/dev/null
echo "shaped"
bg_run /dev/null /dev/null timeout 600 "$MRC" mpirun -np 6 sleep 600
echo "not reached: mpirun ended (exit $rc)"
