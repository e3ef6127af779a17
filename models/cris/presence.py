"""Our presence head (not in the reference CRIS): one logit per phrase, "does the phrase name
anything in the image?", from what the network already computes: the decoder's multimodal pixel
features (mean- and max-pooled), the sentence state, and the mask logits' maximum and mean."""
from __future__ import annotations

import torch
from torch import nn


class PresenceHead(nn.Module):
    def __init__(self, vis_dim: int, word_dim: int, hidden: int | None = None):
        super().__init__()
        hidden = hidden or vis_dim
        self.mlp = nn.Sequential(nn.Linear(2 * vis_dim + word_dim + 2, hidden), nn.ReLU(inplace=True),
                                 nn.Linear(hidden, 1))

    @staticmethod
    def features(fq: torch.Tensor, state: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """fq [B,D,h,w] decoder output, state [B,E], logits [B,1,H,W] -> pooled features [B,2D+E+2]."""
        pixels = fq.flatten(2)  # [B,D,h*w]
        flat = logits.flatten(1)  # [B,H*W]
        peak = flat.amax(1, keepdim=True)  # [B,1]
        mean = flat.mean(1, keepdim=True)  # [B,1]
        return torch.cat([pixels.mean(2), pixels.amax(2), state, peak, mean], dim=1)  # [B,2D+E+2]

    def forward(self, fq: torch.Tensor, state: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
        """fq [B,D,h,w] decoder output, state [B,E], logits [B,1,H,W] -> presence logit [B,1]."""
        return self.mlp(self.features(fq, state, logits))
