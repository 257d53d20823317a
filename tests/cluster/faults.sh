#!/usr/bin/env bash
# Faults across hosts end the run fast and clearly (issue 19, item 4): on 3
# hosts x 2 ranks, in the middle of a map phase, each of
#   - h3's cable pulled,
#   - h3's orted killed (SIGKILL),
#   - a rank on h2 killed (SIGKILL),
#   - a rank on h3 stopped (SIGSTOP) for good,
# makes mpirun return non-zero within 30 s, with a message that names the
# host (and the rank where mr knows it) and the cause, no output file under
# its final name (nor its temporary) and no process left on any host. The
# run uses mr's defaults (--stall-timeout 20) and the launcher keepalive
# that mr's wrappers set (tools/mr-cluster passes the same).
source "$MR_SOURCE_DIR/tests/cluster/lib.sh"
cluster_up 3
mkdir -p "$T/o"
# about 60 s of map work on 6 ranks, so the fault always lands inside it
args=(skewfold --tasks 3000 --pairs 50 --keys 500 --sleep-ms 120 --out "$T/o/table.tsv")
export MR_JOB_PATH

# on_host HOST COMM: the pids of processes named COMM on HOST.
on_host() {
    local p
    for p in $("$MRC" pids "$1"); do
        [ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$2" ] && echo "$p"
    done
    return 0
}

# fault NAME PATTERN ACTION...: start the run, do ACTION 4 s in, time how
# long mpirun takes to return, and check what it said and left behind.
fault() {
    local name=$1 pat=$2 t0 ms left h n; shift 2
    rm -f "$T/o/"* "$T/o/".??* 2>/dev/null || true
    "$MRC" mpirun -np 6 "$MR_RUN" "${args[@]}" >"$T/out" 2>"$T/err" &
    local mp=$!
    mrc_bg=$mp
    sleep 4
    "$@"
    t0=$(date +%s%N)
    n=0
    while kill -0 "$mp" 2>/dev/null && [ $n -lt 600 ]; do sleep 0.1; n=$((n + 1)); done
    ms=$((($(date +%s%N) - t0) / 1000000))
    kill -KILL "$mp" 2>/dev/null || true
    rc=0; wait "$mp" || rc=$?
    mrc_bg=""
    # what is still running on any host 5 s after mpirun returned
    sleep 5
    left=""
    for h in h1 h2 h3; do
        for p in $("$MRC" pids "$h"); do
            left+=" $h:$(cat "/proc/$p/comm" 2>/dev/null)"
        done
    done
    if [ "$rc" != 0 ] && [ "$ms" -le 30000 ] && [ -z "$left" ] &&
        [ -z "$(ls -A "$T/o")" ] && grep -Eq "$pat" "$T/err"; then
        ok "$name: mpirun exit $rc after $ms ms, named, nothing left"
    else
        not_ok "$name: mpirun exit $rc after $ms ms; left:${left:- none}; files: $(ls -A "$T/o" | tr '\n' ' ')"
        show_err
    fi
    echo "# $name: $ms ms"
    # a host whose cable was pulled gets it back, and whatever is left goes
    "$MRC" plug h3 2>/dev/null || true
    for h in h1 h2 h3; do
        for p in $("$MRC" pids "$h"); do kill -KILL "$p" 2>/dev/null || true; done
    done
}

kill_one() { # kill_one HOST COMM SIG: signal the first COMM process on HOST
    local p
    mapfile -t p < <(on_host "$1" "$2")
    [ ${#p[@]} -gt 0 ] || { echo "# no $2 on $1"; return 0; }
    kill -"$3" "${p[0]}"
}

fault "h3's cable pulled" "no heartbeat from rank [0-9] on h3|on node h3" \
    "$MRC" unplug h3
fault "h3's orted killed" "h3" kill_one h3 orted KILL
fault "a rank on h2 killed" "h2" kill_one h2 mr-run KILL
fault "a rank on h3 stopped" "no heartbeat from rank [0-9] on h3 for [0-9]+ s" \
    kill_one h3 mr-run STOP
mr_done
