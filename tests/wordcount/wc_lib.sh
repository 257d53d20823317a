# wc_lib.sh -- helpers shared by the wordcount script tests (source it
# after tests/lib.sh).
GEN="$MR_BUILD_DIR/bin/mr-gencorpus"
SCHEDS="block cyclic dynamic master"
export LC_ALL=C

# ref_whitespace FILE...: the reference pipeline, as "count word"
# lines sorted bytewise. Reads .gz files through zcat.
ref_whitespace() {
    local f
    for f in "$@"; do
        case $f in *.gz) zcat -- "$f" ;; *) cat -- "$f" ;; esac
    done | tr -s ' \t\n\v\f\r' '\n' | grep -v '^$' | sort | uniq -c |
        sed 's/^ *//' | sort
}

# ref_words [--case-sensitive] FILE...: an independent words tokenizer
# (tr on the complement of letters, digits and bytes >= 0x80).
ref_words() {
    local lower=1 f
    [ "$1" = --case-sensitive ] && { lower=0; shift; }
    for f in "$@"; do
        case $f in *.gz) zcat -- "$f" ;; *) cat -- "$f" ;; esac
    done | tr -c 'A-Za-z0-9\200-\377' '\n' |
        if [ $lower = 1 ]; then tr 'A-Z' 'a-z'; else cat; fi |
        grep -v '^$' | sort | uniq -c | sed 's/^ *//' | sort
}

# table_as_ref TABLE: our "word<TAB>count" table as "count word" lines,
# sorted bytewise like the reference.
table_as_ref() {
    awk -F'\t' '{ print $2 " " $1 }' "$1" | sort
}

# table_sorted TABLE: lines are in count-descending, word-ascending order.
table_sorted() {
    sort -t"$(printf '\t')" -k2,2nr -k1,1 -c "$1" 2>/dev/null
}
