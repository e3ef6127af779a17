"""The two exported graphs (image encoder, head) and their float16 / int8 variants.

The TorchScript exporter (dynamo=False) gives plain ONNX ops with one dynamic `batch` axis; every
other size (S, L, channels) is fixed at export, so position tables and masks are constants.
"""
from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path

import onnx
import torch
from torch import nn

from models.cris import CRIS

IMAGE_INPUTS = ["image"]
FEATURE_NAMES = ["c3", "c4", "c5"]
HEAD_INPUTS = FEATURE_NAMES + ["tokens"]
HEAD_OUTPUTS = ["logits"]
PRESENCE_OUTPUT = "presence"  # [B,1] logit, only for a model with a presence head


def head_outputs(model: CRIS) -> list[str]:
    return HEAD_OUTPUTS + ([PRESENCE_OUTPUT] if model.cfg.presence else [])
OPSET = 17


class ImageEncoderGraph(nn.Module):
    def __init__(self, model: CRIS):
        super().__init__()
        self.model = model

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.model.encode_image(image)


class HeadGraph(nn.Module):
    def __init__(self, model: CRIS):
        super().__init__()
        self.model = model

    def forward(self, c3: torch.Tensor, c4: torch.Tensor, c5: torch.Tensor, tokens: torch.Tensor):
        """logits [B,1,S/4,S/4], and presence [B,1] when the model has the head."""
        logits, presence = self.model.head_outputs(c3, c4, c5, tokens)
        return logits if presence is None else (logits, presence)


def example_tokens(batch: int, word_len: int, vocab_size: int) -> torch.Tensor:
    """SOT, a few words, EOT, zero padding: [B,L] int64."""
    tokens = torch.zeros(batch, word_len, dtype=torch.long)
    for row in range(batch):
        words = 1 + (3 * row) % max(1, word_len - 2)
        tokens[row, 0] = vocab_size - 2
        tokens[row, 1:words + 1] = torch.arange(300, 300 + words) + row
        tokens[row, words + 1] = vocab_size - 1
    return tokens


def _export(module: nn.Module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> None:
    axes = {name: {0: "batch"} for name in inputs + outputs}
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's deprecation and constant-folding notes
        torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True, dynamo=False)


@torch.no_grad()
def export_fp32(model: CRIS, image_path: Path, head_path: Path, input_size: int, word_len: int) -> None:
    """Writes both graphs in float32. The model is left in eval mode."""
    model.eval()
    image = torch.randn(2, 3, input_size, input_size)
    tokens = example_tokens(2, word_len, model.cfg.vocab_size)
    features = model.encode_image(image)
    _export(ImageEncoderGraph(model), (image,), image_path, IMAGE_INPUTS, FEATURE_NAMES)
    _export(HeadGraph(model), (*features, tokens), head_path, HEAD_INPUTS, head_outputs(model))
    model.eval()


def convert_fp16(path: Path) -> None:
    """Float16 internals, float32 inputs and outputs (Cast nodes at the edges)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16

    converted = convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    onnx.save(converted, str(path))


def finalise_graph(path: Path, spec: dict, metadata: dict[str, str]) -> None:
    """Stamps metadata_props and writes the manifest's shapes onto the graph's inputs/outputs.

    The tracer cannot always prove that sizes computed from input shapes are constant (the head's
    logits come out as [batch, 1, ?, ?]); every size but the batch ("batch") is fixed at export.
    """
    graph = onnx.load(str(path))
    declared = {d["name"]: d["shape"] for d in spec["inputs"] + spec["outputs"]}
    for value in list(graph.graph.input) + list(graph.graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, size in zip(dims, declared[value.name]):
            if isinstance(size, int):
                dim.dim_value = size
            else:
                dim.dim_param = size
    kept = [p for p in graph.metadata_props if p.key not in metadata]
    del graph.metadata_props[:]
    graph.metadata_props.extend(kept)
    for key, value in metadata.items():
        graph.metadata_props.add(key=key, value=value)
    onnx.save(graph, str(path))
