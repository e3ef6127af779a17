"""Exported two-graph bundles compute what PyTorch eager computes (random weights, small + RN50).

Each size is exported once per module (the RN50 export is the slow part); float16 graphs are
converted from the float32 ones.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

from models.cris import PRESETS, random_cris
from models.export.bundle import export_bundle
from models.export.check_bundle import check_bundle, run_bundle
from models.export.graphs import convert_fp16

THRESHOLD_LOGIT = float(np.log(0.35 / 0.65))  # sigmoid > 0.35


def masks(logits: np.ndarray) -> np.ndarray:
    return logits > THRESHOLD_LOGIT


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def smooth_images(batch: int, size: int, seed: int) -> np.ndarray:
    generator = torch.Generator().manual_seed(seed)
    coarse = torch.randn(batch, 3, size // 32, size // 32, generator=generator)
    images = torch.nn.functional.interpolate(coarse, size=(size, size), mode="bicubic", align_corners=False)
    return (images + 0.2 * torch.randn(images.shape, generator=generator)).numpy().astype(np.float32)


def phrases(batch: int, word_len: int) -> np.ndarray:
    rows = [[49406, 518, 786, 530, 320, 736, 2523, 49407], [49406, 1823, 22548, 49407],
            [49406] + list(range(400, 400 + word_len - 2)) + [49407]]
    out = np.zeros((batch, word_len), dtype=np.int64)
    for index in range(batch):
        row = rows[index % len(rows)][:word_len]
        out[index, :len(row)] = row
    return out


@pytest.fixture(scope="module", params=["small", "RN50"])
def exported(request, tmp_path_factory, clip_merges_path: Path) -> dict:
    cfg = PRESETS[request.param]
    model = random_cris(cfg, seed=7, calib_batch=2)
    out = tmp_path_factory.mktemp(f"bundle-{request.param.lower()}")
    manifest = export_bundle(model, out, clip_merges_path, bundle_id=f"test-{request.param.lower()}",
                             version="0.0.1", provenance={"source": "random-init"})
    fp16_dir = tmp_path_factory.mktemp(f"bundle-{request.param.lower()}-fp16")
    for name in manifest["files"]:
        shutil.copyfile(out / name, fp16_dir / name)
    convert_fp16(fp16_dir / "image_encoder.onnx")
    convert_fp16(fp16_dir / "head.onnx")
    return {"model": model, "dir": out, "fp16_dir": fp16_dir, "manifest": manifest, "cfg": cfg}


@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_matches_pytorch(exported: dict, batch: int) -> None:
    cfg, manifest = exported["cfg"], exported["manifest"]
    image, tokens = smooth_images(batch, cfg.input_size, seed=batch), phrases(batch, cfg.word_len)
    with torch.no_grad():
        expected = exported["model"](torch.from_numpy(image), torch.from_numpy(tokens)).numpy()
    got = run_bundle(exported["dir"], manifest, image, tokens)
    assert got.shape == (batch, 1, cfg.input_size // 4, cfg.input_size // 4)
    span = float(expected.max() - expected.min())
    assert span > 1.0, "random model gives flat logits; the test would prove nothing"
    assert 0.01 < masks(expected).mean() < 0.99, "random model's masks are empty or full"
    assert float(np.abs(got - expected).max()) <= 1e-4 * span
    assert (masks(got) == masks(expected)).mean() >= 0.999


def test_head_pairs_one_image_with_several_phrases(exported: dict) -> None:
    cfg, manifest = exported["cfg"], exported["manifest"]
    image, tokens = smooth_images(1, cfg.input_size, seed=11), phrases(3, cfg.word_len)
    import onnxruntime as ort

    encoder = ort.InferenceSession(str(exported["dir"] / "image_encoder.onnx"), providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(exported["dir"] / "head.onnx"), providers=["CPUExecutionProvider"])
    features = [np.repeat(f, 3, axis=0) for f in encoder.run(None, {"image": image})]
    got = head.run(None, dict(zip(["c3", "c4", "c5", "tokens"], [*features, tokens])))[0]
    for row in range(3):
        alone = run_bundle(exported["dir"], manifest, image, tokens[row:row + 1])
        assert np.abs(got[row] - alone[0]).max() <= 1e-4 * float(alone.max() - alone.min())


def test_fp16_masks_agree_with_fp32(exported: dict) -> None:
    cfg, manifest = exported["cfg"], exported["manifest"]
    image, tokens = smooth_images(3, cfg.input_size, seed=5), phrases(3, cfg.word_len)
    full = run_bundle(exported["dir"], manifest, image, tokens)
    half = run_bundle(exported["fp16_dir"], manifest, image, tokens)
    assert half.dtype == np.float32
    assert iou(masks(full), masks(half)) >= 0.99


def test_bundle_is_self_consistent(exported: dict) -> None:
    bundle, manifest = exported["dir"], exported["manifest"]
    assert check_bundle(bundle) == []
    assert json.loads((bundle / "manifest.json").read_text()) == manifest
    assert sorted(p.name for p in bundle.iterdir()) == ["bpe_merges.txt.gz", "head.onnx", "image_encoder.onnx",
                                                        "manifest.json"]
    tokenizer = manifest["text"]["tokenizer"]
    assert (tokenizer["merges_used"], tokenizer["vocab_size"], tokenizer["sot_id"], tokenizer["eot_id"]) == \
        (48894, 49408, 49406, 49407)
    for name in ("image_encoder.onnx", "head.onnx"):
        graph = onnx.load(str(bundle / name), load_external_data=False)
        props = {p.key: p.value for p in graph.metadata_props}
        assert props == {"cris.id": manifest["id"], "cris.version": "0.0.1", "cris.format": "cris-bundle/1"}
        for value in list(graph.graph.input) + list(graph.graph.output):
            assert value.type.tensor_type.shape.dim[0].dim_param == "batch"
