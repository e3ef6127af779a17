"""The exported bundle of the official-mini checkpoint reproduces the reference's logits in onnxruntime."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from models.cris import load_checkpoint
from models.export.bundle import export_bundle
from models.export.check_bundle import check_bundle, run_bundle

TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def bundle(official_mini_dir: Path, clip_merges_path: Path, tmp_path_factory) -> tuple[Path, dict]:
    meta = json.loads((official_mini_dir / "meta.json").read_text())
    loaded = load_checkpoint(official_mini_dir / "best_model.pth", num_head=meta["cfg"]["num_head"])
    out = tmp_path_factory.mktemp("official-mini")
    manifest = export_bundle(loaded.model, out, clip_merges_path, bundle_id="official-mini", version="0.0.1",
                             provenance={"source": "official-checkpoint", "checkpoint_sha256": loaded.sha256})
    return out, manifest


def golden_inputs(directory: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    images = np.load(directory / "golden_images.npy")
    words = np.load(directory / "golden_words.npy")
    pairs = np.load(directory / "golden_pairs.npy")
    return images, words, pairs


def test_onnx_batch4_matches_reference(bundle: tuple[Path, dict], official_mini_dir: Path) -> None:
    images, words, pairs = golden_inputs(official_mini_dir)
    logits = run_bundle(*bundle, images[pairs[:, 0]], words[pairs[:, 1]])
    assert np.abs(logits - np.load(official_mini_dir / "golden_logits_b4.npy")).max() <= TOLERANCE


def test_onnx_one_at_a_time_matches_reference(bundle: tuple[Path, dict], official_mini_dir: Path) -> None:
    images, words, pairs = golden_inputs(official_mini_dir)
    logits = np.concatenate([run_bundle(*bundle, images[[i]], words[[j]]) for i, j in pairs])
    assert np.abs(logits - np.load(official_mini_dir / "golden_logits_b1.npy")).max() <= TOLERANCE


def test_official_bundle_manifest(bundle: tuple[Path, dict]) -> None:
    out, manifest = bundle
    assert check_bundle(out) == []
    assert manifest["arch"]["backbone"] == "custom"
    assert manifest["arch"]["fpn_in"] == [64, 128, 64] and manifest["arch"]["num_head"] == 2
    assert manifest["graphs"]["image_encoder"]["outputs"][2]["shape"] == ["batch", 64, 13, 13]
    assert manifest["provenance"]["source"] == "official-checkpoint"
