"""CLIP's text transformer and the `backbone` module that holds it beside the visual encoder.

State_dict keys are CLIP's (`transformer.resblocks.N.*`, `token_embedding`, `positional_embedding`,
`ln_final`, `text_projection`, `logit_scale`, `visual.*`), so an official CRIS checkpoint's
`backbone.*` entries load one to one.
"""
from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .attention import MultiheadAttention
from .clip_visual import ModifiedResNet
from .config import CrisConfig


class LayerNorm(nn.LayerNorm):
    """Computes in float32 whatever the input dtype (CLIP's fp16-safe LayerNorm)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.layer_norm(x.float(), self.normalized_shape, self.weight.float(), self.bias.float(), self.eps)
        return out.to(x.dtype)


class QuickGELU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.attn = MultiheadAttention(width, heads)
        self.ln_1 = LayerNorm(width)
        self.mlp = nn.Sequential(OrderedDict([
            ("c_fc", nn.Linear(width, width * 4)),
            ("gelu", QuickGELU()),
            ("c_proj", nn.Linear(width * 4, width)),
        ]))
        self.ln_2 = LayerNorm(width)

    def forward(self, x: torch.Tensor, causal_mask: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, causal_mask)
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width: int, layers: int, heads: int):
        super().__init__()
        self.resblocks = nn.ModuleList([ResidualAttentionBlock(width, heads) for _ in range(layers)])

    def forward(self, x: torch.Tensor, causal_mask: torch.Tensor) -> torch.Tensor:
        for block in self.resblocks:
            x = block(x, causal_mask)
        return x


def causal_mask(length: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """[L,L]: 0 on and below the diagonal, -inf above (a token sees only earlier tokens).

    Built in numpy so that an exported graph holds it as a constant."""
    mask = np.triu(np.full((length, length), -np.inf, dtype=np.float32), 1)
    return torch.from_numpy(mask).to(dtype=dtype, device=device)


class ClipBackbone(nn.Module):
    """CLIP RN visual encoder + text transformer (CRIS's `backbone`)."""

    def __init__(self, cfg: CrisConfig):
        super().__init__()
        self.visual = ModifiedResNet(cfg.vision_layers, cfg.embed_dim, cfg.vision_heads, cfg.vision_pos_grid,
                                     cfg.vision_width)
        self.transformer = Transformer(cfg.text_width, cfg.text_layers, cfg.text_heads)
        self.token_embedding = nn.Embedding(cfg.vocab_size, cfg.text_width)
        self.positional_embedding = nn.Parameter(torch.empty(cfg.context_length, cfg.text_width))
        self.ln_final = LayerNorm(cfg.text_width)
        self.text_projection = nn.Parameter(torch.empty(cfg.text_width, cfg.embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))  # unused by CRIS, kept for keys
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        nn.init.normal_(self.text_projection, std=cfg.text_width ** -0.5)

    def encode_image(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.visual(image)

    def encode_text(self, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """tokens [B,L] int64 -> word features [B,L,width], sentence state [B,embed]."""
        length = tokens.shape[1]
        dtype = self.positional_embedding.dtype
        x = self.token_embedding(tokens).to(dtype) + self.positional_embedding[:length]  # [B,L,W]
        x = self.transformer(x, causal_mask(length, dtype, x.device))
        words = self.ln_final(x)  # [B,L,W]
        # the EOT token has the largest id; its state summarises the sentence
        eot = tokens.argmax(dim=-1)  # [B]
        index = eot[:, None, None].expand(-1, 1, words.shape[2])  # [B,1,W]
        state = words.gather(1, index).squeeze(1) @ self.text_projection  # [B,embed]
        return words, state
