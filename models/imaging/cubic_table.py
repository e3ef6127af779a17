"""OpenCV's bicubic interpolation tables (imgproc/imgwarp.cpp), as gpu-service/src/imaging/cubic-table.ts
builds them: the Keys kernel (a = -0.75) in float32 at 32 sub-pixel positions, the 2-D products
per (fy, fx), and their 15-bit fixed-point form whose rounding error OpenCV moves onto one central
weight so that they sum to 1 exactly."""
from __future__ import annotations

import numpy as np

INTER_BITS = 5
TAB_SIZE = 1 << INTER_BITS  # 32 sub-pixel positions
AB_BITS = 10
AB_SCALE = 1 << AB_BITS
ROUND_DELTA = AB_SCALE // TAB_SIZE // 2
COEF_BITS = 15
COEF_SCALE = 1 << COEF_BITS


def cubic_weights(x: np.ndarray) -> np.ndarray:
    """OpenCV interpolateCubic in float32 arithmetic: [N] fractions -> [N, 4] weights."""
    f = np.float32
    a = f(-0.75)
    x = x.astype(np.float32)
    x1 = x + f(1)
    c0 = ((a * x1 - f(5 * -0.75)) * x1 + f(8 * -0.75)) * x1 - f(4 * -0.75)
    c1 = ((f(-0.75 + 2) * x - f(-0.75 + 3)) * x) * x + f(1)
    omx = f(1) - x
    c2 = ((f(-0.75 + 2) * omx - f(-0.75 + 3)) * omx) * omx + f(1)
    c3 = f(1) - c0 - c1 - c2
    return np.stack([c0, c1, c2, c3], axis=1).astype(np.float32)


def fixed_weights() -> np.ndarray:
    """[32*32, 16] int32: OpenCV's int16 weights, row (fy * 32 + fx), column row * 4 + col."""
    one_d = cubic_weights(np.arange(TAB_SIZE, dtype=np.float32) * np.float32(1 / TAB_SIZE))  # [32, 4]
    products = one_d[:, None, :, None] * one_d[None, :, None, :]  # [fy, fx, k1, k2] float32
    fixed = np.clip(np.rint(products * np.float32(COEF_SCALE)), -32768, 32767).astype(np.int32)
    fixed = fixed.reshape(TAB_SIZE * TAB_SIZE, 16)  # [1024, 16]
    for row, diff in zip(*_rows_to_correct(fixed)):
        # The rounding error goes onto the largest (diff < 0) or smallest (diff > 0) of the
        # weights with k1, k2 in 2..3, the first such in scan order (OpenCV's strict < and >).
        centre = fixed[row, [10, 11, 14, 15]]
        mk, big = 10, 10
        for idx, value in zip((10, 11, 14, 15), centre):
            if value < fixed[row, mk]:
                mk = idx
            elif value > fixed[row, big]:
                big = idx
        fixed[row, big if diff < 0 else mk] -= diff
    return fixed


def _rows_to_correct(fixed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    diff = fixed.sum(axis=1) - COEF_SCALE
    rows = np.flatnonzero(diff)
    return rows, diff[rows]
