"""The CRIS network: CLIP backbone -> FPN neck -> vision-language decoder -> projector.

`forward(image, tokens)` is the whole network; `encode_image` and `head` are the two halves that
the ONNX bundle exports (the image half does not depend on the text). With `cfg.presence` the
head also gives a presence logit per phrase (`head_outputs`); the reference has no such head, so
official checkpoints build without it and load strictly.
"""
from __future__ import annotations

import torch
from torch import nn

from .clip_text import ClipBackbone
from .config import CrisConfig
from .decoder import TransformerDecoder
from .presence import PresenceHead
from .neck import FPN
from .projector import Projector


class CRIS(nn.Module):
    def __init__(self, cfg: CrisConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.backbone = ClipBackbone(cfg)
        self.neck = FPN(cfg.fpn_in, cfg.fpn_out)
        self.decoder = TransformerDecoder(cfg.num_layers, cfg.vis_dim, cfg.num_head, cfg.dim_ffn, cfg.dropout)
        self.proj = Projector(cfg.word_dim, cfg.vis_dim // 2, 3)
        self.presence = PresenceHead(cfg.vis_dim, cfg.word_dim) if cfg.presence else None

    def encode_image(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """image [B,3,S,S] (normalised) -> C3 [B,8w,S/8,S/8], C4 [B,16w,S/16,S/16], C5 [B,E,S/32,S/32]."""
        return self.backbone.encode_image(image)

    def head_outputs(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor,
                     tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Image features + tokens [B,L] int64 (0 = padding) -> logits [B,1,S/4,S/4], presence [B,1] or None."""
        pad_mask = tokens == 0  # [B,L]
        words, state = self.backbone.encode_text(tokens)  # [B,L,W], [B,E]
        fq = self.neck(c3, c4, c5, state)  # [B,D,S/16,S/16]
        fq = self.decoder(fq, words, pad_mask)  # [B,D,S/16,S/16]
        logits = self.proj(fq, state)
        return logits, (self.presence(fq, state, logits) if self.presence is not None else None)

    def head(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        """Image features + tokens [B,L] int64 (0 = padding) -> logits [B,1,S/4,S/4]."""
        return self.head_outputs(c3, c4, c5, tokens)[0]

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(*self.encode_image(image), tokens)
