"""The reference's loss (per-pixel sigmoid BCE at stride 4) plus a soft Dice term; with a presence
head, plus a sigmoid BCE on the presence logit (target: the mask is not empty). A no-target phrase
has an all-zero mask, so its mask loss asks for an empty prediction."""
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


def segmentation_loss(logits: torch.Tensor, masks: torch.Tensor, dice_weight: float,
                      presence: torch.Tensor | None = None, presence_weight: float = 1.0) -> tuple[torch.Tensor, dict]:
    """(loss, detached parts as tensors: reading them as floats is left to the logger, which syncs a GPU).

    presence: [B,1] logits or None; its target is 1 where the mask has any pixel."""
    bce = bce_loss(logits, masks)
    dice = dice_loss(logits, masks)
    loss, parts = bce + dice_weight * dice, {"bce": bce.detach(), "dice": dice.detach()}
    if presence is not None:
        present = (masks.flatten(1).amax(1, keepdim=True) > 0).to(presence.dtype)  # [B,1]
        pres = F.binary_cross_entropy_with_logits(presence, present)
        loss = loss + presence_weight * pres
        parts["presence"] = pres.detach()
    return loss, parts
