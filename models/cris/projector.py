"""CRIS's projector: upsample the decoder output to stride 4, then a 3x3 convolution whose kernel
and bias are produced from each sample's sentence state (one kernel per sample).

The reference runs the per-sample kernels as one grouped convolution over a [1, B*C, H, W] tensor,
which fixes the batch size in an exported graph. Here the same sum is a batched matmul followed by
nine shifted adds: with w[b,k,c] the kernel tap k = 3*dy + dx of sample b,
    y[b,k,p]   = sum_c w[b,k,c] * x[b,c,p]                 (bmm, [B,9,C] @ [B,C,H*W])
    out[b,i,j] = sum_k y_pad[b,k,i+dy,j+dx] + bias[b]      (y zero-padded by 1, like the conv's input)
which is the unfold + batched-matmul formulation with the unfold moved after the (linear) matmul,
so nothing of size 9*C*H*W is ever materialised.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .neck import conv_bn_relu


def dynamic_conv3x3(x: torch.Tensor, kernels: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """x [B,C,H,W], kernels [B,C,3,3], bias [B] -> [B,1,H,W]; same as a grouped conv, padding 1."""
    batch, channels, height, width = x.shape
    taps = kernels.reshape(batch, channels, 9).transpose(1, 2)  # [B,9,C]
    y = torch.bmm(taps, x.reshape(batch, channels, height * width))  # [B,9,H*W]
    y = F.pad(y.reshape(batch, 9, height, width), (1, 1, 1, 1))  # [B,9,H+2,W+2]
    out = bias[:, None, None]  # [B,1,1]
    for dy in range(3):
        for dx in range(3):
            out = out + y[:, 3 * dy + dx, dy:dy + height, dx:dx + width]  # [B,H,W]
    return out[:, None]  # [B,1,H,W]


class Projector(nn.Module):
    def __init__(self, word_dim: int, in_dim: int, kernel_size: int = 3):
        super().__init__()
        if kernel_size != 3:
            raise ValueError("only the reference's 3x3 text kernel is supported")
        self.in_dim = in_dim
        # keys vis.1.*, vis.3.*, vis.4.* as the reference (0 and 2 are the parameter-free upsamplings)
        self.vis = nn.Sequential(
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            conv_bn_relu(in_dim * 2, in_dim * 2, 3, 1),
            nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
            conv_bn_relu(in_dim * 2, in_dim, 3, 1),
            nn.Conv2d(in_dim, in_dim, 1))
        self.txt = nn.Linear(word_dim, in_dim * 9 + 1)

    def forward(self, x: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """x [B,2*in_dim,S/16,S/16], state [B,word_dim] -> logits [B,1,S/4,S/4]."""
        x = self.vis(x)  # [B,in_dim,S/4,S/4]
        params = self.txt(state)  # [B,in_dim*9+1]
        kernels = params[:, :-1].reshape(x.shape[0], self.in_dim, 3, 3)  # [B,C,3,3]
        return dynamic_conv3x3(x, kernels, params[:, -1])
