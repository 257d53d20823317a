#!/usr/bin/python3
"""png_pixels.py -- checks a mandelbrot PNG with Python alone.

    png_pixels.py IMAGE.png COUNTS.npy MAX_ITER [GROUP_ROWS]

Reads the PNG chunk by chunk (every CRC checked, IHDR first, IEND last,
the IDAT chunks in one run), inflates the IDAT data with zlib (which
checks the zlib header and the Adler-32 of the whole stream, and nothing
may follow the stream), undoes the row filters, and compares every pixel
with the colour of its count in COUNTS.npy, computed here with NumPy from
the colour map's formula (mandel_png.h): an independent reference for the
job's C code. With GROUP_ROWS, also checks the parallel writer's layout:
one IDAT for the zlib header, one per group of rows, one for the end.
Exit 0 and one line on success, 1 and the reason otherwise.
"""
import struct
import sys
import zlib

import numpy as np


def fail(msg):
    print("png_pixels: " + msg)
    sys.exit(1)


def chunks(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("no PNG signature")
    pos = 8
    while pos < len(data):
        if pos + 12 > len(data):
            fail("truncated chunk at %d" % pos)
        (n,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", data[pos + 8 + n:pos + 12 + n])
        if zlib.crc32(kind + body) != crc:
            fail("bad CRC in %r at %d" % (kind, pos))
        yield kind, body
        pos += 12 + n


def colours(counts, max_iter):
    """The colour map of mandel_png.c, in NumPy."""
    n = counts.astype(np.float64)
    t = 0.95 * np.log1p(n) / np.log1p(float(max_iter))
    s = 1.0 - t

    def unit(v):  # lround(v * 255) for v >= 0, clamped
        return np.clip(np.floor(v * 255.0 + 0.5), 0, 255).astype(np.uint8)

    rgb = np.stack([unit(9.0 * s * t ** 3), unit(15.0 * s * s * t * t),
                    unit(8.5 * s ** 3 * t)], axis=-1)
    black = (rgb == 0).all(axis=-1)
    rgb[..., 2][black] = 1
    rgb[counts >= max_iter] = 0
    return rgb


def unfilter(raw, h, w):
    stride = 3 * w
    out = np.zeros((h, stride), dtype=np.uint8)
    prev = np.zeros(stride, dtype=np.int32)
    pos = 0
    for r in range(h):
        ftype = raw[pos]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride,
                             offset=pos + 1).astype(np.int32)
        pos += 1 + stride
        if ftype == 0:
            cur = line
        elif ftype == 2:
            cur = (line + prev) & 255
        elif ftype in (1, 3, 4):  # byte by byte: rare here
            cur = np.zeros(stride, dtype=np.int32)
            for i in range(stride):
                a = int(cur[i - 3]) if i >= 3 else 0
                b = int(prev[i])
                c = int(prev[i - 3]) if i >= 3 else 0
                if ftype == 1:
                    pred = a
                elif ftype == 3:
                    pred = (a + b) // 2
                else:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                cur[i] = (int(line[i]) + pred) & 255
        else:
            fail("row %d: filter type %d" % (r, ftype))
        out[r] = cur
        prev = cur
    return out.reshape(h, w, 3)


def main():
    if len(sys.argv) not in (4, 5):
        fail("usage: png_pixels.py IMAGE.png COUNTS.npy MAX_ITER [GROUP_ROWS]")
    data = open(sys.argv[1], "rb").read()
    counts = np.load(sys.argv[2])
    max_iter = int(sys.argv[3])
    kinds = []
    idat = []
    ihdr = None
    for kind, body in chunks(data):
        kinds.append(kind)
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            if kinds[-2] != b"IDAT" and b"IDAT" in kinds[:-1]:
                fail("IDAT chunks not in one run")
            idat.append(body)
    if not kinds or kinds[0] != b"IHDR" or kinds[-1] != b"IEND":
        fail("chunks %r: want IHDR first and IEND last" % kinds)
    w, h, depth, ctype, comp, filt, lace = struct.unpack(">IIBBBBB", ihdr)
    if (depth, ctype, comp, filt, lace) != (8, 2, 0, 0, 0):
        fail("IHDR: not 8-bit RGB, plain")
    if counts.shape != (h, w):
        fail("counts %r, image %dx%d" % (counts.shape, w, h))
    d = zlib.decompressobj()
    raw = d.decompress(b"".join(idat)) + d.flush()
    if not d.eof or d.unused_data:
        fail("the deflate stream does not end where the IDAT data does")
    if len(raw) != h * (1 + 3 * w):
        fail("%d bytes inflated, want %d" % (len(raw), h * (1 + 3 * w)))
    px = unfilter(raw, h, w)
    want = colours(counts, max_iter)
    bad = np.argwhere((px != want).any(axis=-1))
    if len(bad):
        r, c = bad[0]
        fail("%d pixels differ, first (%d, %d): %r, count %d wants %r"
             % (len(bad), r, c, px[r, c], counts[r, c], want[r, c]))
    if len(sys.argv) == 5:
        g = int(sys.argv[4])
        groups = (h + g - 1) // g
        if len(idat) != groups + 2 or len(idat[0]) != 2:
            fail("%d IDAT chunks (first %d bytes), want %d: zlib header, "
                 "%d groups, end" % (len(idat), len(idat[0]), groups + 2,
                                     groups))
    print("png_pixels: %dx%d, %d IDAT chunks, every pixel right"
          % (w, h, len(idat)))


main()
