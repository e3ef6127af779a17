"""CRIS's vision-language decoder: pre-norm layers of self-attention over pixels, cross-attention
from pixels to words (padding masked), and an FFN, with fixed sine position encodings."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .attention import MultiheadAttention, key_padding_to_additive


# The tables are built in numpy so that an exported graph holds them as constants.

def sine_positions_1d(dim: int, length: int) -> torch.Tensor:
    """[L,dim]: sin on even channels, cos on odd ones (the Transformer paper's encoding)."""
    position = np.arange(length, dtype=np.float32)[:, None]  # [L,1]
    freq = np.exp(np.arange(0, dim, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / dim)))  # [dim/2]
    pe = np.zeros((length, dim), dtype=np.float32)
    pe[:, 0::2] = np.sin(position * freq)
    pe[:, 1::2] = np.cos(position * freq)
    return torch.from_numpy(pe)


def sine_positions_2d(dim: int, height: int, width: int) -> torch.Tensor:
    """[H*W,dim]: first half of the channels encode x (sin/cos interleaved), second half y."""
    half = dim // 2
    freq = np.exp(np.arange(0.0, half, 2, dtype=np.float32) * np.float32(-(math.log(10000.0) / half)))  # [half/2]
    x_angles = np.arange(width, dtype=np.float32)[:, None] * freq  # [W,half/2]
    y_angles = np.arange(height, dtype=np.float32)[:, None] * freq  # [H,half/2]
    pe = np.zeros((dim, height, width), dtype=np.float32)
    pe[0:half:2] = np.sin(x_angles).T[:, None, :]  # [half/2,1,W] broadcast over H
    pe[1:half:2] = np.cos(x_angles).T[:, None, :]
    pe[half::2] = np.sin(y_angles).T[:, :, None]  # [half/2,H,1] broadcast over W
    pe[half + 1::2] = np.cos(y_angles).T[:, :, None]
    return torch.from_numpy(pe.reshape(dim, height * width).T.copy())  # [H*W,dim]


class DecoderLayer(nn.Module):
    def __init__(self, d_model: int, heads: int, dim_ffn: int, dropout: float):
        super().__init__()
        self.self_attn_norm = nn.LayerNorm(d_model)
        self.cross_attn_norm = nn.LayerNorm(d_model)
        self.self_attn = MultiheadAttention(d_model, heads, dropout)
        self.multihead_attn = MultiheadAttention(d_model, heads, dropout)
        self.ffn = nn.Sequential(nn.Linear(d_model, dim_ffn), nn.ReLU(inplace=True), nn.Dropout(dropout),
                                 nn.LayerNorm(dim_ffn), nn.Linear(dim_ffn, d_model))
        self.norm1 = nn.LayerNorm(d_model)
        self.norm2 = nn.LayerNorm(d_model)
        self.norm3 = nn.LayerNorm(d_model)
        self.dropout1 = nn.Dropout(dropout)
        self.dropout2 = nn.Dropout(dropout)
        self.dropout3 = nn.Dropout(dropout)

    def forward(self, vis: torch.Tensor, txt: torch.Tensor, vis_pos: torch.Tensor, txt_pos: torch.Tensor,
                pad_additive: torch.Tensor) -> torch.Tensor:
        """vis [B,HW,D], txt [B,L,D], vis_pos [HW,D], txt_pos [L,D], pad_additive [B,1,1,L]."""
        h = self.norm1(vis)
        q = h + vis_pos
        vis = vis + self.dropout1(self.self_attn_norm(self.self_attn(q, q, h)))
        h = self.norm2(vis)
        h = self.multihead_attn(h + vis_pos, txt + txt_pos, txt, pad_additive)
        vis = vis + self.dropout2(self.cross_attn_norm(h))
        return vis + self.dropout3(self.ffn(self.norm3(vis)))


class TransformerDecoder(nn.Module):
    def __init__(self, num_layers: int, d_model: int, heads: int, dim_ffn: int, dropout: float):
        super().__init__()
        self.layers = nn.ModuleList([DecoderLayer(d_model, heads, dim_ffn, dropout) for _ in range(num_layers)])
        self.norm = nn.LayerNorm(d_model)

    def forward(self, vis: torch.Tensor, txt: torch.Tensor, pad_mask: torch.Tensor) -> torch.Tensor:
        """vis [B,D,H,W], txt [B,L,D], pad_mask [B,L] bool (True = padding) -> [B,D,H,W]."""
        batch, channels, height, width = vis.shape
        dtype = vis.dtype
        vis_pos = sine_positions_2d(channels, height, width).to(dtype=dtype, device=vis.device)  # [HW,D]
        txt_pos = sine_positions_1d(txt.shape[2], txt.shape[1]).to(dtype=dtype, device=vis.device)  # [L,D]
        pad_additive = key_padding_to_additive(pad_mask, dtype)  # [B,1,1,L]
        out = vis.flatten(2).transpose(1, 2)  # [B,HW,D]
        for layer in self.layers:
            out = layer(out, txt, vis_pos, txt_pos, pad_additive)
        out = self.norm(out)  # [B,HW,D]
        return out.transpose(1, 2).reshape(batch, channels, height, width)  # [B,D,H,W]
