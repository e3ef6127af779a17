"""The reference's loss (per-pixel sigmoid BCE at stride 4) plus a soft Dice term."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def bce_loss(logits: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """logits, masks [B,1,h,w] (masks in [0,1]); masks resized to the logits if needed (nearest, as the reference)."""
    if masks.shape[-2:] != logits.shape[-2:]:
        masks = F.interpolate(masks, logits.shape[-2:], mode="nearest")
    return F.binary_cross_entropy_with_logits(logits, masks)


def dice_loss(logits: torch.Tensor, masks: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """1 - soft Dice per sample, averaged: counters the background's majority in BCE."""
    probs = torch.sigmoid(logits).flatten(1)  # [B,h*w]
    target = masks.flatten(1)  # [B,h*w]
    inter = (probs * target).sum(1)
    return (1 - (2 * inter + eps) / (probs.sum(1) + target.sum(1) + eps)).mean()


def segmentation_loss(logits: torch.Tensor, masks: torch.Tensor, dice_weight: float) -> tuple[torch.Tensor, dict]:
    bce = bce_loss(logits, masks)
    dice = dice_loss(logits, masks)
    """(loss, detached parts as tensors: reading them as floats is left to the logger, which syncs a GPU)."""
    return bce + dice_weight * dice, {"bce": bce.detach(), "dice": dice.detach()}
