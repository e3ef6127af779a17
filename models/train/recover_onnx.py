"""Recovers a trainable checkpoint from an exported bundle's ONNX initializers (for a bundle whose
training checkpoint is gone, e.g. models/cris-shapes-s).

    python -m models.train.recover_onnx --bundle models/cris-shapes-s --data data/shapes/train-v2-s1601 \
        --out runs/recovered/shipped.pt

How: a probe model of the bundle's architecture, with every BatchNorm that the exporter folds into
its convolution set to the identity (gamma 1, mean 0, var 1 - eps) and distinct random values
everywhere, is exported by the same exporter; each of its initializers is then found among the
probe's parameters (as is, transposed, or a third of an attention in_proj, transposed or not),
which names the parameter each initializer of the bundle holds. Folded convolutions come back
with the identity BatchNorm; their statistics are then measured on --data images (the network
computing exactly the bundle's function) and written into the BatchNorm with a matching
gamma/beta, so that the function is unchanged and batch-statistics training starts where the
bundle is. The result is checked against onnxruntime on the bundle's own graphs.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper
from torch import nn

from models.cris import CRIS, CrisConfig
from models.digest import file_sha256
from models.export.graphs import example_tokens, export_fp32

from .checkpointing import ROOT, save_checkpoint

GRAPHS = ("image_encoder", "head")


def config_from_manifest(manifest: dict) -> CrisConfig:
    arch, size, word_len = manifest["arch"], manifest["input"]["size"], manifest["text"]["word_len"]
    return CrisConfig(
        vision_layers=tuple(arch["vision_layers"]), vision_width=arch["vision_width"],
        vision_heads=arch["vision_width"] * 32 // 64, vision_pos_grid=max(1, size // 32), embed_dim=arch["embed_dim"],
        context_length=word_len, vocab_size=arch["vocab_size"], text_width=arch["text_width"],
        text_heads=arch["text_heads"], text_layers=arch["text_layers"], word_len=word_len, input_size=size,
        fpn_out=tuple(arch["fpn_out"]), num_layers=arch["num_layers"], num_head=arch["num_head"],
        dim_ffn=arch["dim_ffn"], dropout=0.0)


def initializers(path: Path) -> dict[str, np.ndarray]:
    """Initializers keyed by where they are used: "node name:input slot" of their first consumer
    (the exporter's node names follow the module scopes; its onnx::N value names need not agree
    between two exports), or by their own name when that is a parameter's (model.*)."""
    graph = onnx.load(str(path)).graph
    arrays = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    out = {}
    for node in graph.node:
        for slot, name in enumerate(node.input):
            if name in arrays and not name.startswith("model."):
                out.setdefault(f"{node.name}:{slot}", arrays.pop(name))
    return out | {name: a for name, a in arrays.items() if name.startswith("model.")}


def _views(value: torch.Tensor):
    """(transform, array) pairs that an initializer may be of a parameter."""
    yield ("same", None), value
    if value.dim() == 2:
        yield ("T", None), value.T
    rows = value.shape[0] - 1 if value.dim() == 2 else 0
    if rows > 0 and round(rows ** 0.5) ** 2 == rows:  # the attention pool's grid, [1+g*g,C] -> [1,C,g,g]
        side = round(rows ** 0.5)
        yield ("grid", side), value[1:].T.reshape(1, value.shape[1], side, side)
    if value.dim() >= 1 and value.shape[0] % 3 == 0:
        for i, part in enumerate(value.chunk(3)):
            yield ("chunk", i), part
            if part.dim() == 2:
                yield ("chunkT", i), part.T


def match_initializers(probe: CRIS, probe_inits: dict[str, np.ndarray],
                       bundle_inits: dict[str, np.ndarray]) -> dict[str, tuple[str, tuple]]:
    """initializer name -> (parameter or buffer name, transform); constants (equal in both) are left out."""
    state = {k: v.detach() for k, v in probe.state_dict().items() if v.is_floating_point()}
    mapping, missing = {}, []
    for name in bundle_inits:
        if name.startswith("model.") and name[6:] in state:
            mapping[name] = (name[6:], ("same", None))  # a parameter's own name: no probe needed
    for name, array in probe_inits.items():
        if name.startswith("model."):
            continue
        if not np.issubdtype(array.dtype, np.floating):
            if not np.array_equal(array, bundle_inits[name]):
                missing.append(f"{name}: an integer constant that differs from the probe's")
            continue
        target = torch.from_numpy(array)
        found = [(key, how) for key, value in state.items() if value.numel() in (target.numel(), target.numel() * 3, target.numel() + (value.shape[-1] if value.dim() else 0))
                 for how, view in _views(value)
                 if view.shape == target.shape and torch.allclose(view, target, rtol=1e-5, atol=1e-7)]
        if not found and np.array_equal(array, bundle_inits[name]):
            continue  # a constant of the graph (a Resize's scales, say), no weight
        if len(found) != 1:
            missing.append(f"{name} {list(array.shape)}: {len(found)} matches")
            continue
        mapping[name] = found[0]
    if missing:
        raise RuntimeError("initializers not recovered: " + "; ".join(missing))
    return mapping


def folded_batchnorms(model: CRIS, inits: set[str]) -> list[nn.BatchNorm2d]:
    """BatchNorms the exporter folded into their convolution (their statistics are no initializer)."""
    return [m for name, m in model.named_modules()
            if isinstance(m, nn.BatchNorm2d) and f"model.{name}.running_mean" not in inits]


def make_identity(bns: list[nn.BatchNorm2d], generator: torch.Generator) -> None:
    for bn in bns:
        bn.weight.data.fill_(1.0)
        bn.running_mean.zero_()
        bn.running_var.fill_(1.0 - bn.eps)
        bn.bias.data.copy_(torch.randn(bn.bias.shape, generator=generator))


def build_probe(cfg: CrisConfig, workdir: Path) -> tuple[CRIS, dict[str, dict[str, np.ndarray]]]:
    generator = torch.Generator().manual_seed(0)
    probe = CRIS(cfg).eval()
    with torch.no_grad():
        for p in probe.parameters():
            p.copy_(torch.randn(p.shape, generator=generator) * 0.1)
    exported = {g: workdir / f"probe_{g}.onnx" for g in GRAPHS}
    first = initializers_after_export(probe, cfg, exported)
    with torch.no_grad():
        make_identity(folded_batchnorms(probe, set(first["image_encoder"]) | set(first["head"])), generator)
    return probe, initializers_after_export(probe, cfg, exported)


def initializers_after_export(model: CRIS, cfg: CrisConfig, paths: dict[str, Path]) -> dict[str, dict[str, np.ndarray]]:
    export_fp32(model, paths["image_encoder"], paths["head"], cfg.input_size, cfg.word_len)
    return {g: initializers(paths[g]) for g in GRAPHS}


@torch.no_grad()
def load_into(model: CRIS, mapping: dict[str, tuple[str, tuple]], inits: dict[str, np.ndarray]) -> None:
    state = model.state_dict()
    for name, (key, (how, part)) in mapping.items():
        value = torch.from_numpy(inits[name].copy())
        if how in ("T", "chunkT"):
            value = value.T
        if how == "grid":  # [1,C,g,g] -> rows 1.. of [1+g*g,C]; row 0 (the mean token's) is another initializer
            state[key][1:].copy_(value.reshape(value.shape[1], -1).T)
        elif how in ("chunk", "chunkT"):
            state[key].chunk(3)[part].copy_(value)
        else:
            state[key].copy_(value.reshape(state[key].shape))


@torch.no_grad()
def calibrate_batchnorms(model: CRIS, bns: list[nn.BatchNorm2d], images: torch.Tensor, tokens: torch.Tensor) -> None:
    """Measures each identity BatchNorm's input statistics and moves them into the layer, same function."""
    sums = {id(bn): [0.0, 0.0, 0] for bn in bns}

    def hook(bn, inputs, _output):
        x = inputs[0].double()  # [B,C,H,W]
        acc = sums[id(bn)]
        acc[0] = acc[0] + x.sum((0, 2, 3))
        acc[1] = acc[1] + (x * x).sum((0, 2, 3))
        acc[2] += x.numel() // x.shape[1]

    handles = [bn.register_forward_hook(hook) for bn in bns]
    model.eval()
    for start in range(0, len(images), 16):
        model(images[start:start + 16], tokens[start:start + 16])
    for h in handles:
        h.remove()
    for bn in bns:
        total, squares, count = sums[id(bn)]
        mean = total / count
        var = (squares / count - mean * mean).clamp_min(0)
        bias = bn.bias.double()  # the folded bias: output = x + bias with the identity BN
        bn.running_mean.copy_(mean.float())
        bn.running_var.copy_(var.float())
        bn.weight.copy_(torch.sqrt(var + bn.eps).float())
        bn.bias.copy_((bias + mean).float())


def onnx_parity(model: CRIS, bundle: Path, cfg: CrisConfig, seed: int = 1) -> dict:
    """Max |diff| of the recovered model against the bundle's graphs on random input."""
    generator = torch.Generator().manual_seed(seed)
    image = torch.randn(2, 3, cfg.input_size, cfg.input_size, generator=generator)
    tokens = example_tokens(2, cfg.word_len, cfg.vocab_size)
    encoder = ort.InferenceSession(str(bundle / "image_encoder.onnx"), providers=["CPUExecutionProvider"])
    head = ort.InferenceSession(str(bundle / "head.onnx"), providers=["CPUExecutionProvider"])
    feats = encoder.run(None, {"image": image.numpy()})
    logits = head.run(["logits"], dict(zip(["c3", "c4", "c5", "tokens"], [*feats, tokens.numpy()])))[0]
    model.eval()
    with torch.no_grad():
        ours = model(image, tokens).numpy()
        our_feats = [f.numpy() for f in model.encode_image(image)]
    return {"features_max_abs_diff": float(max(np.abs(a - b).max() for a, b in zip(feats, our_feats))),
            "logits_max_abs_diff": float(np.abs(ours - logits).max()), "logits_range": float(np.ptp(logits))}


def main(argv: list[str]) -> int:
    from models.tokenizer.clip_bpe import ClipBpe

    from .data import load_tensors, normalise

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bundle", type=Path, required=True)
    ap.add_argument("--data", type=Path, required=True, help="a dataset folder: images for the BatchNorm statistics")
    ap.add_argument("--images", type=int, default=256)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    manifest = json.loads((args.bundle / "manifest.json").read_text())
    cfg = config_from_manifest(manifest)
    with tempfile.TemporaryDirectory() as tmp:
        probe, probe_inits = build_probe(cfg, Path(tmp))
    model = CRIS(cfg).eval()
    bundle_inits = {g: initializers(args.bundle / f"{g}.onnx") for g in GRAPHS}
    for g in GRAPHS:
        if {k for k in bundle_inits[g] if not k.startswith("model.")} != {k for k in probe_inits[g] if not k.startswith("model.")}:
            raise SystemExit(f"{g}: the bundle's initializers are not the probe's (another exporter or torch?)")
    bns = folded_batchnorms(model, set(bundle_inits["image_encoder"]) | set(bundle_inits["head"]))
    with torch.no_grad():
        make_identity(bns, torch.Generator().manual_seed(0))
    for g in GRAPHS:
        load_into(model, match_initializers(probe, probe_inits[g], bundle_inits[g]), bundle_inits[g])
    before = onnx_parity(model, args.bundle, cfg)
    merges = args.bundle / manifest["text"]["tokenizer"]["merges_file"]
    data = load_tensors(args.data, ClipBpe.from_file(merges), cfg.input_size, cfg.word_len, limit=args.images)
    images = normalise(data.images[data.target_image[data.sample_target]][: args.images])
    calibrate_batchnorms(model, bns, images, data.tokens[: len(images), 0])
    after = onnx_parity(model, args.bundle, cfg)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    merges_rel = ROOT / "models" / "tokenizer" / "shapes_merges.txt.gz"
    save_checkpoint(args.out, model, None, {
        "step": 0, "elapsed_s": 0.0, "merges": str(merges_rel.relative_to(ROOT)), "machine": "recovered from ONNX",
        "recovered_from": {"bundle": str(args.bundle), "version": manifest["version"],
                           "head_sha256": file_sha256(args.bundle / "head.onnx"),
                           "training": manifest["provenance"].get("training")},
        "init_from": None, "train_data": None, "args": {}})
    print(json.dumps({"out": str(args.out), "folded_batchnorms": len(bns), "parity_identity_bn": before,
                      "parity_calibrated": after}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
