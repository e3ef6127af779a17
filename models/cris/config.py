"""CRIS hyper-parameters: one frozen dataclass, presets, and inference from a state_dict's shapes.

Every size that a weight shape fixes is read from the weights (as CLIP's build_model does). Three
numbers no weight shape carries take the reference's rules or defaults: the CLIP text heads
(width // 64, CLIP's rule), the ResNet attention-pool heads (width * 32 // 64, CLIP's rule) and the
CRIS decoder heads (8 in every published CRIS config; pass num_head= for anything else).
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Mapping

import torch


@dataclass(frozen=True)
class CrisConfig:
    # CLIP ModifiedResNet
    vision_layers: tuple[int, int, int, int] = (3, 4, 6, 3)
    vision_width: int = 64            # channels after the stem; C3 = 8x, C4 = 16x, attnpool in = 32x
    vision_heads: int = 32            # attention-pool heads (CLIP: vision_width * 32 // 64)
    vision_pos_grid: int = 7          # attention-pool positional grid side (CLIP input 224 / 32)
    embed_dim: int = 1024             # CLIP joint space: C5 channels and sentence-state size
    # CLIP text transformer
    context_length: int = 77
    vocab_size: int = 49408
    text_width: int = 512
    text_heads: int = 8
    text_layers: int = 12
    # CRIS
    word_len: int = 17
    input_size: int = 416
    fpn_out: tuple[int, int, int] = (256, 512, 1024)
    num_layers: int = 3               # vision-language decoder layers
    num_head: int = 8                 # decoder heads
    dim_ffn: int = 2048
    dropout: float = 0.1
    # ours, not the reference's: a presence head (one logit per phrase: does it name anything?)
    presence: bool = False

    @property
    def fpn_in(self) -> tuple[int, int, int]:
        """C3, C4, C5 channels, fixed by the backbone."""
        return (self.vision_width * 8, self.vision_width * 16, self.embed_dim)

    @property
    def vis_dim(self) -> int:
        """Decoder width: the neck's middle output, and the word features' width."""
        return self.fpn_out[1]

    @property
    def word_dim(self) -> int:
        """Sentence-state width (after CLIP's text projection)."""
        return self.embed_dim

    @property
    def backbone_name(self) -> str:
        for name, preset in PRESETS.items():
            if dataclasses.replace(preset, word_len=self.word_len, input_size=self.input_size,
                                   dropout=self.dropout, presence=self.presence) == self:
                return name
        return "custom"

    def validate(self) -> None:
        """Raises ValueError where the sizes cannot make a CRIS network."""
        problems = []
        if self.text_width != self.vis_dim:
            problems.append(f"text_width {self.text_width} must equal vis_dim (fpn_out[1]) {self.vis_dim}")
        if self.vis_dim % self.num_head or self.vis_dim % 4:
            problems.append(f"vis_dim {self.vis_dim} must be a multiple of num_head {self.num_head} and of 4")
        if self.text_width % self.text_heads:
            problems.append(f"text_width {self.text_width} not divisible by text_heads {self.text_heads}")
        if (self.vision_width * 32) % self.vision_heads:
            problems.append(f"attention-pool width {self.vision_width * 32} not divisible by {self.vision_heads} heads")
        if self.input_size % 32:
            problems.append(f"input_size {self.input_size} must be a multiple of 32")
        if self.word_len > self.context_length:
            problems.append(f"word_len {self.word_len} exceeds the context length {self.context_length}")
        if problems:
            raise ValueError("invalid CRIS config: " + "; ".join(problems))

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out.update(fpn_in=list(self.fpn_in), vis_dim=self.vis_dim, word_dim=self.word_dim)
        return out

    @staticmethod
    def from_dict(values: Mapping) -> "CrisConfig":
        names = {f.name for f in dataclasses.fields(CrisConfig)}
        kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in names}
        return CrisConfig(**kwargs)


PRESETS: dict[str, CrisConfig] = {
    # config/refcoco/cris_r50.yaml with CLIP RN50
    "RN50": CrisConfig(),
    # config/refcoco/cris_r101.yaml with CLIP RN101
    "RN101": CrisConfig(vision_layers=(3, 4, 23, 3), embed_dim=512),
    # a small network for tests and training from scratch; follows the head rules above, so its
    # checkpoints load with no flags
    "small": CrisConfig(vision_layers=(1, 1, 1, 1), vision_width=16, vision_heads=8, embed_dim=128,
                        text_width=128, text_heads=2, text_layers=2, fpn_out=(64, 128, 128),
                        num_layers=2, num_head=8, dim_ffn=256),
}


def _count_blocks(keys, prefix: str) -> int:
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    return len({m.group(1) for k in keys if (m := pattern.match(k))})


def infer_config(state_dict: Mapping[str, torch.Tensor], *, word_len: int = 17, input_size: int = 416,
                 num_head: int = 8, dropout: float = 0.1) -> CrisConfig:
    """Reads every size from an (unprefixed) CRIS state_dict. Raises KeyError naming a missing key."""
    def shape(key: str) -> tuple[int, ...]:
        if key not in state_dict:
            raise KeyError(f"not a CRIS checkpoint: key '{key}' is missing")
        return tuple(state_dict[key].shape)

    keys = list(state_dict.keys())
    vision_width = shape("backbone.visual.layer1.0.conv1.weight")[0]
    pos_rows = shape("backbone.visual.attnpool.positional_embedding")[0]
    grid = round((pos_rows - 1) ** 0.5)
    if grid * grid + 1 != pos_rows:
        raise ValueError(f"attention-pool positional embedding has {pos_rows} rows, not a square grid + 1")
    text_width = shape("backbone.ln_final.weight")[0]
    return CrisConfig(
        vision_layers=tuple(_count_blocks(keys, f"backbone.visual.layer{i}.") for i in (1, 2, 3, 4)),
        vision_width=vision_width,
        vision_heads=vision_width * 32 // 64,
        vision_pos_grid=grid,
        embed_dim=shape("backbone.text_projection")[1],
        context_length=shape("backbone.positional_embedding")[0],
        vocab_size=shape("backbone.token_embedding.weight")[0],
        text_width=text_width,
        text_heads=max(1, text_width // 64),
        text_layers=_count_blocks(keys, "backbone.transformer.resblocks."),
        word_len=word_len,
        input_size=input_size,
        fpn_out=(shape("neck.f3_v_proj.0.weight")[0], shape("neck.f2_v_proj.0.weight")[0],
                 shape("neck.f1_v_proj.0.weight")[0]),
        num_layers=_count_blocks(keys, "decoder.layers."),
        num_head=num_head,
        dim_ffn=shape("decoder.layers.0.ffn.0.weight")[0],
        dropout=dropout,
        presence=any(k.startswith("presence.") for k in keys),
    )
