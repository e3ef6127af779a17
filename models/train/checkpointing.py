"""Training checkpoints (runs/<name>/last.pt): model, optimiser, progress, and what rebuilds the model."""
from __future__ import annotations

import os
from pathlib import Path

import torch

from models.cris import CRIS, CrisConfig
from models.tokenizer.clip_bpe import ClipBpe

ROOT = Path(__file__).resolve().parents[2]


def save_checkpoint(path: Path, model: CRIS, optimizer, state: dict) -> None:
    """Atomic write: a crash mid-save leaves the previous checkpoint intact."""
    tmp = path.with_suffix(".tmp")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict() if optimizer else None,
                "config": model.cfg.to_dict(), **state}, tmp)
    os.replace(tmp, path)


def load_checkpoint_file(path: Path) -> dict:
    return torch.load(path, map_location="cpu", weights_only=False)


def build_model(config: dict) -> CRIS:
    return CRIS(CrisConfig.from_dict(config))


def checkpoint_merges(ckpt: dict) -> Path:
    """The merges file a checkpoint names: relative to the repository, since checkpoints travel between machines."""
    merges = Path(ckpt["merges"])
    return merges if merges.is_absolute() else ROOT / merges


def load_model_for_eval(path: Path) -> tuple[CRIS, ClipBpe, dict]:
    """(model in eval mode, its tokenizer, {input_size, word_len, merges, ...})."""
    ckpt = load_checkpoint_file(path)
    model = build_model(ckpt["config"])
    model.load_state_dict(ckpt["model"])
    model.eval()
    merges = checkpoint_merges(ckpt)
    meta = {"input_size": ckpt["config"]["input_size"], "word_len": ckpt["config"]["word_len"],
            "merges": merges, "step": ckpt.get("step"), "elapsed_s": ckpt.get("elapsed_s")}
    return model, ClipBpe.from_file(merges), meta
