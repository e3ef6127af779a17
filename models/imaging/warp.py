"""cv2.warpAffine(..., flags=INTER_CUBIC, borderMode=BORDER_CONSTANT) on uint8 images, as OpenCV 4.6
and gpu-service/src/imaging (warp.ts, letterbox-fused.ts) compute it, for the axis-aligned maps a
letterbox is (a scale + a shift): destination pixel centres mapped back with the inverted matrix
in 10-bit fixed point, sub-pixel positions quantised to 1/32, 15-bit integer weights of the Keys
cubic kernel (a = -0.75), taps outside the source taking the border value. Vectorised: 16
gathers of [dst_h, dst_w, C] from a source framed by a ring of the border value."""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .affine import invert_affine
from .cubic_table import AB_BITS, AB_SCALE, COEF_BITS, INTER_BITS, ROUND_DELTA, TAB_SIZE, fixed_weights

RING = 4  # border pixels around the source: every tap of a 4x4 window outside it lands in the ring


@lru_cache(maxsize=1)
def _weights() -> np.ndarray:
    """[32, 32, 16] int32 (fy, fx, row * 4 + col), built once (constants)."""
    table = fixed_weights().reshape(TAB_SIZE, TAB_SIZE, 16)
    table.setflags(write=False)
    return table


def axis_aligned_samples(matrix: np.ndarray, dst_w: int, dst_h: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-axis source positions in 1/32 pixels ([dst_w], [dst_h] int64), as WarpAffineInvoker
    computes them; ValueError unless the fixed-point map is a scale + shift."""
    m = invert_affine(matrix).reshape(6)  # destination -> source
    shift = AB_BITS - INTER_BITS
    xs, ys = np.arange(dst_w, dtype=np.float64), np.arange(dst_h, dtype=np.float64)
    x0 = int(np.rint(m[2] * AB_SCALE)) + ROUND_DELTA
    if np.rint(m[3] * xs * AB_SCALE).any() or (np.rint((m[1] * ys + m[2]) * AB_SCALE) + ROUND_DELTA != x0).any():
        raise ValueError("the map is not axis-aligned (a letterbox always is)")
    x = (x0 + np.rint(m[0] * xs * AB_SCALE).astype(np.int64)) >> shift
    y = (np.rint((m[4] * ys + m[5]) * AB_SCALE).astype(np.int64) + ROUND_DELTA) >> shift
    return x, y


def warp_affine_cubic_u8(src: np.ndarray, matrix: np.ndarray, dst_w: int, dst_h: int,
                         border: tuple[float, ...] | list[float]) -> np.ndarray:
    """[H, W, C] uint8 -> [dst_h, dst_w, C] uint8; `matrix` maps source to destination pixels (as
    given to cv2.warpAffine); `border` per channel, rounded half to even and saturated.

    A window straddling the edge sums border x weight for its outside taps, which is what OpenCV's
    edge path computes (the weights sum to exactly 1 << 15), and a window wholly outside gives the
    border value; so one sum over a ring-framed source covers the interior, edge and outside."""
    if src.dtype != np.uint8 or src.ndim != 3:
        raise TypeError("warp_affine_cubic_u8 takes [H, W, C] uint8 images")
    height, width, channels = src.shape
    cval = np.clip(np.rint(np.asarray(border, dtype=np.float64)[:channels]), 0, 255).astype(np.uint8)
    framed = np.empty((height + 2 * RING, width + 2 * RING, channels), dtype=np.uint8)
    framed[:RING], framed[-RING:], framed[:, :RING], framed[:, -RING:] = cval, cval, cval, cval
    framed[RING:RING + height, RING:RING + width] = src
    x, y = axis_aligned_samples(matrix, dst_w, dst_h)
    # first tap of each window, moved into the ring when further out (same value there: the border)
    sx = np.clip((x >> INTER_BITS) - 1, -RING, width + RING - 4) + RING  # [dst_w]
    sy = np.clip((y >> INTER_BITS) - 1, -RING, height + RING - 4) + RING  # [dst_h]
    weights = _weights()[(y & (TAB_SIZE - 1))[:, None], (x & (TAB_SIZE - 1))[None, :]]  # [dst_h, dst_w, 16]
    acc = np.zeros((dst_h, dst_w, channels), dtype=np.int32)  # |sum| <= 255 * 16 * 2^15 < 2^31
    for r in range(4):
        rows = framed[sy + r]  # [dst_h, W + 8, C]
        for c in range(4):
            acc += rows[:, sx + c] * weights[:, :, r * 4 + c, None]
    return np.clip((acc + (1 << (COEF_BITS - 1))) >> COEF_BITS, 0, 255).astype(np.uint8)


def warp_affine_nearest_u8(src: np.ndarray, matrix: np.ndarray, dst_w: int, dst_h: int, border: int = 0) -> np.ndarray:
    """cv2.warpAffine(..., flags=INTER_NEAREST) of a [H, W] uint8 image as OpenCV 4.6 computes it:
    source position (X0 + adelta) >> 10 with round delta 1/2, outside pixels = border."""
    m = invert_affine(matrix).reshape(6)
    xs = np.arange(dst_w, dtype=np.float64)
    ys = np.arange(dst_h, dtype=np.float64)
    half = AB_SCALE // 2
    adelta = np.rint(m[0] * xs * AB_SCALE).astype(np.int64)  # [W]
    bdelta = np.rint(m[3] * xs * AB_SCALE).astype(np.int64)
    x0 = np.rint((m[1] * ys + m[2]) * AB_SCALE).astype(np.int64) + half  # [H]
    y0 = np.rint((m[4] * ys + m[5]) * AB_SCALE).astype(np.int64) + half
    sx = (x0[:, None] + adelta[None, :]) >> AB_BITS  # [H, W]
    sy = (y0[:, None] + bdelta[None, :]) >> AB_BITS
    inside = (sx >= 0) & (sx < src.shape[1]) & (sy >= 0) & (sy < src.shape[0])
    out = np.full((dst_h, dst_w), border, dtype=np.uint8)
    out[inside] = src[sy[inside], sx[inside]]
    return out
