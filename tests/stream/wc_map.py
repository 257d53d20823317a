# wc_map.py -- word count mapper for the stream job, in Python: one
# "word<TAB>1" line per whitespace-separated token (bytes.split() splits at
# space, \t, \n, \v, \f, \r, as `wordcount --tokens whitespace` does).
import sys

out = sys.stdout.buffer
for line in sys.stdin.buffer:
    for word in line.split():
        out.write(word + b"\t1\n")
