#!/usr/bin/env bash
# mr-run's command line: hello, --list, --help, unknown jobs and options,
# --plugin, refused plugins, singleton runs without mpirun.
. "$MR_SOURCE_DIR/tests/lib.sh"
host=$(hostname)

for np in 1 2 4; do
    run $np hello
    {
        for r in $(seq 0 $((np - 1))); do echo "Hello from $host. $r of $np"; done
        if [ $np = 1 ]; then echo "1 rank on 1 host"; else echo "$np ranks on 1 host"; fi
    } >"$T/want"
    check "hello at np $np: lines in rank order" cmp -s "$T/want" "$T/out"
done

# Without mpirun: a singleton, one rank.
rc=0; timeout 60 "$MR_RUN" hello >"$T/out" 2>"$T/err" || rc=$?
check "singleton hello (no mpirun)" grep -qx "Hello from $host. 0 of 1" "$T/out"

# An order that depends on an option (order_ctx, ABI 1.3): --desc reverses
# skew's table, at any rank count.
for np in 1 3; do
    run $np skew --keys 300 --tasks 6 --pairs 500
    cp "$T/out" "$T/asc"
    run $np skew --keys 300 --tasks 6 --pairs 500 --desc
    check "order_ctx at np $np: --desc is the table reversed" \
        test -s "$T/asc" -a "$(tac "$T/asc" | md5sum)" = "$(md5sum <"$T/out")"
done

# A job that reads an option it never declared stops with the reason (a
# release build too: no assert), not with a read past the table.
run 2 skew --misread
check "an undeclared option read by the job: non-zero exit ($rc)" test "$rc" != 0
check "  ... named, and called a bug in the job" \
    grep -q 'job skew: mr_opt_int("no-such-option"): the job declares no option --no-such-option (a bug in the job)' "$T/err"

run 2 --list
check "--list shows hello with its summary" grep -Eq '^  hello +MPI hello world' "$T/out"
check "--list shows jobs from MR_JOB_PATH" grep -Eq '^  skewfold ' "$T/out"

expect_fail 2 "unknown job 'nosuchjob'" "unknown job: exit 2" 2 nosuchjob
check "unknown job: lists the known jobs" grep -q '^  hello' "$T/err"
expect_fail 2 "unknown option '--bogus'" "unknown option: exit 2" 2 skew --bogus
check "unknown option: prints the job's usage" grep -q 'usage: mpirun -np N mr-run skew' "$T/err"
expect_fail 2 "'abc' is not an integer" "bad integer: exit 2" 2 skew --keys abc
expect_fail 2 "'sometimes' is not one of block, cyclic, dynamic, master" "bad schedule: exit 2" 2 skew --schedule sometimes

run 1 skew --help
check "JOB --help: job options" grep -q -- '--keys N' "$T/out"
check "JOB --help: engine options" grep -q -- '--shuffle-round BYTES' "$T/out"
check "JOB --help: exit 0" test "$rc" = 0

# --plugin FILE.so, with and without the job name.
MR_JOB_PATH= run 2 --plugin "$MR_BUILD_DIR/tests/jobs/skewfold.so" --tasks 3 --pairs 10
check "--plugin without a job name runs the plugin's job" test "$rc" = 0 -a -s "$T/out"
MR_JOB_PATH= run 2 --plugin "$MR_BUILD_DIR/tests/jobs/skewfold.so" skewfold --tasks 3 --pairs 10
check "--plugin with the job name" test "$rc" = 0 -a -s "$T/out"
expect_fail 2 "--plugin loaded job 'skewfold', but the command names job 'hello'" \
    "--plugin with another job's name: refused, not run with it as an input" \
    2 --plugin "$MR_BUILD_DIR/tests/jobs/skewfold.so" hello

for bad in abi nosym twice; do
    expect_fail 2 "bad_$bad.so: " "refused plugin bad_$bad named in the message" \
        2 --plugin "$MR_BAD_DIR/bad_$bad.so"
done
run 1 --plugin "$MR_BAD_DIR/bad_abi.so"
check "another ABI: the message says which versions" grep -q 'ABI 99.0, but this mr-run speaks 1.5' "$T/err"

# The current directory is never searched for jobs.
mkdir -p "$T/cwd" && cp "$MR_BUILD_DIR/tests/jobs/skew.so" "$T/cwd/cwdjob.so"
(cd "$T/cwd" && MR_JOB_PATH= timeout 60 "$MR_MPIRUN" 1 "$MR_RUN" cwdjob >"$T/out" 2>"$T/err") && rc=0 || rc=$?
check "a job in the current directory is not loaded (exit $rc)" test "$rc" = 2

mr_done
