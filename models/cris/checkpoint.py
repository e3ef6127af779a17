"""Strict loading of CRIS checkpoints in the reference's format.

The reference's train.py saves `{epoch, cur_iou, best_iou, prec, state_dict, optimizer, scheduler}`
with every state_dict key prefixed `module.` (DistributedDataParallel). Loading is strict: every
key of the checkpoint must be used and every parameter/buffer of the model filled, with equal
shapes; otherwise CheckpointError lists what differs. A checkpoint may also be a bare state_dict,
and may carry `cris_config` (CrisConfig.to_dict()) for sizes no weight shape holds.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional

import torch

from models.digest import file_sha256

from .config import CrisConfig, infer_config
from .segmenter import CRIS

PREFIXES = ("module.",)
LIST_LIMIT = 12


class CheckpointError(ValueError):
    """A checkpoint that cannot be read or does not fit the network; the message says which keys."""


@dataclass(frozen=True)
class LoadedCheckpoint:
    model: CRIS
    config: CrisConfig
    path: str
    sha256: str


def strip_prefix(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    out = {}
    for key, value in state_dict.items():
        for prefix in PREFIXES:
            if key.startswith(prefix):
                key = key[len(prefix):]
        out[key] = value
    return out


def read_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], Optional[dict]]:
    """Returns the unprefixed state_dict and the stored cris_config (or None)."""
    if not path.is_file():
        raise CheckpointError(f"checkpoint '{path}' does not exist; pass the best_model.pth that CRIS's train.py saved")
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - any unreadable file gets the same advice
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise CheckpointError(f"checkpoint '{path}' is not a readable PyTorch file ({first_line[:160]}); "
                              "pass the .pth that CRIS's train.py saved") from error
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"checkpoint '{path}' holds a {type(raw).__name__}, not a dict; "
                              "expected {'state_dict': ...} as CRIS's train.py saves it")
    state = raw.get("state_dict", raw)
    if not isinstance(state, Mapping) or not all(torch.is_tensor(v) for v in state.values()) or not state:
        raise CheckpointError(f"checkpoint '{path}' has no state_dict of tensors; "
                              "expected {'state_dict': ...} as CRIS's train.py saves it")
    config = raw.get("cris_config") if isinstance(raw.get("cris_config"), Mapping) else None
    return strip_prefix(state), config


def _listing(title: str, items: list[str]) -> str:
    shown = ", ".join(items[:LIST_LIMIT])
    more = f" (+{len(items) - LIST_LIMIT} more)" if len(items) > LIST_LIMIT else ""
    return f"{len(items)} {title}: {shown}{more}"


def load_into(model: CRIS, state_dict: Mapping[str, torch.Tensor], source: str = "checkpoint") -> None:
    """Copies every tensor into the model; raises CheckpointError unless keys and shapes match exactly."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [f"{k} {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
                  for k, v in expected.items() if k in state_dict and state_dict[k].shape != v.shape]
    if missing or unexpected or mismatched:
        parts = [_listing(title, items) for title, items in
                 (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched))
                 if items]
        raise CheckpointError(f"{source} does not fit the CRIS network: " + "; ".join(parts))
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state_dict[key].to(target.dtype))


def build_from_state_dict(state_dict: Mapping[str, torch.Tensor], *, word_len: int = 17, input_size: int = 416,
                          num_head: Optional[int] = None, stored_config: Optional[Mapping] = None,
                          source: str = "checkpoint") -> CRIS:
    """Builds a CRIS sized by the weights (or by stored_config) and loads them strictly; eval mode."""
    try:
        if stored_config is not None:
            config = dataclasses.replace(CrisConfig.from_dict(stored_config), word_len=word_len,
                                         input_size=input_size, **({"num_head": num_head} if num_head else {}))
        else:
            config = infer_config(state_dict, word_len=word_len, input_size=input_size, num_head=num_head or 8)
        model = CRIS(config)
    except (KeyError, ValueError) as error:
        raise CheckpointError(f"{source}: {error.args[0] if error.args else error}") from error
    load_into(model, state_dict, source)
    return model.eval()


def load_checkpoint(path: str | Path, *, word_len: int = 17, input_size: int = 416,
                    num_head: Optional[int] = None) -> LoadedCheckpoint:
    path = Path(path)
    state_dict, stored_config = read_state_dict(path)
    model = build_from_state_dict(state_dict, word_len=word_len, input_size=input_size, num_head=num_head,
                                  stored_config=stored_config, source=f"checkpoint '{path}'")
    return LoadedCheckpoint(model=model, config=model.cfg, path=str(path), sha256=file_sha256(path))
