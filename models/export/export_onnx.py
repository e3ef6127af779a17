"""Export a CRIS checkpoint (or random weights) to a `cris-bundle/1` folder (models/BUNDLE.md).

Command line (paths relative to the current directory):
    npm run -s export:onnx -- --checkpoint best_model.pth --vocab bpe_simple_vocab_16e6.txt.gz --out DIR
        [--fp16 | --int8] [--word-len 17] [--input-size 416] [--num-head 8] [--id ID] [--version V]
    npm run -s export:onnx -- --random-init rn50|rn101|small --vocab MERGES --out DIR [--seed 0] [--presence]
        (--presence: a random presence head too, the head's second output; --presence-threshold P)

Library:
    from models.export.export_onnx import export_bundle
    manifest = export_bundle(model, out_dir, merges_path, bundle_id="cris-shapes-s", version="1.0.0",
                             provenance={"source": "trained-referring-shapes", "training": {...},
                                         "metrics": {...}},
                             word_len=None, input_size=None,   # default: model.cfg's
                             precision="fp32",                # or "fp16" / "int8"
                             calibration_images=None)         # int8 only: [N,3,S,S] float32, normalised
    `model` is a models.cris.CRIS; the returned dict is the manifest.json written. Raises
    ExportError / VocabError (both ValueError or RuntimeError subclasses) with a one-line message.

Exit status: 0 on success, 2 on bad input (the one-line error on stderr says what to do).
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import time
from pathlib import Path

from models.cris import PRESETS, CheckpointError, load_checkpoint, random_cris
from models.export.bundle import ExportError, export_bundle
from models.export.vocab import VocabError
from models.thresholds import PRESENCE_THRESHOLD

__all__ = ["export_bundle", "main"]

RANDOM_PRESETS = {"rn50": "RN50", "rn101": "RN101", "small": "small"}


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"export:onnx: error: {message} (run with --help for usage)", file=sys.stderr)
        sys.exit(2)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = OneLineParser(prog="export:onnx", description="Export CRIS to an ONNX bundle (models/BUNDLE.md).")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--checkpoint", type=Path, help="best_model.pth saved by CRIS's train.py")
    source.add_argument("--random-init", choices=sorted(RANDOM_PRESETS), help="random calibrated weights")
    parser.add_argument("--vocab", type=Path, required=True, help="CLIP merges file (bpe_simple_vocab_16e6.txt.gz)")
    parser.add_argument("--out", type=Path, required=True, help="bundle folder to write")
    precision = parser.add_mutually_exclusive_group()
    precision.add_argument("--fp16", action="store_true", help="float16 internals, float32 inputs/outputs")
    precision.add_argument("--int8", action="store_true", help="int8-quantised graphs for CPU")
    parser.add_argument("--word-len", type=int, default=17, help="token length L (17 RefCOCO/+, 22 G-Ref)")
    parser.add_argument("--input-size", type=int, default=416, help="square network input S")
    parser.add_argument("--num-head", type=int, default=None,
                        help="decoder heads, not stored in weights (default 8, every published CRIS config)")
    parser.add_argument("--id", dest="bundle_id", default=None, help="bundle id, [a-z0-9-]+ (default: folder name)")
    parser.add_argument("--version", default="1.0.0", help="bundle version (part of the result cache key)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-init")
    parser.add_argument("--tolerance", type=float, default=None,
                        help="max |logit diff| vs PyTorch to accept instead of the measured gate "
                             "(models/export/tolerance.py); printed and recorded in the manifest as a warning")
    parser.add_argument("--presence", action="store_true", help="with --random-init: add a presence head")
    parser.add_argument("--presence-threshold", type=float, default=PRESENCE_THRESHOLD,
                        help="the manifest's default presence threshold (a bundle with a presence head)")
    return parser.parse_args(argv)


def default_id(out_dir: Path) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", out_dir.resolve().name.lower()).strip("-") or "cris"


def log(step: int, total: int, started: float, message: str) -> None:
    print(f"[{step}/{total}] {time.monotonic() - started:6.1f}s  {message}", flush=True)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    started = time.monotonic()
    precision = "fp16" if args.fp16 else "int8" if args.int8 else "fp32"
    try:
        if args.checkpoint is not None:
            log(1, 3, started, f"loading {args.checkpoint}")
            loaded = load_checkpoint(args.checkpoint, word_len=args.word_len, input_size=args.input_size,
                                     num_head=args.num_head)
            model = loaded.model
            provenance = {"source": "official-checkpoint", "checkpoint": Path(args.checkpoint).name,
                          "checkpoint_sha256": loaded.sha256}
        else:
            log(1, 3, started, f"building a random {args.random_init} model (seed {args.seed}, calibrating BatchNorm)")
            cfg = PRESETS[RANDOM_PRESETS[args.random_init]]
            model = random_cris(dataclasses.replace(cfg, word_len=args.word_len, input_size=args.input_size,
                                                    presence=args.presence), seed=args.seed)
            provenance = {"source": "random-init", "seed": args.seed, "preset": args.random_init}
        log(2, 3, started, f"exporting {precision} graphs to {args.out} and checking them against PyTorch")
        manifest = export_bundle(model, args.out, args.vocab, bundle_id=args.bundle_id or default_id(args.out),
                                 version=args.version, provenance=provenance, word_len=args.word_len,
                                 input_size=args.input_size, precision=precision, tolerance=args.tolerance,
                                 presence_threshold=args.presence_threshold)
    except (CheckpointError, VocabError, ExportError) as error:
        print(f"export:onnx: error: {error}", file=sys.stderr)
        return 2
    check = manifest["provenance"]["verification"]
    log(3, 3, started, f"wrote {args.out}/manifest.json ({manifest['arch']['backbone']}, {precision}); "
        f"onnxruntime vs PyTorch at batch {check['batch']}: max |diff| {check['max_abs_diff']:.2e} "
        f"(tolerance {check['tolerance']:.2e}: {check['tolerance_rule']}), max |logit| {check['max_abs_logit']:.1f}, "
        f"masks agree on {check['mask_agreement']:.4%} of pixels, mask IoU {check['mask_iou']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
