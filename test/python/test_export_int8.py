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
