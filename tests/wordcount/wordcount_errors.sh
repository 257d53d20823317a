#!/usr/bin/env bash
# wordcount_errors.sh -- bad input and bad options: the file and the reason
# (and the byte offset for gzip), before any work where it can be known,
# the right exit status (1 for input, 2 for usage), no output file left.
source "$MR_SOURCE_DIR/tests/lib.sh"
source "$MR_SOURCE_DIR/tests/wordcount/wc_lib.sh"
printf 'some words\nmore words\n' >"$T/ok.txt"

# no_output WHAT: neither the table nor a temporary file is left.
no_output() {
    check "$1: no output file left" test -z "$(ls -A "$T/o")"
}
mkdir "$T/o"

# 1. Options (exit 2).
expect_fail 2 "--top" "--top 0" 2 wordcount --top 0 "$T/ok.txt"
expect_fail 2 "--top" "--top -3" 2 wordcount --top -3 "$T/ok.txt"
expect_fail 2 "top.*abc|abc.*number|not" "--top abc" 2 wordcount --top abc "$T/ok.txt"
expect_fail 2 "--tokens" "--tokens bogus" 1 wordcount --tokens bogus "$T/ok.txt"
expect_fail 2 "no INPUT" "no input" 2 wordcount
expect_fail 2 "cannot write|No such" "--out in a missing folder" 2 \
    wordcount --out "$T/nowhere/x.tsv" "$T/ok.txt"

# 2. Missing and unreadable input: named, with the reason, exit 1.
expect_fail 1 "$T/missing.txt: No such file or directory" "missing file" 2 \
    wordcount --out "$T/o/t.tsv" "$T/ok.txt" "$T/missing.txt"
no_output "missing file"
# Several missing: each is named, on a line of its own, still exit 1.
expect_fail 1 "$T/missing1.txt: No such file or directory" \
    "several missing files: the first" 2 wordcount --out "$T/o/t.tsv" \
    "$T/missing1.txt" "$T/ok.txt" "$T/missing2.txt" "$T/missing3.txt"
check "several missing files: the second, on its own line" \
    grep -Eq "^$T/missing2.txt: No such file or directory\$" "$T/err"
check "several missing files: the third, on its own line" \
    grep -Eq "^$T/missing3.txt: No such file or directory\$" "$T/err"
no_output "several missing files"
mkdir -p "$T/d/sub"
cp "$T/ok.txt" "$T/d/sub/a.txt"
ln -s "$T/d/gone" "$T/d/sub/dangling"
expect_fail 1 "$T/d/sub/dangling: No such file or directory" \
    "dangling symlink in a folder" 2 wordcount --out "$T/o/t.tsv" "$T/d"
no_output "dangling symlink"
mkfifo "$T/fifo"
expect_fail 1 "$T/fifo: not a regular file or folder" "FIFO as input" 2 \
    wordcount "$T/fifo"
if [ "$(id -u)" = 0 ]; then
    # Root reads anything: the unreadable file is read as nobody, when
    # nobody can reach mr-run (folders of its own for Open MPI's files).
    mkdir "$T/nb" "$T/nb/shm"
    cp "$T/ok.txt" "$T/nb/secret.txt"
    cp "$T/ok.txt" "$T/nb/open.txt"
    chmod 000 "$T/nb/secret.txt"
    chmod 755 "$T"
    chown -R nobody "$T/nb" 2>/dev/null
    as=(setpriv --reuid=nobody --regid=nogroup --clear-groups
        env TMPDIR="$T/nb" HOME="$T/nb" OMPI_MCA_btl_vader_backing_directory="$T/nb/shm")
    if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null &&
        "${as[@]}" test -x "$MR_RUN" 2>/dev/null; then
        rc=0
        timeout -k 5 120 "${as[@]}" "$MR_MPIRUN" 2 "$MR_RUN" wordcount \
            --out "$T/nb/t.tsv" "$T/nb/open.txt" "$T/nb/secret.txt" \
            >"$T/out" 2>"$T/err" || rc=$?
        check "unreadable file, as nobody: exit 1 ($rc), the file and the reason" \
            test "$rc" = 1 -a -n "$(grep -F "$T/nb/secret.txt: Permission denied" "$T/err")"
        [ "$rc" = 1 ] || sed 's/^/#   /' "$T/err" | head -10
        check "unreadable file, as nobody: no table" test ! -e "$T/nb/t.tsv"
    else
        echo "ok - unreadable file: skipped as root (no user nobody, or it cannot reach mr-run; the dangling link and the FIFO above stand in)"
    fi
    chmod 700 "$T"
else
    mkdir "$T/locked"
    cp "$T/ok.txt" "$T/secret.txt"
    chmod 000 "$T/locked" "$T/secret.txt"
    expect_fail 1 "$T/locked: Permission denied" "unreadable folder" 2 \
        wordcount "$T/locked"
    expect_fail 1 "$T/secret.txt: Permission denied" "unreadable file" 2 \
        wordcount "$T/secret.txt"
    chmod 755 "$T/locked"
fi

# 3. Corrupt and truncated gzip: the file and the compressed byte offset.
"$GEN" --size 2M --seed 3 "$T/text.txt"
gzip -nc <"$T/text.txt" >"$T/good.gz" # no name: the header is 10 bytes
size=$(wc -c <"$T/good.gz")
head -c $((size / 2)) "$T/good.gz" >"$T/trunc.gz"
expect_fail 1 "$T/trunc.gz: truncated gzip data at compressed byte offset $((size / 2))" \
    "truncated .gz" 2 wordcount --out "$T/o/t.tsv" "$T/ok.txt" "$T/trunc.gz"
no_output "truncated .gz"
# Byte 10 starts the deflate data: block type 3 does not exist.
{ head -c 10 "$T/good.gz"; printf '\007'; tail -c +12 "$T/good.gz"; } >"$T/bad.gz"
expect_fail 1 "$T/bad.gz: corrupt gzip data at compressed byte offset 1[01] \(invalid block type\)" \
    "corrupt .gz" 3 wordcount --out "$T/o/t.tsv" "$T/bad.gz" "$T/text.txt"
no_output "corrupt .gz"
printf 'not gzip at all\n' >"$T/fake.gz"
expect_fail 1 "$T/fake.gz: corrupt gzip data at compressed byte offset [0-2] " \
    "not gzip, named .gz" 1 wordcount "$T/fake.gz"
# An old table stays as it was when a run fails.
echo "old	1" >"$T/o/t.tsv"
expect_fail 1 "trunc.gz" "failed run over an existing table" 2 \
    wordcount --out "$T/o/t.tsv" "$T/trunc.gz"
check "the existing table is untouched" test "$(cat "$T/o/t.tsv")" = "old	1"
check "and no temporary file is left" test "$(ls -A "$T/o")" = t.tsv
mr_done
