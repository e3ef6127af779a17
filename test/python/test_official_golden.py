"""Our loader + PyTorch model reproduce the logits the official CRIS code computed (official-mini).

The ONNX side of the same check lives in test_export_official.py.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from models.cris import load_checkpoint

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def golden(official_mini_dir: Path) -> dict:
    meta = json.loads((official_mini_dir / "meta.json").read_text())
    loaded = load_checkpoint(official_mini_dir / "best_model.pth", word_len=meta["cfg"]["word_len"],
                             input_size=meta["cfg"]["input_size"], num_head=meta["cfg"]["num_head"])
    return {
        "model": loaded.model,
        "images": torch.from_numpy(np.load(official_mini_dir / "golden_images.npy")),
        "words": torch.from_numpy(np.load(official_mini_dir / "golden_words.npy")),
        "pairs": np.load(official_mini_dir / "golden_pairs.npy"),
        "b4": np.load(official_mini_dir / "golden_logits_b4.npy"),
        "b1": np.load(official_mini_dir / "golden_logits_b1.npy"),
        "stages": np.load(official_mini_dir / "golden_intermediates_pair0.npz"),
    }


def test_logits_batch4_match_reference(golden: dict) -> None:
    pairs = golden["pairs"]
    with torch.no_grad():
        logits = golden["model"](golden["images"][pairs[:, 0]], golden["words"][pairs[:, 1]]).numpy()
    assert logits.shape == golden["b4"].shape
    assert np.abs(logits - golden["b4"]).max() <= TOLERANCE


def test_logits_one_at_a_time_match_reference(golden: dict) -> None:
    with torch.no_grad():
        logits = np.concatenate([golden["model"](golden["images"][[i]], golden["words"][[j]]).numpy()
                                 for i, j in golden["pairs"]])
    assert np.abs(logits - golden["b1"]).max() <= TOLERANCE


def test_each_stage_matches_reference_intermediates(golden: dict) -> None:
    model, stages = golden["model"], golden["stages"]
    image, words = golden["images"][:1], golden["words"][:1]
    with torch.no_grad():
        c3, c4, c5 = model.encode_image(image)
        word_feats, state = model.backbone.encode_text(words)
        fq = model.neck(c3, c4, c5, state)
        decoded = model.decoder(fq, word_feats, words == 0)
        ours = {
            "vis_c3": c3, "vis_c4": c4, "vis_c5": c5, "text_word_feats": word_feats, "text_state": state,
            "neck_fq": fq, "decoder_out": decoded.flatten(2), "proj_vis": model.proj.vis(decoded),
            "proj_txt": model.proj.txt(state), "pad_mask": words == 0, "logits": model.proj(decoded, state),
        }
    for name, value in ours.items():
        diff = np.abs(value.numpy().astype(np.float64) - stages[name].astype(np.float64)).max()
        assert diff <= TOLERANCE, f"{name} differs by {diff}"
