#!/usr/bin/env bash
# No code from the current folder: every ELF the project builds or installs
# has a RUNPATH/RPATH of absolute or $ORIGIN-relative entries only (an empty
# entry, which CMake's padding of build RUNPATHs makes, is read by the
# loader as the current folder), and a library planted in the current folder
# under the name of each library mr-run and its jobs need is never loaded.
. "$MR_SOURCE_DIR/tests/lib.sh"
b=$MR_BUILD_DIR

elves() { # the ELF files under $1 (not CMake's scratch)
    find "$1" -path '*/CMakeFiles' -prune -o -type f \( -name '*.so*' -o -perm -u+x \) -print |
        while read -r f; do [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = 177ELF ] && echo "$f"; done
}
# bad_entries FILE: the RUNPATH/RPATH entries of FILE that are empty or
# relative to the current folder, one per line
bad_entries() {
    readelf -d "$1" | sed -n 's/.*(R\(UN\)\{0,1\}PATH).*\[\(.*\)\]$/\2/p' |
        awk -F: '{ for (i = 1; i <= NF; i++) if ($i == "" || ($i !~ /^\// && $i !~ /^\$ORIGIN(\/|$)/)) print "\"" $i "\"" }'
}
check_tree() { # check_tree WHAT DIR
    local n=0 bad=0 f e
    while read -r f; do
        n=$((n + 1))
        e=$(bad_entries "$f" | tr '\n' ' ')
        if [ -n "$e" ]; then bad=$((bad + 1)); echo "#   ${f#"$2"/}: $e"; fi
    done < <(elves "$2")
    check "$1: $n ELF files, none with an empty or relative RUNPATH entry ($bad bad)" \
        test "$n" -gt 0 -a "$bad" = 0
}
check_tree "the build tree" "$b"
cmake --install "$b" --prefix "$T/inst" >"$T/install.log" 2>&1 || { cat "$T/install.log"; not_ok "cmake --install"; }
check_tree "an installation" "$T/inst"

# Plant a library with a constructor under the name of every library that
# mr-run, libmr and the jobs need, then run from that folder.
mkdir -p "$T/plant"
cat >"$T/plant.c" <<'C'
#include <fcntl.h>
#include <unistd.h>
__attribute__((constructor)) static void planted(void)
{
    int fd = open(PLANTED_MARK, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) { (void)!write(fd, "loaded\n", 7); close(fd); }
}
C
cc -shared -fPIC -DPLANTED_MARK="\"$T/planted\"" -o "$T/plant/planted.so" "$T/plant.c" ||
    not_ok "cannot build the planted library"
needed=$(for f in "$b/bin/mr-run" "$b"/lib/libmr.so* "$b"/lib/mr/jobs/*.so; do
    readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'; done | sort -u)
for lib in $needed; do cp "$T/plant/planted.so" "$T/plant/$lib"; done
printf 'a b a\n' >"$T/plant/words.txt"
check "planted $(echo "$needed" | wc -w) libraries, libz.so.1 among them" test -e "$T/plant/libz.so.1"
for np in 1 2; do
    rc=0
    (cd "$T/plant" && timeout 60 "$MR_MPIRUN" $np "$MR_RUN" hello >"$T/out" 2>"$T/err") || rc=$?
    check "hello at np $np from that folder runs (exit $rc)" test "$rc" = 0
    rc=0
    (cd "$T/plant" && timeout 60 "$MR_MPIRUN" $np "$MR_RUN" wordcount words.txt >"$T/out" 2>"$T/err") || rc=$?
    check "wordcount at np $np from that folder runs (exit $rc)" test "$rc" = 0
done
rc=0
(cd "$T/plant" && timeout 60 "$T/inst/bin/mr-run" hello >"$T/out" 2>"$T/err") || rc=$?
check "the installed mr-run from that folder runs (exit $rc)" test "$rc" = 0
check "no planted library was loaded" test ! -e "$T/planted"
check "... nor named in an error" eval '! grep -rq "$T/plant" "$T/err"'
mr_done
