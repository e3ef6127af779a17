"""The service's float warp for axis-aligned maps (gpu-service/src/imaging/warp.ts, separable form
of warpAffineCubicF32): the same fixed-point sample positions as OpenCV's INTER_CUBIC warp, the 1-D
float32 Keys weights, rows first then columns in float64, rounded to float32 after each pass
(taps outside the source weigh 0 around the border value). Used for the inverse letterbox of
probability maps."""
from __future__ import annotations

import numpy as np

from .cubic_table import INTER_BITS, TAB_SIZE, cubic_weights
from .warp import axis_aligned_samples


def _taps(positions: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """[N, 4] source indices (clamped) and float64 weights (0 for taps outside)."""
    start = (positions >> INTER_BITS) - 1
    one_d = cubic_weights(np.arange(TAB_SIZE, dtype=np.float32) * np.float32(1 / TAB_SIZE))  # [32, 4]
    index = start[:, None] + np.arange(4)[None, :]
    inside = (index >= 0) & (index < size)
    weight = np.where(inside, one_d[positions & (TAB_SIZE - 1)].astype(np.float64), 0.0)
    return np.where(inside, index, 0), weight


def warp_affine_cubic_f32(src: np.ndarray, matrix: np.ndarray, dst_w: int, dst_h: int, border: float = 0.0) -> np.ndarray:
    """[H, W] float32 -> [dst_h, dst_w] float32 (bicubic, constant border), for axis-aligned maps."""
    x, y = axis_aligned_samples(matrix, dst_w, dst_h)
    height, width = src.shape
    tx_index, tx_weight = _taps(x, width)
    ty_index, ty_weight = _taps(y, height)
    shifted = src.astype(np.float64) - border  # [H, W]
    rows = tx_weight[:, 0] * shifted[:, tx_index[:, 0]]  # [H, dst_w], summed left to right as warp.ts
    for t in range(1, 4):
        rows = rows + tx_weight[:, t] * shifted[:, tx_index[:, t]]
    rows = rows.astype(np.float32).astype(np.float64)
    out = border + ty_weight[:, 0, None] * rows[ty_index[:, 0]]  # [dst_h, dst_w]
    for t in range(1, 4):
        out = out + ty_weight[:, t, None] * rows[ty_index[:, t]]
    return out.astype(np.float32)
