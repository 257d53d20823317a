#!/usr/bin/env bash
# shaped.sh -- mr on 3 pretend hosts x 2 ranks over slow links (mr-cluster
# shape 20 100mbit: every packet 20 ms late, 100 Mbit/s out of each host):
# hello, wordcount on a folder and matmul still give byte for byte what they
# give on this host alone. First, that the shaping is real: a TCP connect
# between hosts takes a round trip of 2 x 20 ms, and nfdelay held packets.
# Skips (exit 77) without iptables or libnetfilter-queue-dev (tools/test
# installs both).
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"
export LC_ALL=C
GEN=$MR_BUILD_DIR/bin/mr-gencorpus

if ! command -v iptables >/dev/null || [ ! -e /usr/include/libnetfilter_queue/libnetfilter_queue.h ]; then
    echo "skip: shaping needs iptables and libnetfilter-queue-dev (tools/setup-deps iptables libnetfilter-queue-dev)"
    exit 77
fi

cluster_up 3
"$GEN" --size 4M --files 80 --seed 7 "$T/docs" >/dev/null
st=0
"$MRC" shape 20 100mbit >"$T/shape.log" 2>&1 || st=$?
check "shape 20 100mbit: exit $st" test "$st" = 0
[ "$st" = 0 ] || { sed 's/^/#   /' "$T/shape.log"; exit 1; }

# connect time from h1 to h2: SYN and SYN-ACK each wait 20 ms
"$MRC" exec h2 python3 -c '
import socket
s = socket.create_server(("10.77.0.2", 5999)); s.settimeout(20)
c, _ = s.accept(); c.recv(1)' &
srv=$!
ms=$("$MRC" exec h1 python3 -c '
import socket, time
for i in range(100):
    try:
        t = time.monotonic(); c = socket.create_connection(("h2", 5999), timeout=5); break
    except ConnectionRefusedError:
        time.sleep(0.1)
print(int((time.monotonic() - t) * 1000)); c.close()') || ms=0
wait "$srv" || true
check "connect h1 -> h2 takes a 40 ms round trip ($ms ms)" test "$ms" -ge 38 -a "$ms" -lt 1000
check "tbf on each host's eth0" \
    test "$("$MRC" exec h3 tc qdisc show dev eth0 | awk '{print $2; exit}')" = tbf

crun hello
{ for r in 0 1 2 3 4 5; do echo "Hello from h$((r / 2 + 1)). $r of 6"; done
  echo "6 ranks on 3 hosts"; } >"$T/want"
if [ "$rc" = 0 ] && cmp -s "$T/want" "$T/out"; then
    ok "hello over slow links"
else
    not_ok "hello over slow links (exit $rc):"; { diff "$T/want" "$T/out" || true; } | sed 's/^/#   /'; show_err
fi

same_as_local "wordcount folder, slow links" "block dynamic" "$T/wc.tsv" \
    wordcount --top 20 --out "$T/wc.tsv" "$T/docs"
same_as_local "matmul, slow links" "block master" "$T/c.npy" \
    matmul --m 256 --k 192 --n 320 --block 64 --verify --out "$T/c.npy"

# unshape stops the daemons, which then say how many packets they held
"$MRC" unshape >/dev/null
held=$(cat "$MR_CLUSTER_DIR"/nfdelay.h*.log | awk '/packets delayed/ { n += $4 } END { print n + 0 }') || held=0
check "nfdelay held packets on the hosts' ingress ($held)" test "$held" -gt 100
check "unshape: no qdisc left on h1" \
    test "$("$MRC" exec h1 tc qdisc show dev eth0 | awk '{print $2; exit}')" != tbf

mr_done
