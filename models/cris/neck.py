"""CRIS's multi-modal FPN: fuses the sentence state into C5, merges C3..C5 at stride 16, CoordConv."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def conv_bn_relu(in_dim: int, out_dim: int, kernel_size: int = 1, padding: int = 0) -> nn.Sequential:
    """Keys `0.weight`, `1.*` as the reference's conv_layer."""
    return nn.Sequential(nn.Conv2d(in_dim, out_dim, kernel_size, 1, padding, bias=False),
                         nn.BatchNorm2d(out_dim), nn.ReLU(inplace=True))


def linear_bn_relu(in_dim: int, out_dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim, bias=False), nn.BatchNorm1d(out_dim), nn.ReLU(inplace=True))


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    return F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)


def coordinate_planes(x: torch.Tensor) -> torch.Tensor:
    """[B,C,H,W] -> [B,2,H,W]: x then y coordinates, each from -1 to 1."""
    batch, _, height, width = x.shape
    # numpy, so that an exported graph holds the planes as a constant
    grid_y, grid_x = np.meshgrid(np.linspace(-1, 1, int(height), dtype=np.float32),
                                 np.linspace(-1, 1, int(width), dtype=np.float32), indexing="ij")  # [H,W] each
    planes = torch.from_numpy(np.stack([grid_x, grid_y])[None]).to(dtype=x.dtype, device=x.device)  # [1,2,H,W]
    return planes.expand(batch, -1, -1, -1)  # [B,2,H,W]


class CoordConv(nn.Module):
    def __init__(self, in_dim: int, out_dim: int, kernel_size: int = 3, padding: int = 1):
        super().__init__()
        self.conv1 = conv_bn_relu(in_dim + 2, out_dim, kernel_size, padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(torch.cat([x, coordinate_planes(x)], dim=1))


class FPN(nn.Module):
    def __init__(self, in_channels: tuple[int, int, int], out_channels: tuple[int, int, int]):
        super().__init__()
        c3_in, c4_in, c5_in = in_channels
        out3, out4, out5 = out_channels
        self.txt_proj = linear_bn_relu(c5_in, out5)
        self.f1_v_proj = conv_bn_relu(c5_in, out5, 1, 0)
        self.norm_layer = nn.Sequential(nn.BatchNorm2d(out5), nn.ReLU(inplace=True))
        self.f2_v_proj = conv_bn_relu(c4_in, out4, 3, 1)
        self.f2_cat = conv_bn_relu(out5 + out4, out4, 1, 0)
        self.f3_v_proj = conv_bn_relu(c3_in, out3, 3, 1)
        self.f3_cat = conv_bn_relu(out3 + out4, out4, 1, 0)
        self.f4_proj5 = conv_bn_relu(out5, out4, 3, 1)
        self.f4_proj4 = conv_bn_relu(out4, out4, 3, 1)
        self.f4_proj3 = conv_bn_relu(out4, out4, 3, 1)
        self.aggr = conv_bn_relu(3 * out4, out4, 1, 0)
        self.coordconv = nn.Sequential(CoordConv(out4, out4, 3, 1), conv_bn_relu(out4, out4, 3, 1))

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        """C3 (s8), C4 (s16), C5 (s32), state [B,embed] -> fq [B,vis_dim,S/16,S/16]."""
        state = self.txt_proj(state)[:, :, None, None]  # [B,out5,1,1]
        f5 = self.norm_layer(self.f1_v_proj(c5) * state)  # [B,out5,s32]
        f4 = self.f2_cat(torch.cat([self.f2_v_proj(c4), upsample2x(f5)], dim=1))  # [B,out4,s16]
        f3 = F.avg_pool2d(self.f3_v_proj(c3), 2, 2)  # [B,out3,s16]
        f3 = self.f3_cat(torch.cat([f3, f4], dim=1))  # [B,out4,s16]
        fq5 = upsample2x(self.f4_proj5(f5))  # [B,out4,s16]
        fq = torch.cat([self.f4_proj3(f3), self.f4_proj4(f4), fq5], dim=1)  # [B,3*out4,s16]
        return self.coordconv(self.aggr(fq))
