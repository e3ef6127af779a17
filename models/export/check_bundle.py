"""Checks a bundle folder against its manifest, and optionally against a checkpoint in PyTorch.

    models/.venv/bin/python models/export/check_bundle.py --bundle DIR [--checkpoint CKPT [--num-head N]]

Checks: manifest fields, sha256 of every file, cris.* metadata in both graphs, the sessions'
input/output names, element types and shapes against the manifest, merges file size against
the vocabulary, and a run at batch 1 and 3 (finite logits of the declared shape). A head with a
second output must name it `presence`, [batch, 1] float32, and the manifest must then give a
top-level `presence_threshold` in [0, 1] (and none without it). With --checkpoint, also runs the
PyTorch model on the same inputs and reports the largest difference (logits, and presence).
Exit 0 when everything holds, 1 otherwise (each problem on its own line).
"""
from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

import numpy as np

from models.digest import file_sha256
from models.export.tolerance import judge

ORT_TYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}


def _session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def _check_io(label: str, declared: list[dict], actual, problems: list[str]) -> None:
    names = [a.name for a in actual]
    if names != [d["name"] for d in declared]:
        problems.append(f"{label}: names {names} differ from manifest {[d['name'] for d in declared]}")
        return
    for spec, arg in zip(declared, actual):
        if ORT_TYPES.get(spec["dtype"]) != arg.type:
            problems.append(f"{label} {spec['name']}: type {arg.type}, manifest says {spec['dtype']}")
        dims = [d if isinstance(d, int) else "batch" for d in arg.shape]
        if dims != spec["shape"]:
            problems.append(f"{label} {spec['name']}: shape {arg.shape}, manifest says {spec['shape']}")


def sample_inputs(manifest: dict, batch: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    size, length = manifest["input"]["size"], manifest["text"]["word_len"]
    tok = manifest["text"]["tokenizer"]
    rng = np.random.default_rng(seed)
    image = rng.standard_normal((batch, 3, size, size)).astype(np.float32)
    tokens = np.zeros((batch, length), dtype=np.int64)
    for row in range(batch):
        words = 1 + row % (length - 2)
        tokens[row, 0], tokens[row, words + 1] = tok["sot_id"], tok["eot_id"]
        tokens[row, 1:words + 1] = rng.integers(1, tok["sot_id"], words)
    return image, tokens


def run_bundle_outputs(bundle: Path, manifest: dict, image: np.ndarray, tokens: np.ndarray,
                       sessions=None) -> list[np.ndarray]:
    """The head's outputs in the manifest's order: logits, then presence where the bundle has it."""
    encoder, head = sessions or (_session(bundle / manifest["graphs"]["image_encoder"]["file"]),
                                 _session(bundle / manifest["graphs"]["head"]["file"]))
    features = encoder.run(None, {"image": image})
    names = [i["name"] for i in manifest["graphs"]["head"]["inputs"]]
    return head.run([o["name"] for o in manifest["graphs"]["head"]["outputs"]], dict(zip(names, [*features, tokens])))


def run_bundle(bundle: Path, manifest: dict, image: np.ndarray, tokens: np.ndarray, sessions=None) -> np.ndarray:
    return run_bundle_outputs(bundle, manifest, image, tokens, sessions)[0]


def has_presence(manifest: dict) -> bool:
    return len(manifest["graphs"]["head"]["outputs"]) > 1


def _check_presence_spec(manifest: dict, problems: list[str]) -> None:
    outputs = manifest["graphs"]["head"]["outputs"]
    threshold = manifest.get("presence_threshold")
    if len(outputs) > 2:
        problems.append(f"head has {len(outputs)} outputs; at most logits and presence")
    if has_presence(manifest):
        spec = outputs[1]
        if spec != {"name": "presence", "dtype": "float32", "shape": ["batch", 1]}:
            problems.append(f"head's second output must be presence float32 ['batch', 1], manifest says {spec}")
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool) or not 0 <= threshold <= 1:
            problems.append(f"presence_threshold {threshold!r}: a head with presence needs one in [0, 1]")
    elif threshold is not None:
        problems.append("presence_threshold given, but the head has no presence output")


def check_bundle(bundle: Path) -> list[str]:
    """Every way the folder differs from its manifest (empty when it is sound)."""
    import onnx

    problems: list[str] = []
    try:
        manifest = json.loads((bundle / "manifest.json").read_text())
    except (OSError, ValueError) as error:
        return [f"manifest.json unreadable: {error}"]
    if manifest.get("format") != "cris-bundle/1":
        problems.append(f"format is {manifest.get('format')!r}, expected 'cris-bundle/1'")
    for name, digest in manifest.get("files", {}).items():
        path = bundle / name
        if not path.is_file():
            problems.append(f"{name}: listed in manifest, missing")
        elif file_sha256(path) != digest:
            problems.append(f"{name}: sha256 differs from manifest")
    if problems:
        return problems
    tok = manifest["text"]["tokenizer"]
    merges = gzip.decompress((bundle / tok["merges_file"]).read_bytes()).decode("utf-8").split("\n")[1:]
    if len([m for m in merges[:tok["merges_used"]] if m]) < tok["merges_used"]:
        problems.append(f"merges file has fewer than merges_used={tok['merges_used']} merges")
    if tok["vocab_size"] != 512 + tok["merges_used"] + 2:
        problems.append("vocab_size != 512 + merges_used + 2")
    sessions = []
    for key in ("image_encoder", "head"):
        spec = manifest["graphs"][key]
        props = {p.key: p.value for p in onnx.load(str(bundle / spec["file"]), load_external_data=False).metadata_props}
        for field in ("id", "version", "format"):
            if props.get(f"cris.{field}") != manifest[field]:
                problems.append(f"{spec['file']}: metadata cris.{field}={props.get(f'cris.{field}')!r}, "
                                f"manifest says {manifest[field]!r}")
        session = _session(bundle / spec["file"])
        _check_io(f"{key} input", spec["inputs"], session.get_inputs(), problems)
        _check_io(f"{key} output", spec["outputs"], session.get_outputs(), problems)
        sessions.append(session)
    _check_presence_spec(manifest, problems)
    if problems:
        return problems
    expected_shape = manifest["graphs"]["head"]["outputs"][0]["shape"][1:]
    for batch in (1, 3):
        outputs = run_bundle_outputs(bundle, manifest, *sample_inputs(manifest, batch), sessions=sessions)
        logits = outputs[0]
        if list(logits.shape) != [batch, *expected_shape] or not np.isfinite(logits).all():
            problems.append(f"batch {batch}: logits {logits.shape}, finite={np.isfinite(logits).all()}")
        if has_presence(manifest) and (list(outputs[1].shape) != [batch, 1] or not np.isfinite(outputs[1]).all()):
            problems.append(f"batch {batch}: presence {outputs[1].shape}, finite={np.isfinite(outputs[1]).all()}")
    return problems


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", type=Path, required=True)
    parser.add_argument("--checkpoint", type=Path)
    parser.add_argument("--num-head", type=int, default=None)
    parser.add_argument("--tolerance", type=float, default=None,
                        help="max |logit diff| to accept instead of the measured gate (models/export/tolerance.py)")
    args = parser.parse_args(argv)
    problems = check_bundle(args.bundle)
    for problem in problems:
        print(f"check_bundle: {problem}", file=sys.stderr)
    if problems:
        return 1
    manifest = json.loads((args.bundle / "manifest.json").read_text())
    print(f"{args.bundle}: manifest, sha256s, metadata, graph inputs/outputs and a batch 1/3 run all agree")
    if args.checkpoint:
        import torch

        from models.cris import load_checkpoint

        model = load_checkpoint(args.checkpoint, word_len=manifest["text"]["word_len"],
                                input_size=manifest["input"]["size"], num_head=args.num_head).model
        image, tokens = sample_inputs(manifest, 2, seed=1)
        with torch.no_grad():
            expected, presence = model.head_outputs(*model.encode_image(torch.from_numpy(image)), torch.from_numpy(tokens))
        outputs = run_bundle_outputs(args.bundle, manifest, image, tokens)
        got, expected = outputs[0], expected.numpy()
        cut = np.log(manifest["output"]["threshold"] / (1 - manifest["output"]["threshold"]))  # threshold as a logit
        check = {"max_abs_diff": float(np.abs(got - expected).max()), "max_abs_logit": float(np.abs(expected).max()),
                 "mask_agreement": float(((got > cut) == (expected > cut)).mean())}
        if (presence is None) != (not has_presence(manifest)):
            print("check_bundle: the checkpoint and the bundle disagree on having a presence head", file=sys.stderr)
            return 1
        if presence is not None:
            check["presence_max_abs_diff"] = float(np.abs(outputs[1] - presence.numpy()).max())
            check["max_abs_presence"] = float(np.abs(presence.numpy()).max())
        gate = judge(check, model.cfg, args.tolerance)
        print(f"against {args.checkpoint} in PyTorch: max |diff| {check['max_abs_diff']:.3e} (tolerance "
              f"{check['tolerance']:.3e}: {check['tolerance_rule']}), masks agree on {check['mask_agreement']:.4%}"
              + (f", presence max |diff| {check['presence_max_abs_diff']:.3e}" if presence is not None else ""))
        if args.tolerance is not None:
            print(f"check_bundle: warning: --tolerance {args.tolerance:g} replaces the measured gate", file=sys.stderr)
        if manifest["precision"] == "fp32" and gate:
            print(f"check_bundle: the float32 bundle does not compute what the checkpoint computes: {'; '.join(gate)}",
                  file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
