#!/usr/bin/env bash
# Promise 6: --mem-limit. A run that would pass the limit stops with a
# message saying which phase needed how much, instead of being killed.
. "$MR_SOURCE_DIR/tests/lib.sh"
args="skew --tasks 4 --pairs 300000 --value-bytes 100 --keys 100000 --schedule block"

expect_fail 1 "(map|shuffle): needs [0-9]+ MiB.*over --mem-limit 100 MiB \(the engine holds: .*pair runs [0-9]+ MiB" \
    "over the limit: stopped with the phase and the sizes" 2 $args --mem-limit 100M
expect_fail 1 "map: needs [0-9]+ MiB, over --mem-limit 40 MiB" \
    "a limit below what the map needs stops in map" 1 $args --mem-limit 40M
run 2 $args --mem-limit 4G
check "under a generous limit the run completes" test "$rc" = 0 -a -s "$T/out"
expect_fail 2 "option --mem-limit: -5 is negative" "a negative limit is a usage error" 1 $args --mem-limit -5
mr_done
