#!/usr/bin/env bash
# numpy.sh -- matmul against NumPy: files NumPy writes (C and Fortran
# order, format 1.0 and 2.0) are read right, our --out loads in NumPy, is
# the file np.save would write for the same array, and equals A @ B within
# k * 2^-52 |A||B|; dtypes NumPy writes that we refuse are refused with
# exit 1. Skips (exit 77) when no python3 with numpy is installed.
source "$MR_SOURCE_DIR/tests/lib.sh"


PY=
for p in python3 /usr/bin/python3; do
    if command -v "$p" >/dev/null && "$p" -c 'import numpy' 2>/dev/null; then
        PY=$p
        break
    fi
done
if [ -z "$PY" ]; then
    echo "skip: no python3 with numpy (Debian: python3-numpy)"
    exit 77
fi

cd "$T"
"$PY" - <<'EOF'
import numpy as np
from numpy.lib import format as fmt
rng = np.random.default_rng(5)
a = rng.standard_normal((45, 70))
b = rng.uniform(-3, 3, (70, 29))
np.save("a_c.npy", a)
np.save("b_f.npy", np.asfortranarray(b))
with open("a_f2.npy", "wb") as f:
    fmt.write_array(f, np.asfortranarray(a), version=(2, 0))
with open("b_c2.npy", "wb") as f:
    fmt.write_array(f, b, version=(2, 0))
np.save("a_f4.npy", a.astype(np.float32))
np.save("a_be.npy", a.astype(">f8"))
np.save("a_i8.npy", np.arange(12).reshape(3, 4))
EOF
check "numpy wrote the inputs" test -s a_c.npy -a -s b_c2.npy

# compare C.npy A.npy B.npy: loads, shape, exact np.save bytes, error bound.
compare() {
    "$PY" - "$@" <<'EOF'
import io, sys
import numpy as np
c_path, a_path, b_path = sys.argv[1:4]
a, b, c = np.load(a_path), np.load(b_path), np.load(c_path)
assert c.dtype == np.float64 and c.shape == (a.shape[0], b.shape[1]), c.shape
buf = io.BytesIO()
np.save(buf, c)
assert buf.getvalue() == open(c_path, "rb").read(), "not what np.save writes"
ref = a.astype(np.longdouble) @ b.astype(np.longdouble)
bound = np.abs(a) @ np.abs(b) * a.shape[1] * 2.0**-52
err = np.abs(c - ref)
assert (err <= bound).all(), float((err / bound).max())
print("ok: max error / bound = %.3g" % float((err / bound).max()))
EOF
}

for pair in "a_c b_f" "a_f2 b_c2" "a_c b_c2"; do
    set -- $pair
    for np in 1 3; do
        rm -f c.npy
        run "$np" matmul --a "$1.npy" --b "$2.npy" --block 16 --out c.npy --quiet
        check "numpy $1 * $2, np $np: exit 0" test "$rc" = 0
        check "numpy $1 * $2, np $np: C is right and np.save-identical" \
            compare c.npy "$1.npy" "$2.npy"
    done
done

expect_fail 1 "a_f4.npy: dtype '<f4' is not supported" "numpy float32" \
    2 matmul --a a_f4.npy --b b_f.npy --out c2.npy
expect_fail 1 "a_be.npy: dtype '>f8' is not supported" "numpy big-endian" \
    2 matmul --a a_be.npy --b b_f.npy --out c2.npy
expect_fail 1 "a_i8.npy: dtype '<i8' is not supported" "numpy int64" \
    2 matmul --a a_i8.npy --b b_f.npy --out c2.npy
check "no output after refusals" test ! -e c2.npy

mr_done
