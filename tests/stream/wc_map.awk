# wc_map.awk -- word count mapper for the stream job: one "word<TAB>1" line
# per token, a token being a run of bytes other than space, \t, \n, \v, \f,
# \r (what `wordcount --tokens whitespace` counts). Run it with LC_ALL=C.
BEGIN { FS = "[ \t\v\f\r]+" }
{ for (i = 1; i <= NF; i++) if ($i != "") print $i "\t1" }
