"""Multi-head attention with nn.MultiheadAttention's parameter names, written out as plain ops.

Plain matmul/softmax exports to ONNX the same way at every batch size and in float16, and keeps
state_dict keys (`in_proj_weight`, `in_proj_bias`, `out_proj.*`) of the reference's layers.
"""
from __future__ import annotations

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, heads: int, head_dim: int,
           additive_mask: Optional[torch.Tensor] = None, dropout_p: float = 0.0) -> torch.Tensor:
    """q [B,Lq,E], k/v [B,Lk,E] (already projected), E = heads * head_dim -> [B,Lq,E].

    additive_mask broadcasts to [B,heads,Lq,Lk] (0 or -inf). head_dim is passed in, not read from
    q.shape, so an exported graph holds the scale as a constant.
    """
    batch, len_q = q.shape[0], q.shape[1]
    len_k = k.shape[1]
    q = q.reshape(batch, len_q, heads, head_dim).transpose(1, 2)  # [B,h,Lq,d]
    k = k.reshape(batch, len_k, heads, head_dim).transpose(1, 2)  # [B,h,Lk,d]
    v = v.reshape(batch, len_k, heads, head_dim).transpose(1, 2)  # [B,h,Lk,d]
    scores = torch.matmul(q * (1.0 / math.sqrt(head_dim)), k.transpose(-2, -1))  # [B,h,Lq,Lk]
    if additive_mask is not None:
        scores = scores + additive_mask
    weights = torch.softmax(scores, dim=-1)
    if dropout_p > 0.0:
        weights = F.dropout(weights, dropout_p)
    out = torch.matmul(weights, v)  # [B,h,Lq,d]
    return out.transpose(1, 2).reshape(batch, len_q, heads * head_dim)  # [B,Lq,E]


def key_padding_to_additive(pad: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """pad [B,Lk] bool (True = ignore) -> [B,1,1,Lk] additive mask."""
    zeros = torch.zeros(pad.shape, dtype=dtype, device=pad.device)
    return zeros.masked_fill(pad, float("-inf"))[:, None, None, :]  # [B,1,1,Lk]


class MultiheadAttention(nn.Module):
    """Batch-first attention; keys match torch.nn.MultiheadAttention (same q/k/v width)."""

    def __init__(self, embed_dim: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.heads = heads
        self.head_dim = embed_dim // heads
        self.dropout = dropout
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim))
        self.in_proj_bias = nn.Parameter(torch.zeros(3 * embed_dim))
        self.out_proj = nn.Linear(embed_dim, embed_dim)
        nn.init.xavier_uniform_(self.in_proj_weight)
        nn.init.zeros_(self.out_proj.bias)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                additive_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        w_q, w_k, w_v = self.in_proj_weight.chunk(3)
        b_q, b_k, b_v = self.in_proj_bias.chunk(3)
        out = attend(F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v),
                     self.heads, self.head_dim, additive_mask, self.dropout if self.training else 0.0)
        return self.out_proj(out)
