"""The presence head: an exported head.onnx's second output `presence` computes what PyTorch
computes, the manifest declares it with a presence_threshold, check_bundle holds it to that, and
the head stays optional (official checkpoints have none; a bundle without it stays valid)."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from models.cris import CRIS, PRESETS, infer_config, random_cris
from models.export.bundle import ExportError, export_bundle
from models.export.check_bundle import check_bundle, run_bundle_outputs
from models.train.losses import segmentation_loss

from test_export_parity import phrases, smooth_images

SIZE = 160


@pytest.fixture(scope="module")
def exported(tmp_path_factory, clip_merges_path: Path) -> dict:
    cfg = dataclasses.replace(PRESETS["small"], input_size=SIZE, presence=True)
    model = random_cris(cfg, seed=3, calib_batch=2)
    out = tmp_path_factory.mktemp("bundle-presence")
    manifest = export_bundle(model, out, clip_merges_path, bundle_id="test-presence", version="0.0.1",
                             provenance={"source": "random-init"}, presence_threshold=0.6)
    return {"model": model, "dir": out, "manifest": manifest, "cfg": cfg}


@pytest.mark.parametrize("batch", [1, 3])
def test_presence_onnx_matches_pytorch(exported: dict, batch: int) -> None:
    cfg = exported["cfg"]
    image, tokens = smooth_images(batch, SIZE, seed=20 + batch), phrases(batch, cfg.word_len)
    model = exported["model"].eval()
    with torch.no_grad():
        logits, presence = model.head_outputs(*model.encode_image(torch.from_numpy(image)), torch.from_numpy(tokens))
    got_logits, got_presence = run_bundle_outputs(exported["dir"], exported["manifest"], image, tokens)
    assert got_presence.shape == (batch, 1) and got_presence.dtype == np.float32
    assert float(np.abs(got_presence - presence.numpy()).max()) <= 1e-4 * max(1.0, float(np.abs(presence).max()))
    assert float(np.abs(got_logits - logits.numpy()).max()) <= 1e-4 * float(logits.max() - logits.min())
    if batch == 3:
        assert float(presence.max() - presence.min()) > 1e-3, "presence does not depend on the phrase"


def test_manifest_declares_presence_and_check_bundle_holds_it(exported: dict, tmp_path: Path) -> None:
    manifest = exported["manifest"]
    assert manifest["graphs"]["head"]["outputs"][1] == {"name": "presence", "dtype": "float32", "shape": ["batch", 1]}
    assert manifest["presence_threshold"] == 0.6
    assert "presence_max_abs_diff" in manifest["provenance"]["verification"]
    assert check_bundle(exported["dir"]) == []
    for threshold, wanted in ((None, "needs one in [0, 1]"), (1.5, "needs one in [0, 1]")):
        broken = tmp_path / f"broken-{threshold}"
        shutil.copytree(exported["dir"], broken)
        edited = json.loads((broken / "manifest.json").read_text())
        edited.pop("presence_threshold") if threshold is None else edited.update(presence_threshold=threshold)
        (broken / "manifest.json").write_text(json.dumps(edited))
        problems = check_bundle(broken)
        assert any(wanted in p for p in problems), problems


def test_a_bundle_without_presence_stays_valid_and_may_not_claim_a_threshold(tmp_path: Path, clip_merges_path: Path) -> None:
    cfg = dataclasses.replace(PRESETS["small"], input_size=64)
    manifest = export_bundle(random_cris(cfg, seed=1, calib_batch=2), tmp_path / "plain", clip_merges_path,
                             bundle_id="test-plain", version="0.0.1")
    assert [o["name"] for o in manifest["graphs"]["head"]["outputs"]] == ["logits"]
    assert "presence_threshold" not in manifest
    assert check_bundle(tmp_path / "plain") == []
    manifest["presence_threshold"] = 0.5
    (tmp_path / "plain" / "manifest.json").write_text(json.dumps(manifest))
    assert any("no presence output" in p for p in check_bundle(tmp_path / "plain"))
    with pytest.raises(ExportError, match="probability"):
        export_bundle(random_cris(dataclasses.replace(cfg, presence=True), seed=1, calib_batch=2), tmp_path / "x",
                      clip_merges_path, bundle_id="test-x", version="0.0.1", presence_threshold=2.0)


def test_presence_is_optional_in_the_weights() -> None:
    plain = CRIS(PRESETS["small"])
    with_head = CRIS(dataclasses.replace(PRESETS["small"], presence=True))
    assert not any(k.startswith("presence.") for k in plain.state_dict())
    assert infer_config(plain.state_dict()).presence is False
    assert infer_config(with_head.state_dict()).presence is True
    with pytest.raises(RuntimeError):
        plain.load_state_dict(with_head.state_dict())  # strict: a presence head is no official key


def test_presence_loss_targets_non_empty_masks() -> None:
    logits = torch.zeros(2, 1, 8, 8)
    masks = torch.zeros(2, 1, 8, 8)
    masks[0, 0, 2:4, 2:4] = 1.0  # row 0 has a target, row 1 none
    right = torch.tensor([[6.0], [-6.0]])
    wrong = -right
    low = segmentation_loss(logits, masks, 1.0, right)[1]["presence"]
    high = segmentation_loss(logits, masks, 1.0, wrong)[1]["presence"]
    assert float(low) < 0.01 < 5.0 < float(high)
    assert "presence" not in segmentation_loss(logits, masks, 1.0)[1]
