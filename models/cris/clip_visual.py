"""CLIP's ModifiedResNet as CRIS uses it: returns C3, C4 and the attention pool's spatial map (C5).

Differences from torchvision's ResNet (all CLIP's): a 3-conv stem with an average pool, strided
blocks that average-pool instead of striding the convolution, and a multi-head attention "pool"
at stride 32. CRIS keeps every spatial position of that attention (no class token), interpolates
the positional embedding to the feature grid and adds a conv+BN residual (`attnpool.connect`).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
import torch.nn.functional as F
from torch import nn

from .attention import attend


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        out_planes = planes * self.expansion
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.avgpool = nn.AvgPool2d(stride) if stride > 1 else nn.Identity()
        self.conv3 = nn.Conv2d(planes, out_planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(out_planes)
        self.downsample = None
        if stride > 1 or inplanes != out_planes:
            # key names "0"/"1" as in CLIP; the pool ("-1") has no parameters
            self.downsample = nn.Sequential(OrderedDict([
                ("-1", nn.AvgPool2d(stride) if stride > 1 else nn.Identity()),
                ("0", nn.Conv2d(inplanes, out_planes, 1, bias=False)),
                ("1", nn.BatchNorm2d(out_planes)),
            ]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(self.avgpool(out)))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class AttentionPool2d(nn.Module):
    """Spatial multi-head self-attention over the stride-32 grid, plus CRIS's conv+BN residual."""

    def __init__(self, pos_grid: int, embed_dim: int, heads: int, output_dim: int):
        super().__init__()
        self.pos_grid = pos_grid
        self.heads = heads
        self.positional_embedding = nn.Parameter(torch.randn(pos_grid ** 2 + 1, embed_dim) / embed_dim ** 0.5)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim)
        self.c_proj = nn.Linear(embed_dim, output_dim)
        self.connect = nn.Sequential(nn.Conv2d(embed_dim, output_dim, 1, bias=False), nn.BatchNorm2d(output_dim))

    def grid_positions(self, height: int, width: int) -> torch.Tensor:
        """The positional embedding without its class row, bicubically resized: [1, H*W, C]."""
        grid = self.positional_embedding[1:]  # [g*g, C]
        channels = grid.shape[1]
        grid = grid.reshape(1, self.pos_grid, self.pos_grid, channels).permute(0, 3, 1, 2)  # [1,C,g,g]
        grid = F.interpolate(grid.float(), size=(height, width), mode="bicubic", align_corners=False)
        return grid.flatten(2).transpose(1, 2).to(self.positional_embedding.dtype)  # [1,H*W,C]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, channels, height, width = x.shape
        if torch.onnx.is_in_onnx_export():
            # A bundle's input size is fixed: plain ints make the resized positional grid a constant
            # that onnxruntime folds at load, instead of a bicubic Resize on every run.
            height, width = int(height), int(width)
        residual = self.connect(x)  # [B,out,H,W]
        tokens = x.flatten(2).transpose(1, 2)  # [B,H*W,C]
        tokens = tokens + self.grid_positions(height, width)
        out = attend(self.q_proj(tokens), self.k_proj(tokens), self.v_proj(tokens), self.heads,
                     self.q_proj.in_features // self.heads)  # [B,H*W,C]
        out = self.c_proj(out)  # [B,H*W,out]
        out = out.transpose(1, 2).reshape(batch, -1, height, width)  # [B,out,H,W]
        return F.relu(out + residual)


class ModifiedResNet(nn.Module):
    def __init__(self, layers: tuple[int, int, int, int], output_dim: int, heads: int, pos_grid: int,
                 width: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width // 2, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(width // 2)
        self.conv2 = nn.Conv2d(width // 2, width // 2, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(width // 2)
        self.conv3 = nn.Conv2d(width // 2, width, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(width)
        self.avgpool = nn.AvgPool2d(2)
        inplanes = width
        stages = []
        for index, blocks in enumerate(layers):
            planes = width * 2 ** index
            stride = 1 if index == 0 else 2
            stage = [Bottleneck(inplanes, planes, stride)]
            inplanes = planes * Bottleneck.expansion
            stage += [Bottleneck(inplanes, planes) for _ in range(1, blocks)]
            stages.append(nn.Sequential(*stage))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.attnpool = AttentionPool2d(pos_grid, width * 32, heads, output_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """x [B,3,S,S] -> C3 [B,8w,S/8,S/8], C4 [B,16w,S/16,S/16], C5 [B,embed,S/32,S/32]."""
        x = x.to(self.conv1.weight.dtype)
        for conv, bn in ((self.conv1, self.bn1), (self.conv2, self.bn2), (self.conv3, self.bn3)):
            x = F.relu(bn(conv(x)))
        x = self.layer1(self.avgpool(x))
        c3 = self.layer2(x)
        c4 = self.layer3(c3)
        c5 = self.attnpool(self.layer4(c4))
        return c3, c4, c5
