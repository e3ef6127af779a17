"""--int8: statically quantised graphs that still make a sound bundle.

Mask agreement with float32 is measured by `npm run bench:model` (e), not asserted here.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

import onnx
import pytest
import torch

from models.cris import PRESETS, random_cris
from models.export.bundle import export_bundle
from models.export.check_bundle import check_bundle


@pytest.fixture(scope="module")
def int8_bundle(tmp_path_factory, clip_merges_path: Path) -> tuple[Path, dict, torch.nn.Module]:
    cfg = dataclasses.replace(PRESETS["small"], input_size=224)
    model = random_cris(cfg, seed=3)
    out = tmp_path_factory.mktemp("int8")
    manifest = export_bundle(model, out, clip_merges_path, bundle_id="test-int8", version="0.0.1", precision="int8")
    return out, manifest, model


def test_int8_bundle_is_sound(int8_bundle) -> None:
    out, manifest, _ = int8_bundle
    assert manifest["precision"] == "int8"
    assert check_bundle(out) == []
    for name in ("image_encoder.onnx", "head.onnx"):
        ops = {node.op_type for node in onnx.load(str(out / name)).graph.node}
        assert {"QuantizeLinear", "DequantizeLinear"} <= ops


def test_int8_head_reads_c5_in_float32(int8_bundle) -> None:
    # C5 (the attention pool's unnormalised output) loses its small values in uint8: its readers stay float32
    out, _, _ = int8_bundle
    head = onnx.load(str(out / "head.onnx")).graph
    readers = [node for node in head.node if "c5" in node.input]
    assert readers and all(node.op_type not in ("QuantizeLinear", "DequantizeLinear") for node in readers)
    assert any(node.op_type == "QuantizeLinear" and node.input[0] in ("c3", "c4") for node in head.node)


def test_int8_calibration_takes_one_phrase_per_image(tmp_path: Path) -> None:
    import numpy as np

    from models.export.quantize import quantize_bundle_graphs

    model = random_cris(PRESETS["small"], seed=3)
    images, tokens = np.zeros((3, 3, 64, 64), np.float32), np.zeros((2, 17), np.int64)
    with pytest.raises(ValueError, match="2 calibration phrases for 3 images"):
        quantize_bundle_graphs(model, tmp_path / "a.onnx", tmp_path / "b.onnx", 64, 17, images, tokens)
