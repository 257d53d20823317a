#!/usr/bin/env bash
# A failure stops every rank at once, not at the end of its task (issue
# 20, item 4): a corrupt .gz next to a big one (one long, unsplittable
# task), and a SIGTERM to one rank while both run long tasks, end the run
# in a fraction of the big task's time, with the cause named once.
. "$MR_SOURCE_DIR/tests/lib.sh"
export MR_TIMEOUT=120
mkdir -p "$T/in" "$T/two"
# Big enough that the big task alone takes several times what a stop
# needs (about 1 s of it Open MPI's kill timeout), also on a loaded machine.
# Under the sanitizers every rank is several times slower: a third of it.
size=1500M
[ -n "${MR_TEST_SANITIZED:-}" ] && size=500M
yes "the quick brown fox jumps over the lazy dog again and again" | head -c $size |
    gzip -1 >"$T/in/big.gz"
printf 'hello world\n' | gzip >"$T/in/bad.gz"
printf 'XXXX' | dd of="$T/in/bad.gz" bs=1 seek=12 conv=notrunc 2>/dev/null
cp "$T/in/big.gz" "$T/two/a.gz"
cp "$T/in/big.gz" "$T/two/b.gz"

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# The big task alone, on one rank: the time the others used to wait.
t0=$(date +%s%N)
run 1 wordcount --quiet "$T/in/big.gz"
big_ms=$(ms_since "$t0")
check "the big .gz alone: exit $rc, $big_ms ms" test "$rc" = 0

# block: rank 0 gets bad.gz (sorted first), rank 1 the big one.
t0=$(date +%s%N)
run 2 wordcount --quiet --schedule block "$T/in"
ms=$(ms_since "$t0")
n=$(grep -c "rank" "$T/err" || true)
if [ "$rc" = 1 ] && [ "$ms" -lt "$big_ms" ] &&
    grep -q "bad.gz: corrupt gzip data" "$T/err" && ! grep -q "stopped: rank" "$T/err"; then
    ok "a corrupt .gz beside a big one: exit 1 after $ms ms (the big task alone: $big_ms ms), named once"
else
    not_ok "corrupt .gz beside a big one: exit $rc after $ms ms (big task alone $big_ms ms)"
    sed 's/^/#   /' "$T/err" | head -12
fi

# SIGTERM to rank 1 alone, 1 s into two long tasks.
"$MR_MPIRUN" 2 "$MR_RUN" wordcount --quiet --schedule block "$T/two" >"$T/out" 2>"$T/err" &
mp=$!
sleep 1
r1=$(pgrep -P "$mp" -f "$MR_RUN" | sort -n | tail -1)
kill -TERM "$r1"
t0=$(date +%s%N)
wait "$mp"; rc=$?
ms=$(ms_since "$t0")
if [ "$rc" != 0 ] && [ "$ms" -lt $((big_ms / 2 + 2500)) ] &&
    grep -q "rank 1 on [^,]*, map: stopped by signal 15" "$T/err" &&
    ! grep -q "rank 0 on" "$T/err"; then
    ok "SIGTERM to rank 1 mid-task: mpirun exit $rc after $ms ms, rank 1 named"
else
    not_ok "SIGTERM to rank 1 mid-task: exit $rc after $ms ms (limit $((big_ms / 2 + 2500)))"
    sed 's/^/#   /' "$T/err" | head -12
fi
mr_done
