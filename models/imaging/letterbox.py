"""The service's letterbox (gpu-service/src/imaging/letterbox.ts letterboxRgb): the reference's
matrix and OpenCV 4.6's bicubic warp, the CLIP mean colour as border."""
from __future__ import annotations

import numpy as np

from .affine import letterbox_matrix
from .warp import warp_affine_cubic_u8


def letterbox_rgb(rgb: np.ndarray, size: int, pad_rgb: tuple[float, ...] | list[float]) -> np.ndarray:
    """[H, W, 3] uint8 -> [S, S, 3] uint8: scale = min(S/h, S/w), centred, bicubic, border pad_rgb."""
    height, width = rgb.shape[:2]
    return warp_affine_cubic_u8(rgb, letterbox_matrix(width, height, size), size, size, pad_rgb)
