"""Random but well-behaved weights, for tests, benchmarks and as a training start.

Scheme (as the golden official-mini checkpoint was made): conv/linear weights ~ N(0, 1/fan_in),
biases ~ N(0, 0.02), LayerNorm ~ 1 + N(0, 0.1) / N(0, 0.05), BatchNorm affine ~ U(0.5, 1.5) /
N(0, 0.1) with running statistics set from one calibration batch, and the text-kernel rows of the
projector rescaled so the logits have std ~3 and mean ~0. Additions that keep the random network
about as well-conditioned as a trained one (without them, float32 rounding differences between
onnxruntime and PyTorch grew to 1e-4 of the logit range and float16 flipped 5% of mask pixels):
ResNet residual-branch BN scales ~ U(0.1, 0.3); calibration images of mixed smoothness; the
sentence BN calibrated on 64 sentences; running variances floored at 0.1x the layer median; the
attention pool's query scaled so its attention logits have std <= 2. Deterministic for a seed.
"""
from __future__ import annotations

import dataclasses
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from .attention import MultiheadAttention
from .clip_visual import AttentionPool2d
from .config import CrisConfig
from .projector import dynamic_conv3x3
from .segmenter import CRIS

ATTENTION_LOGIT_STD = 2.0
VARIANCE_FLOOR = 0.1
CALIBRATION_SENTENCES = 64


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
    for name, module in model.backbone.visual.named_modules():
        if name.endswith("bn3") and isinstance(module, nn.BatchNorm2d):
            # small residual branches (CLIP itself zero-initialises them): a deep random ResNet
            # whose branches are as large as the identity amplifies rounding errors stage by stage
            nn.init.uniform_(module.weight, 0.1, 0.3)
    backbone = model.backbone
    nn.init.normal_(backbone.token_embedding.weight, std=0.02)
    nn.init.normal_(backbone.positional_embedding, std=0.02)
    nn.init.normal_(backbone.text_projection, std=backbone.text_projection.shape[0] ** -0.5)


def calibration_batch(cfg: CrisConfig, batch: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Random images of mixed smoothness [B,3,S,S] (unit scale, like CLIP-normalised photos) and
    random sentences [B,L]. Mixing coarse and fine structure keeps the BatchNorm statistics valid
    for other images too; calibrated on one kind only, activations blow up on the others."""
    size = cfg.input_size
    images = []
    for row in range(batch):
        grid = max(2, size // (128 >> (row % 5)))  # S/128, S/64, ..., S/8
        coarse = torch.randn(1, 3, grid, grid, generator=generator)
        image = F.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
        image = image / image.std() + 0.3 * torch.randn(3, 1, 1, generator=generator)
        images.append(image + 0.2 * torch.randn(image.shape, generator=generator))
    tokens = torch.zeros(batch, cfg.word_len, dtype=torch.long)
    sot, eot = cfg.vocab_size - 2, cfg.vocab_size - 1
    for row in range(batch):
        words = int(torch.randint(1, cfg.word_len - 1, (1,), generator=generator))
        tokens[row, 0] = sot
        tokens[row, 1:words + 1] = torch.randint(1, cfg.vocab_size - 2, (words,), generator=generator)
        tokens[row, words + 1] = eot
    return torch.cat(images), tokens


@torch.no_grad()
def temper_attention_pool(pool: AttentionPool2d, x: torch.Tensor, target_std: float = ATTENTION_LOGIT_STD) -> None:
    """Scales q_proj so the pool's attention logits have at most target_std on x [B,C,H,W].

    Random weights on large ResNet activations give near-one-hot attention, where rounding in
    the 12th digit decides which position wins; trained networks are not that brittle.
    """
    tokens = x.flatten(2).transpose(1, 2) + pool.grid_positions(x.shape[2], x.shape[3])  # [B,HW,C]
    heads, head_dim = pool.heads, pool.q_proj.in_features // pool.heads
    q = pool.q_proj(tokens).reshape(x.shape[0], -1, heads, head_dim).transpose(1, 2)  # [B,h,HW,d]
    k = pool.k_proj(tokens).reshape(x.shape[0], -1, heads, head_dim).transpose(1, 2)  # [B,h,HW,d]
    logit_std = float((q @ k.transpose(-2, -1)).std()) / head_dim ** 0.5
    if logit_std > target_std:
        pool.q_proj.weight *= target_std / logit_std
        pool.q_proj.bias *= target_std / logit_std


@torch.no_grad()
def calibrate_batchnorm(model: CRIS, images: torch.Tensor, tokens: torch.Tensor, sentences: torch.Tensor) -> None:
    """Running statistics := the statistics of one batch (BN in train mode, cumulative average).

    The sentence-state BatchNorm (neck.txt_proj) is calibrated first on many sentences (text only,
    cheap), since a few samples leave channels with zero variance. Afterwards every running
    variance is floored at VARIANCE_FLOOR x its layer's median: a channel that happened to be
    constant on the calibration batch would otherwise multiply any later signal by 1/sqrt(eps).
    On the way, the attention pool is tempered (temper_attention_pool) on its real input.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
    text_norm = model.neck.txt_proj[1]
    model.eval()
    text_norm.train()
    model.neck.txt_proj(model.backbone.encode_text(sentences)[1])
    model.train()
    text_norm.eval()
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    for dropout in dropouts:
        dropout.eval()
    attention = [m for m in model.modules() if isinstance(m, MultiheadAttention)]
    for block in attention:
        block.eval()
    pool = model.backbone.visual.attnpool
    hook = pool.register_forward_pre_hook(lambda module, args: temper_attention_pool(module, args[0]))
    try:
        model(images, tokens)
    finally:
        hook.remove()
    for norm, momentum in zip(norms, saved):
        norm.momentum = momentum
        norm.running_var.clamp_(min=VARIANCE_FLOOR * float(norm.running_var.median()))
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


def random_cris(cfg: CrisConfig, seed: int = 0, calib_batch: int = 4, images: Optional[torch.Tensor] = None) -> CRIS:
    """A CRIS with calibrated random weights, in eval mode.

    images: normalised [N>=2,3,S,S] to calibrate on instead of calib_batch random images.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = CRIS(cfg)
        _init_weights(model)
    synthetic, tokens = calibration_batch(cfg, calib_batch if images is None else len(images), generator)
    images = synthetic if images is None else images
    sentences = calibration_batch(dataclasses.replace(cfg, input_size=32), CALIBRATION_SENTENCES, generator)[1]
    calibrate_batchnorm(model, images, tokens, sentences)
    calibrate_logits(model, images, tokens)
    return model.eval()
