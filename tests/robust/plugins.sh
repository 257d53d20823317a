#!/usr/bin/env bash
# Promise 5: plugins load only from the job folders mr-run was given, and
# never from a file or folder that other users can write to.
. "$MR_SOURCE_DIR/tests/lib.sh"
src=$MR_BUILD_DIR/tests/jobs/skewfold.so

mkdir -p "$T/jobs" && cp "$src" "$T/jobs/" && chmod 755 "$T/jobs" && chmod 644 "$T/jobs/skewfold.so"
MR_JOB_PATH=$T/jobs run 2 skewfold --tasks 2 --pairs 10
check "a plugin in a private folder loads" test "$rc" = 0

chmod o+w "$T/jobs/skewfold.so"
MR_JOB_PATH=$T/jobs expect_fail 2 "skewfold.so: refused: the file is writable by other users" \
    "a world-writable plugin file is refused" 2 skewfold --tasks 2
chmod o-w "$T/jobs/skewfold.so"; chmod o+w "$T/jobs"
MR_JOB_PATH=$T/jobs expect_fail 2 "refused: its folder .*/jobs is writable by other users" \
    "a plugin in a world-writable folder is refused" 2 skewfold --tasks 2
expect_fail 2 "refused: its folder" "the same through --plugin" 1 --plugin "$T/jobs/skewfold.so"
MR_ALLOW_UNSAFE_PLUGINS=1 MR_JOB_PATH=$T/jobs run 2 skewfold --tasks 2 --pairs 10
check "MR_ALLOW_UNSAFE_PLUGINS=1 overrides, for development" test "$rc" = 0
chmod 1777 "$T/jobs"
MR_JOB_PATH=$T/jobs run 2 skewfold --tasks 2 --pairs 10
check "a sticky world-writable folder (like /tmp) is accepted" test "$rc" = 0

# Not from the current directory, even with a plugin of the right name there.
mkdir -p "$T/cwd" && cp "$src" "$T/cwd/"
(cd "$T/cwd" && MR_JOB_PATH= timeout 60 "$MR_MPIRUN" 1 "$MR_RUN" skewfold >"$T/out" 2>"$T/err") && rc=0 || rc=$?
check "the current directory is never searched (exit $rc)" test "$rc" = 2
mr_done
