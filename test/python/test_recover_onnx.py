"""recover_onnx: a bundle's ONNX initializers give back a trainable checkpoint computing the same
function (every weight placed, the folded BatchNorms re-measured without changing the output)."""
from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import torch

from models.cris import CRIS, PRESETS, random_cris
from models.export.bundle import export_bundle
from models.train.recover_onnx import (GRAPHS, build_probe, calibrate_batchnorms, folded_batchnorms, initializers,
                                       load_into, make_identity, match_initializers, onnx_parity)


def test_recovered_weights_compute_the_bundle(tmp_path: Path, clip_merges_path: Path) -> None:
    cfg = dataclasses.replace(PRESETS["small"], input_size=64, dropout=0.0)
    export_bundle(random_cris(cfg, seed=5, calib_batch=2), tmp_path / "b", clip_merges_path, bundle_id="test-r",
                  version="0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        probe, probe_inits = build_probe(cfg, Path(tmp))
    model = CRIS(cfg).eval()
    bundle_inits = {g: initializers(tmp_path / "b" / f"{g}.onnx") for g in GRAPHS}
    bns = folded_batchnorms(model, set(bundle_inits["image_encoder"]) | set(bundle_inits["head"]))
    assert bns, "the exporter folds the backbone's BatchNorms"
    with torch.no_grad():
        make_identity(bns, torch.Generator().manual_seed(0))
    for g in GRAPHS:
        load_into(model, match_initializers(probe, probe_inits[g], bundle_inits[g]), bundle_inits[g])
    before = onnx_parity(model, tmp_path / "b", cfg)
    assert before["logits_max_abs_diff"] <= 1e-4 * before["logits_range"]
    generator = torch.Generator().manual_seed(2)
    images = torch.randn(8, 3, 64, 64, generator=generator)
    tokens = torch.zeros(8, cfg.word_len, dtype=torch.long)
    tokens[:, 0], tokens[:, 1:4], tokens[:, 4] = 49406, torch.randint(300, 900, (8, 3), generator=generator), 49407
    calibrate_batchnorms(model, bns, images, tokens)
    after = onnx_parity(model, tmp_path / "b", cfg)
    assert after["logits_max_abs_diff"] <= 1e-4 * after["logits_range"]
    assert any(float(bn.running_var.mean()) != 1.0 - bn.eps for bn in bns), "statistics were measured"
