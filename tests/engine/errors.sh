#!/usr/bin/env bash
# A failure on one rank reaches every rank: the run stops with one message
# naming the rank, its host and the phase, and a non-zero exit; never a hang
# (each run is bounded by a timeout in lib.sh: a hang exits 124).
. "$MR_SOURCE_DIR/tests/lib.sh"
export MR_TIMEOUT=60

for np in 2 3; do
    last=$((np - 1))
    for phase in setup split map combine reduce output; do
        case $phase in split|output) r=0 ;; *) r=$last ;; esac
        job=skew; [ $phase = combine ] && job=skewcomb
        expect_fail 1 "rank $r on [^,]+, $phase: failing on purpose in $phase" \
            "np $np: failure in $phase on rank $r stops the run" \
            "$np" $job --tasks 20 --pairs 200 --fail "$r:$phase" --schedule block
    done
    for s in block cyclic master; do
        expect_fail 1 "rank $last on [^,]+, map: failing on purpose" \
            "np $np: map failure under $s" "$np" skew --tasks 50 --pairs 100 \
            --fail "$last:map" --schedule $s
    done
done

# A job usage error found on every rank is reported once, exit 2.
expect_fail 2 "ranks 0-2, setup: --keys must be >= 1" "usage error from setup: exit 2, reported once" \
    3 skew --keys 0
check "usage error printed once" test "$(grep -c 'keys must be' "$T/err")" = 1

# A crash (abort) in a plugin on one rank ends the whole run, non-zero.
run 3 skew --tasks 20 --pairs 100 --crash 1:map --schedule cyclic
check "abort() on rank 1 ends the run (exit $rc, not a hang)" test "$rc" != 0 -a "$rc" != 124

mr_done
