"""int8 graphs for CPU: onnxruntime static quantisation (QDQ, per-channel weights).

Calibration runs the float32 graphs on normalised images ([N,3,S,S]; random images of mixed
smoothness when none are given) and phrases (token rows; example phrases when none are given);
the head is calibrated on the image encoder's real outputs. Only convolutions and weight matmuls
are quantised: attention scores, softmax, layer norms and the projector's dynamic kernel (both
operands are activations) stay float32, since they carry the mask's decision boundary and cost
little. So do the head's layers that read C5 (FLOAT_FEATURES): C5 is the attention pool's
unnormalised output (on the shipped model up to 7.4e3 with half the values 0), whose uint8 steps
erase the small values; quantising that one convolution alone took the shipped model's mask IoU
against float32 to 0.36 on 40 test phrases (models/export/README.md, int8).
"""
from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path
from typing import Optional

import numpy as np
import onnx
import torch

from models.cris import CRIS
from models.cris.random_init import calibration_batch

from . import graphs

CALIBRATION_IMAGES = 4
FLOAT_FEATURES = ("c5",)  # head inputs whose consumers stay float32 (see above)


def synthetic_images(model: CRIS, count: int, size: int, seed: int = 1) -> np.ndarray:
    """Random images of mixed smoothness at the scale of CLIP-normalised photos: [N,3,S,S] float32."""
    cfg = dataclasses.replace(model.cfg, input_size=size)
    images, _ = calibration_batch(cfg, count, torch.Generator().manual_seed(seed))
    return images.numpy().astype(np.float32)


class _Feed:
    """onnxruntime CalibrationDataReader over a list of input dicts."""

    def __init__(self, feeds: list[dict[str, np.ndarray]]):
        self._feeds = iter(feeds)

    def get_next(self) -> Optional[dict[str, np.ndarray]]:
        return next(self._feeds, None)


def _weight_matmuls(path: Path) -> list[str]:
    """Names of MatMul/Gemm nodes with a constant (initializer) operand."""
    model = onnx.load(str(path), load_external_data=False)
    constants = {i.name for i in model.graph.initializer}
    constants |= {n.output[0] for n in model.graph.node if n.op_type == "Constant"}
    return [n.name for n in model.graph.node
            if n.op_type in ("MatMul", "Gemm") and any(i in constants for i in n.input)]


def _kept_float(path: Path) -> list[str]:
    """Matmuls of two activations, and every node reading a FLOAT_FEATURES graph input."""
    model = onnx.load(str(path), load_external_data=False)
    weight_matmuls = set(_weight_matmuls(path))
    return [n.name for n in model.graph.node
            if (n.op_type in ("MatMul", "Gemm") and n.name not in weight_matmuls)
            or any(i in FLOAT_FEATURES for i in n.input)]


def _quantize(path: Path, feeds: list[dict[str, np.ndarray]]) -> None:
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    keep_float = _kept_float(path)
    with tempfile.TemporaryDirectory() as scratch:
        target = Path(scratch) / "quantized.onnx"
        quantize_static(str(path), str(target), _Feed(feeds), quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, per_channel=True,
                        reduce_range=True, op_types_to_quantize=["Conv", "MatMul", "Gemm"],
                        nodes_to_exclude=keep_float, calibrate_method=CalibrationMethod.MinMax,
                        extra_options={"ActivationSymmetric": False, "WeightSymmetric": True})
        shutil.copyfile(target, path)


def quantize_bundle_graphs(model: CRIS, image_path: Path, head_path: Path, input_size: int, word_len: int,
                           calibration_images: Optional[np.ndarray] = None,
                           calibration_tokens: Optional[np.ndarray] = None) -> None:
    """Replaces both float32 graphs in place by their int8 versions.

    calibration_tokens: [N,L] int64, one phrase about each calibration image (row i about image i)."""
    import onnxruntime as ort

    images = calibration_images if calibration_images is not None else \
        synthetic_images(model, CALIBRATION_IMAGES, input_size)
    tokens = calibration_tokens if calibration_tokens is not None else \
        graphs.example_tokens(len(images), word_len, model.cfg.vocab_size).numpy()
    if len(tokens) != len(images):
        raise ValueError(f"{len(tokens)} calibration phrases for {len(images)} images")
    encoder = ort.InferenceSession(str(image_path), providers=["CPUExecutionProvider"])
    features = [encoder.run(graphs.FEATURE_NAMES, {"image": images[i:i + 1]}) for i in range(len(images))]
    del encoder
    _quantize(image_path, [{"image": images[i:i + 1]} for i in range(len(images))])
    head_feeds = [dict(zip(graphs.HEAD_INPUTS, [*f, tokens[i:i + 1]])) for i, f in enumerate(features)]
    _quantize(head_path, head_feeds)
