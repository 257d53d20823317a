#!/usr/bin/env bash
# Promise 5: plugins load only from the job folders mr-run was given, and
# only if nobody but the user or root could have written them: the file and
# every folder up to / (links resolved first; sticky folders like /tmp may
# be writable by others), owned by the user or root.
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

# Group-writable is as bad as world-writable, for the file and for folders.
chmod 755 "$T/jobs"; chmod 664 "$T/jobs/skewfold.so"
MR_JOB_PATH=$T/jobs expect_fail 2 "skewfold.so: refused: the file is writable by its group" \
    "a group-writable plugin file is refused" 2 skewfold --tasks 2
chmod 644 "$T/jobs/skewfold.so"; chmod 775 "$T/jobs"
MR_JOB_PATH=$T/jobs expect_fail 2 "refused: its folder .*/jobs is writable by its group" \
    "a plugin in a group-writable folder is refused" 2 skewfold --tasks 2
chmod 755 "$T/jobs"

# Every folder up to /, not only the file's own.
mkdir -p "$T/gp/safe" && cp "$src" "$T/gp/safe/" && chmod 777 "$T/gp"
MR_JOB_PATH=$T/gp/safe expect_fail 2 "refused: its folder .*/gp is writable by other users" \
    "a world-writable grandparent folder is refused" 2 skewfold --tasks 2
chmod 755 "$T/gp"
MR_JOB_PATH=$T/gp/safe run 2 skewfold --tasks 2 --pairs 10
check "the same folders, made safe, load (exit $rc)" test "$rc" = 0

# A link in a safe folder is judged by what it points to.
mkdir -p "$T/ww" "$T/links" && cp "$src" "$T/ww/" && chmod 777 "$T/ww"
ln -s "$T/ww/skewfold.so" "$T/links/skewfold.so"
MR_JOB_PATH=$T/links expect_fail 2 "links/skewfold.so \(.*/ww/skewfold.so\): refused: its folder .*/ww is writable by other users" \
    "a link to a plugin in a world-writable folder is refused, naming the target" 2 skewfold --tasks 2

# --plugin NAME.so is the file in the current folder, not one that dlopen
# would find through LD_LIBRARY_PATH (here a skew.so renamed skewfold.so).
mkdir -p "$T/here" "$T/decoy" && cp "$src" "$T/here/" && cp "$MR_BUILD_DIR/tests/jobs/skew.so" "$T/decoy/skewfold.so"
(cd "$T/here" && LD_LIBRARY_PATH=$T/decoy timeout 60 "$MR_MPIRUN" 1 "$MR_RUN" --plugin skewfold.so --tasks 2 --pairs 10 >"$T/out" 2>"$T/err") && rc=0 || rc=$?
check "--plugin skewfold.so opens ./skewfold.so, not LD_LIBRARY_PATH's (exit $rc)" test "$rc" = 0

# Someone else's files: refused even in a sticky folder, even for root.
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
    mkdir -p "$T/sticky" && chmod 1777 "$T/sticky" && cp "$src" "$T/sticky/" && chown nobody "$T/sticky/skewfold.so"
    MR_JOB_PATH=$T/sticky expect_fail 2 "refused: the file belongs to nobody, not to you or root" \
        "another user's plugin in a sticky folder is refused" 2 skewfold --tasks 2
    mkdir -p "$T/theirs" && cp "$src" "$T/theirs/" && chown nobody "$T/theirs"
    MR_JOB_PATH=$T/theirs expect_fail 2 "refused: its folder .*/theirs belongs to nobody" \
        "a plugin in another user's folder is refused" 2 skewfold --tasks 2
    # ... and it cannot hide a built-in job either.
    mkdir -p "$T/hide" && chmod 1777 "$T/hide" && cp "$MR_BUILD_DIR/lib/mr/jobs/hello.so" "$T/hide/" && chown nobody "$T/hide/hello.so"
    MR_JOB_PATH=$T/hide expect_fail 2 "hello.so: refused: the file belongs to nobody" \
        "another user's hello.so does not replace the built-in hello" 1 hello
else
    ok "# SKIP another user's files: needs root and a user 'nobody'"
fi

# The same job in two folders of the path: the first wins, and a warning
# names both.
mkdir -p "$T/first" "$T/second" && cp "$src" "$T/first/" && cp "$src" "$T/second/"
MR_JOB_PATH=$T/first:$T/second run 2 skewfold --tasks 2 --pairs 10
check "a job in two folders runs from the first (exit $rc)" test "$rc" = 0
check "... with a warning naming both" grep -Eq "warning: job 'skewfold' is loaded from .*/first/skewfold.so; .*/second/skewfold.so, later in the job path, is ignored" "$T/err"
MR_JOB_PATH=$T/first:$T/second run 1 --list
check "--list warns of it too" grep -q "second/skewfold.so, later in the job path, is ignored" "$T/err"

# A plugin that crashes while registering is named; --list survives it.
mkdir -p "$T/crash" && cp "$MR_BUILD_DIR/tests/badjobs/bad_crash.so" "$src" "$T/crash/"
MR_JOB_PATH=$T/crash run 2 --list
check "--list with a crashing plugin exits 0 (exit $rc)" test "$rc" = 0
check "... lists the others" grep -q "skewfold" "$T/out"
check "... and names the one that crashed" grep -Eq "bad_crash.so: skipped: it crashed while registering \(signal 11" "$T/err"
MR_JOB_PATH=$T/crash run 2 bad_crash
check "running the crashing plugin fails (exit $rc)" test "$rc" != 0
check "... naming the file and the crash" grep -Eq "loading .*/crash/bad_crash.so: crashed with signal 11" "$T/err"
mr_done
