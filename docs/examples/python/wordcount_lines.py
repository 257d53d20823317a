"""Word count, the simplest way: one call per line, one pair per word.

    mpirun -np 4 mr-run python wordcount_lines.py INPUT...

Same table as wordcount.py for whitespace-separated words, but Python runs
once per line and once per word: easy to read, several times slower.
"""
fold = "sum"


def map(line):
    for word in line.split():
        yield word, 1


def order(word, count):
    return -count, word
