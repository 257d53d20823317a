"""The Mandelbrot set as map tasks of rows, with NumPy or pixel by pixel.

    mpirun -np 4 mr-run python mandelbrot.py --counts counts.npy
    mpirun -np 4 mr-run python mandelbrot.py --kernel pixel --stats

Each task is a tile of --tile rows; map computes its escape counts and
emits one (row, counts) pair per row; rank 0 gets the rows in order and
writes them as an int32 .npy file (--counts), the same array as
`mr-run mandelbrot --counts FILE` for the same options. Two kernels:

  numpy  the tile at once, vectorised (every pixel of the tile iterates
         until the last one escapes);
  pixel  the course's per-pixel function as written, in plain Python:
         slow, and its cost varies wildly from row to row, which is the
         load-imbalance study (--stats, --trace, --schedule).

Both do the C kernel's operations in its order, so counts agree exactly.
"""
import sys

import numpy as np

import mr

options = {
    "width": (1200, "image width in pixels"),
    "height": (800, "image height in pixels"),
    "region": ("-2,1,-1,1", "x0,x1,y0,y1 of the complex plane"),
    "max-iter": (1000, "iterations before a point counts as inside"),
    "tile": (8, "rows per map task"),
    "kernel": ("numpy", "numpy (vectorised tiles) or pixel (per pixel)"),
    "counts": (None, "write the escape counts to this .npy file"),
}


def view():
    o = mr.options
    x0, x1, y0, y1 = (float(v) for v in o["region"].split(","))
    return o["width"], o["height"], x0, x1, y0, y1, o["max-iter"]


def setup():
    o = mr.options
    if o["width"] < 1 or o["height"] < 1 or o["tile"] < 1 or o["max-iter"] < 1:
        raise mr.UsageError("--width, --height, --tile, --max-iter must be >= 1")
    if o["kernel"] not in ("numpy", "pixel"):
        raise mr.UsageError(f"--kernel {o['kernel']}: give numpy or pixel")
    if len(o["region"].split(",")) != 4:
        raise mr.UsageError("--region: give x0,x1,y0,y1")


def split():
    height, tile = mr.options["height"], mr.options["tile"]
    return [(r, min(r + tile, height)) for r in range(0, height, tile)]


def mandelbrot(cr, ci, max_iter):
    """The course's per-pixel function: iterations until |z| >= 2."""
    zr = zi = 0.0
    n = 0
    while n < max_iter:
        r2, i2 = zr * zr, zi * zi
        if not r2 + i2 < 4.0:
            break
        zr, zi = r2 - i2 + cr, (zr + zr) * zi + ci
        n += 1
    return n


def tile_numpy(cx, cy, max_iter):
    """The same iteration on a whole tile: rows cy x columns cx."""
    cr = np.broadcast_to(cx, (len(cy), len(cx)))
    ci = cy[:, None]
    zr = np.zeros(cr.shape)
    zi = np.zeros(cr.shape)
    counts = np.zeros(cr.shape, np.int32)
    active = np.ones(cr.shape, bool)
    with np.errstate(all="ignore"):  # escaped points may overflow: harmless
        for _ in range(max_iter):
            r2, i2 = zr * zr, zi * zi
            active &= r2 + i2 < 4.0
            if not active.any():
                break
            counts += active
            zr, zi = r2 - i2 + cr, (zr + zr) * zi + ci
    return counts


def map(task):
    r0, r1 = task
    width, height, x0, x1, y0, y1, max_iter = view()
    cx = x0 + np.arange(width, dtype=np.float64) * (x1 - x0) / width
    cy = y0 + np.arange(r0, r1, dtype=np.float64) * (y1 - y0) / height
    if mr.options["kernel"] == "numpy":
        counts = tile_numpy(cx, cy, max_iter)
    else:
        counts = np.array([[mandelbrot(x, y, max_iter) for x in cx.tolist()]
                           for y in cy.tolist()], np.int32)
    for i, row in enumerate(range(r0, r1)):
        yield row, counts[i]


rows = []


def output(row, counts):  # rank 0, rows in order (int keys sort numerically)
    rows.append(counts)


def finish():
    image = np.stack(rows)
    if mr.options["counts"]:
        np.save(mr.options["counts"], image)
    inside = int((image == view()[6]).sum())
    print(f"mandelbrot: {image.shape[1]}x{image.shape[0]}, {inside} points "
          f"inside, {int(image.sum(dtype=np.int64))} iterations",
          file=sys.stderr)
