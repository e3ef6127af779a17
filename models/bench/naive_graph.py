"""The "naive" export the benchmark compares against: the whole network as one static batch-1
graph, with the projector's per-sample kernel run as the reference does it (a grouped
convolution over a [1, B*C, H, W] tensor), which is what torch.onnx.export of the reference gives.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from models.cris import CRIS


class ReferenceStyleCRIS(nn.Module):
    def __init__(self, model: CRIS):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        model = self.model
        pad_mask = tokens == 0  # [B,L]
        c3, c4, c5 = model.encode_image(image)
        words, state = model.backbone.encode_text(tokens)
        fq = model.decoder(model.neck(c3, c4, c5, state), words, pad_mask)  # [B,D,S/16,S/16]
        x = model.proj.vis(fq)  # [B,C,S/4,S/4]
        batch, channels, height, width = x.shape
        params = model.proj.txt(state)  # [B,C*9+1]
        kernels = params[:, :-1].reshape(batch, channels, 3, 3)  # [B,C,3,3]
        out = F.conv2d(x.reshape(1, batch * channels, height, width), kernels, params[:, -1],
                       padding=1, groups=batch)  # [1,B,H,W]
        return out.transpose(0, 1)  # [B,1,H,W]


@torch.no_grad()
def export_naive(model: CRIS, path: Path, input_size: int, word_len: int) -> None:
    image = torch.randn(1, 3, input_size, input_size)
    tokens = torch.zeros(1, word_len, dtype=torch.long)
    tokens[0, :4] = torch.tensor([model.cfg.vocab_size - 2, 320, 1125, model.cfg.vocab_size - 1])
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(ReferenceStyleCRIS(model).eval(), (image, tokens), str(path),
                          input_names=["image", "tokens"], output_names=["logits"], opset_version=17,
                          do_constant_folding=True, dynamo=False)
    model.eval()
