"""The reference's letterbox geometry, as gpu-service/src/imaging/affine.ts computes it: CRIS builds
the matrix with cv2.getAffineTransform on float32 points (so it is not the analytic one), and
cv2.warpAffine inverts the matrix it is given. Matrices are [2, 3] float64, row-major."""
from __future__ import annotations

import numpy as np


def _letterbox_points(width: int, height: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The three point pairs of CRIS getTransformMat, as float32 (then used as float64)."""
    scale = min(size / height, size / width)
    new_w, new_h = width * scale, height * scale
    bias_x, bias_y = (size - new_w) / 2, (size - new_h) / 2
    src = np.array([[0, 0], [width, 0], [0, height]], dtype=np.float32)
    dst = np.array([[bias_x, bias_y], [new_w + bias_x, bias_y], [bias_x, new_h + bias_y]], dtype=np.float32)
    return src.astype(np.float64), dst.astype(np.float64)


def letterbox_matrix(width: int, height: int, size: int) -> np.ndarray:
    """[2, 3] `mat` of the reference: original -> network pixels."""
    src, dst = _letterbox_points(width, height, size)
    return get_affine_transform(src, dst)


def inverse_letterbox_matrix(width: int, height: int, size: int) -> np.ndarray:
    """[2, 3] `mat_inv` of the reference: network -> original pixels."""
    src, dst = _letterbox_points(width, height, size)
    return get_affine_transform(dst, src)


def get_affine_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """cv2.getAffineTransform: the 6x6 system solved by OpenCV's LU with partial pivoting."""
    a = np.zeros((6, 6))
    b = np.zeros(6)
    for i in range(3):
        a[2 * i, 0:2] = a[2 * i + 1, 3:5] = src[i]
        a[2 * i, 2] = a[2 * i + 1, 5] = 1.0
        b[2 * i], b[2 * i + 1] = dst[i]
    _lu_solve(a, b)
    return b.reshape(2, 3)


def _lu_solve(a: np.ndarray, b: np.ndarray) -> None:
    """OpenCV's LUImpl in place (b receives the solution), operation for operation in float64."""
    m = len(b)
    for i in range(m):
        k = i
        for j in range(i + 1, m):
            if abs(a[j, i]) > abs(a[k, i]):
                k = j
        if abs(a[k, i]) < np.finfo(np.float64).eps * 100:
            raise ValueError("degenerate affine transform")
        if k != i:
            a[[i, k], i:] = a[[k, i], i:]
            b[[i, k]] = b[[k, i]]
        d = -1.0 / a[i, i]
        for j in range(i + 1, m):
            alpha = a[j, i] * d
            for c in range(i + 1, m):
                a[j, c] += alpha * a[i, c]
            b[j] += alpha * b[i]
    for i in range(m - 1, -1, -1):
        s = b[i]
        for c in range(i + 1, m):
            s -= a[i, c] * b[c]
        b[i] = s / a[i, i]


def invert_affine(m: np.ndarray) -> np.ndarray:
    """The inversion cv2.warpAffine applies to the matrix it is given (without WARP_INVERSE_MAP)."""
    m = [float(v) for v in np.asarray(m, dtype=np.float64).reshape(6)]
    d = m[0] * m[4] - m[1] * m[3]
    d = 1.0 / d if d != 0 else 0.0
    a11, a22 = m[4] * d, m[0] * d
    m1, m3 = -m[1] * d, -m[3] * d
    b1 = -a11 * m[2] - m1 * m[5]
    b2 = -m3 * m[2] - a22 * m[5]
    return np.array([[a11, m1, b1], [m3, a22, b2]])
