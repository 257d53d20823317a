#!/usr/bin/env bash
# hello.sh -- mr's hello on 3 pretend hosts x 2 ranks (tools/mr-cluster):
# every rank names its own host, in rank order, and rank 0 counts 3 hosts.
# First what the harness promises: each host's name, address, routes and
# names; nothing in the root namespace; the hostfile (N hosts x
# MR_CLUSTER_PPN slots, left out when the arguments name hosts); mpirun
# is the caller's child; the ranks' bytes go over the hosts' eth0.
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"

cluster_up 3

for i in 1 2 3; do
    check "h$i: hostname h$i" test "$("$MRC" exec "h$i" hostname)" = "h$i"
    check "h$i: eth0 is 10.77.0.$i/24" \
        test "$("$MRC" exec "h$i" ip -4 -br addr show eth0 | awk '{print $3}')" = "10.77.0.$i/24"
    # the subnet and nothing else: no way out of the cluster
    check "h$i: one route, the cluster's subnet" \
        test "$("$MRC" exec "h$i" ip -4 route | awk '{print $1}')" = 10.77.0.0/24
done
check "h1 resolves h3 to 10.77.0.3" \
    test "$("$MRC" exec h1 getent hosts h3 | awk '{print $1}')" = 10.77.0.3
no_root_address() { ! ip -4 -o addr show | grep ' 10\.77\.0\.' >/dev/null; }
check "the root namespace has no 10.77.0.x address" no_root_address
check "the root namespace's /etc/hosts does not know h2" test -z "$(getent hosts h2 || true)"

# Plain programs first (they do not need MPI to work across hosts).
bg_run "$T/hosts" "$T/err" "$MRC" mpirun -np 6 hostname
check "mpirun -np 6 hostname: 2 slots on each of h1 h2 h3" \
    test "$rc" = 0 -a "$(sort "$T/hosts" | tr '\n' ' ')" = "h1 h1 h2 h2 h3 h3 "
MR_CLUSTER_PPN=3 bg_run "$T/hosts" "$T/err" "$MRC" mpirun -np 9 hostname
check "MR_CLUSTER_PPN=3: 3 slots on each" \
    test "$rc" = 0 -a "$(sort "$T/hosts" | uniq -c | awk '{print $1}' | tr '\n' ' ')" = "3 3 3 "
bg_run "$T/hosts" "$T/err" "$MRC" mpirun -np 2 --host h3:2 hostname
check "--host h3:2: no hostfile added, both on h3" \
    test "$rc" = 0 -a "$(tr '\n' ' ' <"$T/hosts")" = "h3 h3 "
# shellcheck disable=SC2016  # $PPID is the rank's
"$MRC" mpirun -np 1 --host h1 sh -c 'echo "$PPID"' >"$T/ppid" 2>"$T/err" &
mp=$!
wait "$mp" || true
check "mr-cluster mpirun becomes mpirun (the rank's parent is the caller's child)" \
    test "$(cat "$T/ppid")" = "$mp"

# mr's hello across the hosts.
rx0=$("$MRC" exec h2 cat /sys/class/net/eth0/statistics/rx_bytes)
crun hello
if [ "$rc" = 0 ]; then ok "hello, 6 ranks on 3 hosts: exit 0"; else not_ok "hello: exit $rc"; show_err; fi
{ for r in 0 1 2 3 4 5; do echo "Hello from h$((r / 2 + 1)). $r of 6"; done
  echo "6 ranks on 3 hosts"; } >"$T/want"
if cmp -s "$T/want" "$T/out"; then
    ok "hello: the hostnames in rank order, then '6 ranks on 3 hosts'"
else
    not_ok "hello output:"; diff "$T/want" "$T/out" | sed 's/^/#   /' || true
fi
rx1=$("$MRC" exec h2 cat /sys/class/net/eth0/statistics/rx_bytes)
check "h2 received over its eth0 during hello ($((rx1 - rx0)) bytes)" test $((rx1 - rx0)) -gt 2000

MR_CLUSTER_PPN=1 CNP=3 crun hello
check "one slot per host: '3 ranks on 3 hosts'" \
    test "$rc" = 0 -a "$(tail -1 "$T/out")" = "3 ranks on 3 hosts"

mr_done
