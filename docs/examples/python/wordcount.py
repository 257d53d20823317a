"""Word count: how often each word occurs, as mr's C `wordcount` counts.

    mpirun -np 4 mr-run python wordcount.py [--out FILE] INPUT...

A word is a run of ASCII letters and digits and of bytes >= 0x80 (UTF-8
letters), lowercased (ASCII). Prints `word<TAB>count` lines, most frequent
first, then by word (to --out FILE, or standard output): the same bytes
as `mr-run wordcount --out FILE`.

The engine reads the files (folders, .gz, `-` for stdin) and gives map
about 1 MiB of whole lines at a time (`chunks`), as bytes (`encoding`).
map splits a chunk into words with two bytes methods (in C) and hands the
list to mr.count, which emits (word, 1) for each; `fold = "sum"` makes the
engine add the counts in C as they arrive. Python runs once per chunk,
not once per word. (`return collections.Counter(words)` works too: a dict
is a bulk of pairs; it is a little slower, as it builds the dict first.)
"""
import mr

chunks = True  # map(chunk): many whole lines at once
encoding = None  # records as bytes, not str: no decoding
fold = "sum"  # values are added by the engine, exactly (ints)

# every byte that is not part of a word becomes a space; A-Z become a-z
WORD = set(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
WORD |= set(range(0x80, 0x100))
TABLE = bytes(b if b in WORD else 0x20 for b in range(256)).lower()


def map(chunk):
    mr.count(chunk.translate(TABLE).split())


def order(word, count):  # a sort key for the output, as sorted(key=...)
    return -count, word
