"""C = A @ B by blocks: one map task per block product, reduced by key.

    mpirun -np 4 mr-run python matmul.py --n 1024 --block 256 --out C.npy
    mpirun -np 4 mr-run python matmul.py --a A.npy --b B.npy --out C.npy

Each task is a triple (i, k, j) of block indices; map multiplies block
(i, k) of A by block (k, j) of B (NumPy, so BLAS, one thread per rank) and
emits ((i, j), partial block); reduce adds the partial blocks of C(i, j)
in task order, so C has the same bytes at any number of ranks. Every rank
reads (or generates from --seed) A and B; rank 0 assembles C.
"""
import sys

import numpy as np

import mr

options = {
    "n": (512, "size of the generated square matrices"),
    "block": (128, "block size"),
    "seed": (1, "seed of the generated A and B"),
    "a": (None, "read A from this .npy file"),
    "b": (None, "read B from this .npy file"),
    "out": (None, "write C to this .npy file"),
    "verify": (False, "compare with A @ B on rank 0"),
}

A = B = None


def setup():
    global A, B
    o = mr.options
    if o["block"] < 1:
        raise mr.UsageError("--block must be >= 1")
    if o["a"] and o["b"]:
        A, B = np.load(o["a"]), np.load(o["b"])
    elif o["a"] or o["b"]:
        raise mr.UsageError("give both --a and --b, or neither")
    else:
        rng = np.random.default_rng(o["seed"])
        A = rng.standard_normal((o["n"], o["n"]))
        B = rng.standard_normal((o["n"], o["n"]))
    if A.ndim != 2 or B.ndim != 2 or A.shape[1] != B.shape[0]:
        raise mr.UsageError(f"A {A.shape} and B {B.shape} do not multiply")


def blocks(n):
    b = mr.options["block"]
    return range((n + b - 1) // b)


def part(M, i, j):
    b = mr.options["block"]
    return M[i * b:(i + 1) * b, j * b:(j + 1) * b]


def split():
    return [(i, k, j) for i in blocks(A.shape[0]) for j in blocks(B.shape[1])
            for k in blocks(A.shape[1])]


def map(task):
    i, k, j = task
    yield (i, j), part(A, i, k) @ part(B, k, j)


def reduce(ij, partials):
    total = None
    for p in partials:  # in task order: the same sum at any rank count
        total = p if total is None else total + p
    return total


C = None


def output(ij, block):
    global C
    if C is None:
        C = np.zeros((A.shape[0], B.shape[1]))
    b = mr.options["block"]
    i, j = ij
    C[i * b:i * b + block.shape[0], j * b:j * b + block.shape[1]] = block


def finish():
    if mr.options["out"]:
        np.save(mr.options["out"], C)
    line = f"matmul: {A.shape[0]}x{A.shape[1]} @ {B.shape[0]}x{B.shape[1]}"
    if mr.options["verify"]:
        err = float(np.abs(C - A @ B).max())
        line += f", max |C - A@B| = {err:.3g}"
        if not err <= 1e-9 * max(1.0, float(np.abs(A @ B).max())):
            raise RuntimeError(line + ": wrong")
    print(line, file=sys.stderr)
