# wc_reduce.awk -- word count reducer (and combiner) for the stream job:
# input "word<TAB>count" lines sorted and grouped by word, output one
# "word<TAB>total" line per word. It relies on the grouping: it keeps one
# word at a time. Keys are compared as strings ($1 ""): awk would compare
# "1949" and "1949." as the same number.
BEGIN { FS = "\t" }
$1 "" != key { if (NR > 1) print key "\t" n; key = $1 ""; n = 0 }
{ n += $2 }
END { if (NR) print key "\t" n }
