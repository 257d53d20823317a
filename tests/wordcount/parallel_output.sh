#!/usr/bin/env bash
# wordcount's parallel output (output_part, mr_pfile): the table and the
# top lines are byte-identical to one rank's at 1-4 ranks, every schedule
# and every --output-mode; with ranks that cannot see the output folder
# (a private tmpfs over it, in a mount namespace of their own) auto falls
# back to writing through rank 0 and gives the same bytes, and parallel
# says why it cannot; a failed part leaves no table and no top lines.
. "$MR_SOURCE_DIR/tests/lib.sh"
"$MR_BUILD_DIR/bin/mr-gencorpus" --size 4M --files 6 --seed 7 "$T/in" >/dev/null
want() { # want FILE: the reference table and stdout of one rank
    timeout 120 "$MR_RUN" wordcount --quiet --tokens whitespace --top 40 \
        --out "$T/ref.tsv" "$T/in" >"$T/ref.out" 2>/dev/null
}
want
check "one rank wrote a table" test -s "$T/ref.tsv"
for c in $(combos "2 3 4" "block dynamic" "auto parallel rank0"); do
    IFS=: read -r np sched mode <<<"$c"
    run $np wordcount --quiet --tokens whitespace --top 40 \
        --schedule $sched --output-mode $mode --out "$T/t.tsv" "$T/in"
    check "np $np $sched $mode: exit 0 ($rc), the same table and top lines" \
        test "$rc" = 0 -a "$(md5sum <"$T/t.tsv")" = "$(md5sum <"$T/ref.tsv")" \
        -a "$(md5sum <"$T/out")" = "$(md5sum <"$T/ref.out")"
done
# --top larger than a rank's share: the top lines come from several ranks.
timeout 120 "$MR_RUN" wordcount --quiet --tokens whitespace --top 100000 "$T/in" >"$T/big.ref" 2>/dev/null
run 4 wordcount --quiet --tokens whitespace --top 100000 "$T/in"
check "--top over every rank's share: the same lines ($(wc -l <"$T/out"))" \
    cmp -s "$T/out" "$T/big.ref"

# Many distinct words that share their first 6 bytes and 22 of their
# first 25, at 1 to 5 counts:
# the output sort's first key ties nearly all of them, and its levels
# (order_key_at) and buckets (each rank's copy of its records) decide.
# The table is the reference pipeline's at 1 to 3 ranks, in order.
awk 'BEGIN { for (i = 0; i < 200000; i++) for (k = 0; k <= i % 5; k++)
             printf "CONFIG%s%s%s_SND_SOC_DRIVER_%d%s\n", substr("ab_", i % 3 + 1, 1),
                 substr("ab_", int(i / 3) % 3 + 1, 1), substr("ab_", int(i / 9) % 3 + 1, 1),
                 i, (i % 7 ? "" : "_x") }' \
    >"$T/prefix.txt"
LC_ALL=C tr -s ' \t\n' '\n' <"$T/prefix.txt" | LC_ALL=C sort | uniq -c |
    awk '{ print $2 "\t" $1 }' | LC_ALL=C sort -t"$(printf '\t')" -k2,2nr -k1,1 \
    >"$T/prefix.ref"
for np in 1 2 3; do
    run $np wordcount --quiet --tokens whitespace --out "$T/prefix.tsv" "$T/prefix.txt"
    check "shared prefixes, np $np: exit 0 ($rc), the reference table" \
        test "$rc" = 0 -a "$(md5sum <"$T/prefix.tsv")" = "$(md5sum <"$T/prefix.ref")"
done
check "  ... which is in count-descending, word-ascending order" \
    env LC_ALL=C sort -t"$(printf '\t')" -k2,2nr -k1,1 -c "$T/prefix.tsv"

# Ranks on another file system: a private tmpfs over the output folder
# for every rank but 0 (root only: mount namespaces).
if ranks_apart "$T/outdir"; then
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" wordcount --quiet \
        --tokens whitespace --top 40 --out "$T/outdir/t.tsv" "$T/in" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, auto: exit 0 ($rc), the same table through rank 0" \
        test "$rc" = 0 -a "$(md5sum <"$T/outdir/t.tsv" 2>/dev/null)" = "$(md5sum <"$T/ref.tsv")"
    check "  ... and the same top lines" cmp -s "$T/out" "$T/ref.out"
    rm -f "$T/outdir/t.tsv"
    rc=0
    timeout -k 5 120 "$MR_MPIRUN" 3 "$T/apart" "$MR_RUN" wordcount --quiet \
        --tokens whitespace --output-mode parallel --out "$T/outdir/t.tsv" "$T/in" \
        >"$T/out" 2>"$T/err" || rc=$?
    check "no shared file system, --output-mode parallel: exit 1 ($rc)" test "$rc" = 1
    check "  ... says the ranks share no file system" grep -q "share no file system" "$T/err"
    check "  ... and leaves no table, no temporary file" \
        test -z "$(ls -A "$T/outdir")"
else
    echo "# skipped: no shared file system case (needs root and mount namespaces)"
fi

# A part that cannot be written (a full disk) fails the run: no table, and
# no top lines on stdout that look like success.
if [ -w /dev/full ]; then
    run 2 wordcount --quiet --top 5 --out /dev/full "$T/in"
    check "--out /dev/full: refused or failed, non-zero ($rc)" test "$rc" != 0
    check "  ... no top lines printed" test ! -s "$T/out"
fi
mr_done
