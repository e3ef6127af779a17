"""Writes a `cris-bundle/1` folder: two ONNX graphs, the merges file and manifest.json.

export_bundle(model, out_dir, merges_path, bundle_id=..., version=..., provenance=..., word_len=17,
              input_size=416, precision="fp32", presence_threshold=PRESENCE_THRESHOLD) -> manifest dict
checks the merges file against the model's token embedding, exports, stamps cris.* metadata into
each graph (a model with a presence head gets the head's second output `presence` and the
manifest a top-level `presence_threshold`), runs both graphs in onnxruntime against PyTorch eager (recorded under
provenance.verification; a float32 export that disagrees raises ExportError) and writes the
manifest last, with the sha256 of every file.
"""
from __future__ import annotations

import datetime as dt
import json
import re
import sys
from pathlib import Path
from typing import Mapping, Optional

import numpy as np
import torch

from models.cris import CRIS
from models.digest import file_sha256

from models.thresholds import PRESENCE_THRESHOLD, THRESHOLD

from . import graphs
from .tolerance import judge
from .vocab import BUNDLE_MERGES_FILE, check_merges, copy_merges

FORMAT = "cris-bundle/1"
IMAGE_FILE = "image_encoder.onnx"
HEAD_FILE = "head.onnx"
PRECISIONS = ("fp32", "fp16", "int8")
MEAN = [0.48145466, 0.4578275, 0.40821073]
STD = [0.26862954, 0.26130258, 0.27577711]
OUTPUT_STRIDE = 4
ID_PATTERN = re.compile(r"^[a-z0-9-]+$")


class ExportError(RuntimeError):
    """The export could not produce a bundle that matches the PyTorch model."""


def arch_of(model: CRIS) -> dict:
    cfg = model.cfg
    return {
        "name": "cris", "backbone": cfg.backbone_name, "vision_width": cfg.vision_width,
        "vision_layers": list(cfg.vision_layers), "embed_dim": cfg.embed_dim, "text_width": cfg.text_width,
        "text_layers": cfg.text_layers, "text_heads": cfg.text_heads, "vocab_size": cfg.vocab_size,
        "word_dim": cfg.word_dim, "vis_dim": cfg.vis_dim, "fpn_in": list(cfg.fpn_in), "fpn_out": list(cfg.fpn_out),
        "num_layers": cfg.num_layers, "num_head": cfg.num_head, "dim_ffn": cfg.dim_ffn,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def graph_specs(model: CRIS, input_size: int, word_len: int) -> dict:
    cfg = model.cfg
    feature_sizes = [(cfg.fpn_in[0], input_size // 8), (cfg.fpn_in[1], input_size // 16),
                     (cfg.fpn_in[2], input_size // 32)]
    features = [{"name": name, "dtype": "float32", "shape": ["batch", channels, side, side]}
                for name, (channels, side) in zip(graphs.FEATURE_NAMES, feature_sizes)]
    side = input_size // OUTPUT_STRIDE
    return {
        "image_encoder": {
            "file": IMAGE_FILE,
            "inputs": [{"name": "image", "dtype": "float32", "shape": ["batch", 3, input_size, input_size]}],
            "outputs": features,
        },
        "head": {
            "file": HEAD_FILE,
            "inputs": features + [{"name": "tokens", "dtype": "int64", "shape": ["batch", word_len]}],
            "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 1, side, side]}]
            + ([{"name": graphs.PRESENCE_OUTPUT, "dtype": "float32", "shape": ["batch", 1]}] if cfg.presence else []),
        },
    }


def verify(model: CRIS, out_dir: Path, input_size: int, word_len: int, batch: int = 3, seed: int = 123,
           threshold: float = THRESHOLD) -> dict:
    """Runs the bundle's graphs in onnxruntime and PyTorch eager on the same random batch."""
    import onnxruntime as ort

    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(batch, 3, input_size, input_size, generator=generator)
    tokens = graphs.example_tokens(batch, word_len, model.cfg.vocab_size)
    with torch.no_grad():
        expected, expected_presence = model.eval().head_outputs(*model.encode_image(image), tokens)
    expected = expected.numpy()
    options = ort.SessionOptions()
    options.log_severity_level = 3
    encoder = ort.InferenceSession(str(out_dir / IMAGE_FILE), options, providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(out_dir / HEAD_FILE), options, providers=["CPUExecutionProvider"])
    features = encoder.run(graphs.FEATURE_NAMES, {"image": image.numpy()})
    outputs = head.run(graphs.head_outputs(model), dict(zip(graphs.HEAD_INPUTS, [*features, tokens.numpy()])))
    got = outputs[0]
    cut = np.log(threshold / (1 - threshold))  # the bundle's probability threshold as a logit
    masks_expected, masks_got = expected > cut, got > cut
    union = np.logical_or(masks_expected, masks_got).sum()
    check = {
        "batch": batch,
        "max_abs_diff": float(np.abs(got - expected).max()),
        "logits_range": float(expected.max() - expected.min()),
        "max_abs_logit": float(np.abs(expected).max()),
        "mask_agreement": float((masks_expected == masks_got).mean()),
        "mask_iou": float(np.logical_and(masks_expected, masks_got).sum() / union) if union else 1.0,
    }
    if expected_presence is not None:
        check["presence_max_abs_diff"] = float(np.abs(outputs[1] - expected_presence.numpy()).max())
        check["max_abs_presence"] = float(np.abs(expected_presence.numpy()).max())
    return check


def export_bundle(model: CRIS, out_dir: str | Path, merges_path: str | Path, *, bundle_id: str, version: str,
                  provenance: Optional[Mapping] = None, word_len: Optional[int] = None,
                  input_size: Optional[int] = None, precision: str = "fp32",
                  calibration_images: Optional[np.ndarray] = None, calibration_tokens: Optional[np.ndarray] = None,
                  threshold: float = THRESHOLD,
                  presence_threshold: float = PRESENCE_THRESHOLD, tolerance: Optional[float] = None) -> dict:
    """Exports model into out_dir as a cris-bundle/1 folder and returns the manifest written.

    provenance: extra fields (source, checkpoint, training, metrics, licence...) merged into the
    manifest's provenance. calibration_images: [N,3,S,S] normalised images for int8 calibration
    (synthetic images are used when None), calibration_tokens: [N,L] a phrase about each of them.
    presence_threshold: the default "found" probability of a model with a presence head (choose it
    on validation data); ignored without the head.
    tolerance: a max |logit diff| replacing the measured gate (models/export/tolerance.py), with a
    warning printed and recorded under provenance.verification.tolerance_override.
    """
    if precision not in PRECISIONS:
        raise ExportError(f"precision '{precision}' is not one of {', '.join(PRECISIONS)}")
    if not 0.0 <= presence_threshold <= 1.0:
        raise ExportError(f"presence threshold {presence_threshold} is not a probability in [0, 1]")
    if not ID_PATTERN.match(bundle_id):
        raise ExportError(f"bundle id '{bundle_id}' must match [a-z0-9-]+ (it names the folder)")
    word_len = word_len or model.cfg.word_len
    input_size = input_size or model.cfg.input_size
    if input_size % 32 or not 2 <= word_len <= model.cfg.context_length:
        raise ExportError(f"input size {input_size} must be a multiple of 32 and word_len {word_len} "
                          f"between 2 and {model.cfg.context_length}")
    merges_path, out_dir = Path(merges_path), Path(out_dir)
    merges = check_merges(merges_path, model.cfg.vocab_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").unlink(missing_ok=True)  # a half-written folder never looks complete

    image_path, head_path = out_dir / IMAGE_FILE, out_dir / HEAD_FILE
    graphs.export_fp32(model, image_path, head_path, input_size, word_len)
    if precision == "fp16":
        graphs.convert_fp16(image_path)
        graphs.convert_fp16(head_path)
    elif precision == "int8":
        from .quantize import quantize_bundle_graphs

        quantize_bundle_graphs(model, image_path, head_path, input_size, word_len, calibration_images,
                               calibration_tokens)
    specs = graph_specs(model, input_size, word_len)
    stamp = {"cris.id": bundle_id, "cris.version": version, "cris.format": FORMAT}
    for path, spec in ((image_path, specs["image_encoder"]), (head_path, specs["head"])):
        graphs.finalise_graph(path, spec, stamp)
    copy_merges(merges_path, out_dir)

    check = verify(model, out_dir, input_size, word_len, threshold=threshold)
    problems = judge(check, model.cfg, tolerance)
    if tolerance is not None:
        print(f"export: warning: --tolerance {tolerance:g} replaces the measured gate "
              f"({check['tolerance_override']['rule_would_allow']:.3e} here); recorded in the manifest", file=sys.stderr)
    if precision == "fp32" and problems:
        raise ExportError(f"exported graphs disagree with PyTorch: {'; '.join(problems)} ({json.dumps(check)})")

    cfg = model.cfg
    vocab_size = cfg.vocab_size
    manifest = {
        "format": FORMAT, "id": bundle_id, "version": version, "arch": arch_of(model), "precision": precision,
        "input": {"size": input_size, "mean": MEAN, "std": STD, "pad_rgb": [round(m * 255, 7) for m in MEAN],
                  "interpolation": "bicubic"},
        "text": {"word_len": word_len, "tokenizer": {
            "type": "clip-bpe", "merges_file": BUNDLE_MERGES_FILE, "merges_used": merges, "vocab_size": vocab_size,
            "sot_id": vocab_size - 2, "eot_id": vocab_size - 1, "pad_id": 0}},
        "output": {"stride": OUTPUT_STRIDE, "threshold": threshold, "upsample": "bicubic-align-corners"},
        **({"presence_threshold": presence_threshold} if cfg.presence else {}),
        "graphs": specs,
        "files": {name: file_sha256(out_dir / name) for name in (IMAGE_FILE, HEAD_FILE, BUNDLE_MERGES_FILE)},
        "provenance": {
            "source": "random-init", "exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "exporter": "models/export/export_onnx.py", "torch": torch.__version__.split("+")[0],
            "opset": graphs.OPSET, "licence": "MIT (CRIS reference code)",
            **dict(provenance or {}), "verification": check,
        },
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest
