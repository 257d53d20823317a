# wc_reduce.py -- word count reducer for the stream job, in Python: input
# sorted and grouped by key, as the stream job guarantees.
import itertools
import sys

out = sys.stdout.buffer
pairs = (line.rstrip(b"\n").split(b"\t", 1) for line in sys.stdin.buffer)
for word, group in itertools.groupby(pairs, key=lambda kv: kv[0]):
    out.write(word + b"\t" + str(sum(int(v) for _, v in group)).encode() + b"\n")
