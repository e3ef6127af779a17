"""Random but well-behaved weights, for tests, benchmarks and as a training start.

Scheme (as the golden official-mini checkpoint was made): conv/linear weights ~ N(0, 1/fan_in),
biases ~ N(0, 0.02), LayerNorm ~ 1 + N(0, 0.1) / N(0, 0.05), BatchNorm affine ~ U(0.5, 1.5) /
N(0, 0.1) with running statistics set from one calibration batch, and the text-kernel rows of the
projector rescaled so the logits have std ~3 and mean ~0. Deterministic for a given seed.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .attention import MultiheadAttention
from .clip_visual import AttentionPool2d
from .config import CrisConfig
from .projector import dynamic_conv3x3
from .segmenter import CRIS


def _init_weights(model: CRIS) -> None:
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            fan_in = module.weight[0].numel()
            nn.init.normal_(module.weight, std=fan_in ** -0.5)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=0.02)
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.uniform_(module.weight, 0.5, 1.5)
            nn.init.normal_(module.bias, std=0.1)
        elif isinstance(module, nn.LayerNorm):
            nn.init.normal_(module.weight, mean=1.0, std=0.1)
            nn.init.normal_(module.bias, std=0.05)
        elif isinstance(module, MultiheadAttention):
            nn.init.normal_(module.in_proj_weight, std=module.in_proj_weight.shape[1] ** -0.5)
            nn.init.normal_(module.in_proj_bias, std=0.02)
        elif isinstance(module, AttentionPool2d):
            nn.init.normal_(module.positional_embedding, std=0.5)
    backbone = model.backbone
    nn.init.normal_(backbone.token_embedding.weight, std=0.02)
    nn.init.normal_(backbone.positional_embedding, std=0.02)
    nn.init.normal_(backbone.text_projection, std=backbone.text_projection.shape[0] ** -0.5)


def calibration_batch(cfg: CrisConfig, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Smooth random images [B,3,S,S] (normalised scale) and random sentences [B,L]."""
    coarse = torch.randn(batch, 3, cfg.input_size // 16, cfg.input_size // 16, generator=generator)
    images = F.interpolate(coarse, size=(cfg.input_size, cfg.input_size), mode="bilinear", align_corners=False)
    images = images + 0.3 * torch.randn(images.shape, generator=generator)
    tokens = torch.zeros(batch, cfg.word_len, dtype=torch.long)
    sot, eot = cfg.vocab_size - 2, cfg.vocab_size - 1
    for row in range(batch):
        words = int(torch.randint(1, cfg.word_len - 1, (1,), generator=generator))
        tokens[row, 0] = sot
        tokens[row, 1:words + 1] = torch.randint(1, cfg.vocab_size - 2, (words,), generator=generator)
        tokens[row, words + 1] = eot
    return images, tokens


@torch.no_grad()
def calibrate_batchnorm(model: CRIS, images: torch.Tensor, tokens: torch.Tensor) -> None:
    """Running statistics := the statistics of one batch (BN in train mode, cumulative average)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    model.train()
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    for dropout in dropouts:
        dropout.eval()
    attention = [m for m in model.modules() if isinstance(m, MultiheadAttention)]
    for block in attention:
        block.eval()
    model(images, tokens)
    for norm, momentum in zip(norms, saved):
        norm.momentum = momentum
    model.eval()


@torch.no_grad()
def calibrate_logits(model: CRIS, images: torch.Tensor, tokens: torch.Tensor, target_std: float = 3.0) -> None:
    """Scales the text-kernel rows of proj.txt so logits have target_std, then centres them on 0."""
    words, state = model.backbone.encode_text(tokens)
    fq = model.decoder(model.neck(*model.encode_image(images), state), words, tokens == 0)
    vis = model.proj.vis(fq)  # [B,C,S/4,S/4]
    params = model.proj.txt(state)  # [B,C*9+1]
    kernels = params[:, :-1].reshape(vis.shape[0], vis.shape[1], 3, 3)  # [B,C,3,3]
    unbiased = dynamic_conv3x3(vis, kernels, torch.zeros_like(params[:, -1]))  # [B,1,S/4,S/4]
    alpha = target_std / max(float(unbiased.std()), 1e-6)
    model.proj.txt.weight[:-1] *= alpha
    model.proj.txt.bias[:-1] *= alpha
    model.proj.txt.bias[-1] -= float((alpha * unbiased + params[:, -1, None, None, None]).mean())


def random_cris(cfg: CrisConfig, seed: int = 0, calib_batch: int = 4) -> CRIS:
    """A CRIS with calibrated random weights, in eval mode."""
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CRIS(cfg)
        _init_weights(model)
    images, tokens = calibration_batch(cfg, calib_batch, generator)
    calibrate_batchnorm(model, images, tokens)
    calibrate_logits(model, images, tokens)
    return model.eval()
