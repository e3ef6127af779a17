"""A trained CRIS on one image and its phrases, post-processed as the service does: sigmoid,
bicubic upsample to S (align corners), inverse letterbox (models/imaging, the service's float
warp) to the original size, threshold. Used by evaluate.py and plots.py.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from models.imaging import inverse_letterbox_matrix, warp_affine_cubic_f32

from .data import letterbox_image, normalise


def predict(model, rgb: np.ndarray, tokens: np.ndarray, size: int,
            threshold: float) -> tuple[list[np.ndarray], list[float | None]]:
    """One image [H,W,3] uint8, tokens [N,L] -> N bool masks [H,W], N presence probabilities (None without the head)."""
    device = next(model.parameters()).device
    boxed = torch.from_numpy(letterbox_image(rgb, size))[None].to(device)  # [1,S,S,3]
    with torch.no_grad():
        feats = model.encode_image(normalise(boxed))
        n = tokens.shape[0]
        feats = [f.expand(n, -1, -1, -1) for f in feats]
        logits, presence = model.head_outputs(*feats, torch.from_numpy(tokens).to(device))  # [N,1,S/4,S/4], [N,1]
        # sigmoid first, then upsample: the reference's order (and the service's)
        probs = F.interpolate(torch.sigmoid(logits.float()), (size, size), mode="bicubic", align_corners=True)[:, 0]
        probs = probs.cpu()
    height, width = rgb.shape[:2]
    inverse = inverse_letterbox_matrix(width, height, size)  # network -> original, the service's
    out = [warp_affine_cubic_f32(p, inverse, width, height, 0.0) > threshold for p in probs.numpy()]
    probs_presence = torch.sigmoid(presence.float())[:, 0].tolist() if presence is not None else [None] * n
    return out, probs_presence


def predict_masks(model, rgb: np.ndarray, tokens: np.ndarray, size: int, threshold: float) -> list[np.ndarray]:
    """One image [H,W,3] uint8, tokens [N,L] -> N bool masks [H,W] (presence not applied)."""
    return predict(model, rgb, tokens, size, threshold)[0]
