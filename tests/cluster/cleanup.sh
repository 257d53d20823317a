#!/usr/bin/env bash
# cleanup.sh -- tools/mr-cluster leaves nothing behind: after down, no
# namespace of its prefix, no /etc/netns entry, no state dir and none of
# the processes that ran inside; down when nothing is up, up twice and
# down twice all succeed; a run that loses a host (orted killed by pid,
# cable pulled) ends instead of hanging, and plug puts a host back; a
# half-made cluster is remade; up as a normal user says why and exits 77;
# and a test killed in the middle of a run
# (busy_child.sh) leaves nothing with SIGTERM (its trap takes the cluster
# down), and with SIGKILL leaves what the next down removes.
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"
NS=$MR_CLUSTER_NS DIR=$MR_CLUSTER_DIR

# our_ns PREFIX: the namespaces of a prefix that exist
our_ns() { ip netns list | awk '{print $1}' | grep -E "^$1-(sw|h[0-9]+)\$" || true; }
# pids_in PREFIX: every process in those namespaces
pids_in() { local n; for n in $(our_ns "$1"); do ip netns pids "$n"; done; }
# alive PID: running (a zombie only waits for its parent to reap it)
alive() { [ -e "/proc/$1" ] && [ "$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" != Z ]; }
ended() { ! alive "$1"; }
# gone PREFIX DIR PIDS...: nothing of that cluster is left ($why says what is)
gone() {
    local pre=$1 dir=$2 p; shift 2
    why="namespaces left: $(our_ns "$pre" | tr '\n' ' ')"
    [ -z "$(our_ns "$pre")" ] || return 1
    why="/etc/netns entries left: $(find /etc/netns -maxdepth 1 -name "$pre-*" 2>/dev/null | tr '\n' ' ')"
    [ -z "$(find /etc/netns -maxdepth 1 -name "$pre-*" 2>/dev/null)" ] || return 1
    why="state dir $dir left"
    [ ! -e "$dir" ] || return 1
    for p in "$@"; do
        why="process $p ($(cat "/proc/$p/comm" 2>/dev/null)) left"
        ! alive "$p" || return 1
    done
    why=""
}
# check_gone WHAT SECONDS PREFIX DIR PIDS...: gone within SECONDS
check_gone() {
    local what=$1 s=$2; shift 2
    if wait_for "$s" gone "$@"; then ok "$what"; else not_ok "$what: $why"; fi
}
# wait_for SECONDS CMD...: until CMD succeeds
wait_for() {
    local n=$(($1 * 10)); shift
    until "$@"; do n=$((n - 1)); [ "$n" -gt 0 ] || return 1; sleep 0.1; done
}
# started: the 6 ranks of a `mpirun sleep` (log in $T/mp.log) run ($what: the case)
started() {
    wait_for 30 sleeps_running "$NS" && return 0
    not_ok "$what: the 6 ranks never ran; mpirun said:"; sed 's/^/#   /' "$T/mp.log"
    "$MRC" status | sed 's/^/#   /'
    return 1
}
sleeps_running() { [ "$(for p in $(pids_in "$1"); do cat "/proc/$p/comm" 2>/dev/null; done | grep -c '^sleep$')" = 6 ]; }

# 1. down when nothing is up (twice: the first one removes any leftovers)
mrc_armed=1
st=0; "$MRC" down >/dev/null || st=$?
st2=0; "$MRC" down >/dev/null || st2=$?
check "down when nothing is up: exit $st, $st2" test "$st" = 0 -a "$st2" = 0
check_gone "  nothing there" 0 "$NS" "$DIR"

# 2. up twice: the second does nothing (same namespaces) and succeeds
cluster_up 3
ino=$(stat -c %i "/run/netns/$NS-h1")
st=0; "$MRC" up 3 >"$T/up2" 2>&1 || st=$?
check "up twice: exit $st, nothing done" test "$st" = 0 -a ! -s "$T/up2" \
    -a "$(stat -c %i "/run/netns/$NS-h1")" = "$ino"
st=0; "$MRC" up 4 >/dev/null 2>&1 || st=$?
check "up with another N while up: refused (exit $st)" test "$st" = 1
check "  the cluster still has 3 hosts" test "$(our_ns "$NS" | wc -l)" = 4

# 3. down while a run is on every host, shaped: everything goes
"$MRC" shape 5 1gbit >/dev/null
"$MRC" mpirun -np 6 sleep 600 >"$T/mp.log" 2>&1 &
mp=$!
what="down during a run"
if started; then ok "6 ranks of sleep running on the hosts"; fi
mapfile -t pids < <(pids_in "$NS")
comms=$(for p in $("$MRC" pids h3); do cat "/proc/$p/comm" 2>/dev/null || true; done | sort | tr '\n' ' ')
check "pids h3: its 2 ranks, no nfdelay ($comms)" \
    test "$(echo "$comms" | grep -o sleep | wc -l)" = 2 -a "$(echo "$comms" | grep -c nfdelay)" = 0
st=0; "$MRC" down >/dev/null || st=$?
wait "$mp" 2>/dev/null || true
check "down during a run: exit $st" test "$st" = 0
check_gone "  nothing left (namespaces, /etc/netns, state, ${#pids[@]} processes)" 0 "$NS" "$DIR" "${pids[@]}"
st=0; "$MRC" down >/dev/null || st=$?
check "down twice: exit $st" test "$st" = 0

# 4. faults, for which pids, unplug and plug are there: a run whose h3
#    loses its orted (killed by pid) or its cable ends instead of hanging
#    (a pulled cable through TCP keepalive: about 11 s as mr-cluster sets it)
cluster_up 3
fault() {  # fault WHAT LIMIT_S CMD...: CMD during a run; mpirun must end in LIMIT_S
    local what=$1 limit=$2 t0 mp; shift 2
    "$MRC" mpirun -np 6 sleep 600 >"$T/mp.log" 2>&1 &
    mp=$!
    started || true
    "$@"
    t0=$SECONDS
    wait_for "$limit" ended "$mp" || true
    if alive "$mp"; then
        not_ok "$what: mpirun still running after $limit s"
    else
        ok "$what: mpirun ended $((SECONDS - t0)) s after it"
    fi
    wait "$mp" 2>/dev/null || true
    "$MRC" down >/dev/null; cluster_up 3
}
kill_orted() {
    local p
    for p in $("$MRC" pids h3); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" != orted ] || kill -KILL "$p"
    done
}
fault "h3's orted killed" 20 kill_orted
fault "h3 unplugged" 60 "$MRC" unplug h3
"$MRC" unplug h2
"$MRC" plug h2
bg_run "$T/hosts" "$T/err" "$MRC" mpirun -np 2 --host h2:2 hostname
check "unplug h2, plug h2: runs on h2 again" test "$rc" = 0 -a "$(tr '\n' ' ' <"$T/hosts")" = "h2 h2 "
"$MRC" down >/dev/null

# 5. a half-made cluster (a host gone, as after a killed up) is remade
cluster_up 3
ip netns del "$NS-h2"
st=0; "$MRC" up 3 >/dev/null 2>&1 || st=$?
check "up on a half-made cluster: exit $st" test "$st" = 0
check "  all namespaces back" test "$(our_ns "$NS" | wc -l)" = 4
check "  h2 works again" test "$("$MRC" exec h2 hostname)" = h2
"$MRC" down >/dev/null

# 6. not root: a clear message and 77, nothing made
if command -v setpriv >/dev/null; then
    st=0
    setpriv --reuid=65534 --regid=65534 --clear-groups \
        env MR_CLUSTER_DIR="$DIR.nobody" MR_CLUSTER_NS="$NS-nobody" "$MRC" up >"$T/nobody" 2>&1 || st=$?
    check "up as nobody: exit 77 ($st), says why" \
        test "$st" = 77 -a "$(grep -c 'needs root' "$T/nobody")" = 1
    check_gone "  nothing made" 0 "$NS-nobody" "$DIR.nobody"
fi

# 7. a test killed with SIGTERM in the middle of a run leaves nothing
CH=cleanup-child CNS=mrt-$CH-$mrc_tag CDIR=/tmp/mr-cluster-test.$CH-$mrc_tag   # lib.sh's names
child() {  # child SIGNAL: start busy_child.sh, kill it with SIGNAL mid-run
    MRC_TEST_NAME=$CH "$MR_SOURCE_DIR/tests/cluster/busy_child.sh" >"$T/child.log" 2>&1 &
    kid=$!
    if ! wait_for 60 sleeps_running "$CNS"; then
        not_ok "busy_child.sh: its ranks never ran:"; sed 's/^/#   /' "$T/child.log"
    fi
    mapfile -t cpids < <(pids_in "$CNS")
    mapfile -t kids < <(pgrep -P "$kid" || true)   # its timeout (root namespace)
    kill "-$1" "$kid"
    kst=0
    { wait "$kid"; } 2>/dev/null || kst=$?   # no "Killed" line from bash
}
child TERM
check "SIGTERM: busy_child.sh ends with 143 ($kst)" test "$kst" = 143
check_gone "SIGTERM: its cluster is gone (${#cpids[@]} processes)" 10 "$CNS" "$CDIR" "${cpids[@]}" "${kids[@]}"
ct=$(sed -n 's/^T=\([^ ]*\) .*/\1/p' "$T/child.log")
check "SIGTERM: its temporary folder is gone" test -n "$ct" -a ! -e "$ct"

# 8. SIGKILL (ctest's timeout): no trap runs; down (or the next up) then
#    removes it all
child KILL
check "SIGKILL: busy_child.sh ends with 137 ($kst)" test "$kst" = 137
check "SIGKILL: its cluster is left (so the next run must remove it)" test -n "$(our_ns "$CNS")"
st=0; MR_CLUSTER_DIR=$CDIR MR_CLUSTER_NS=$CNS "$MRC" down >/dev/null || st=$?
check "SIGKILL: then down: exit $st" test "$st" = 0
check_gone "SIGKILL: then nothing left (${#cpids[@]} processes)" 10 "$CNS" "$CDIR" "${cpids[@]}" "${kids[@]}"
# what its trap would have removed
ct=$(sed -n 's/^T=\([^ ]*\) SHM=\(.*\)$/\1/p' "$T/child.log")
cs=$(sed -n 's/^T=\([^ ]*\) SHM=\(.*\)$/\2/p' "$T/child.log")
case $ct in /*/mrtest.*) rm -rf "$ct" ;; esac
case $cs in /*/mrtest.*) rm -rf "$cs" ;; esac

mr_done
