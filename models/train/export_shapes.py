"""Exports a trained shapes checkpoint as the bundle models/cris-shapes-s (with provenance), and
records evaluation metrics in its manifest.

    python -m models.train.export_shapes --checkpoint runs/shapes-s/last.pt --out models/cris-shapes-s \
        --train-data data/shapes/train-s1001 --test-data data/shapes/test-s3003 \
        --threshold 0.5    # the bundle's default: choose it on validation data (eval --threshold T)
    npm run -s eval -- --data data/shapes/test-s3003 --model models/cris-shapes-s --json > runs/eval.json
    python -m models.train.export_shapes --record-metrics runs/eval.json --out models/cris-shapes-s \
        --measured-by "npm run -s eval -- --data data/shapes/test-s3003 --model models/cris-shapes-s --json"

    python -m models.train.export_shapes --checkpoint runs/recovered/shipped.pt --out .cache/cris-shapes-s-int8 \
        --threshold 0.55 --int8 --calibration-data data/shapes/calib-s1501   # int8, calibrated on training images

Without --record-metrics the manifest carries the Python evaluator's numbers on --test-data
(labelled as such); --record-metrics replaces them with the given JSON (e.g. the TS eval CLI's),
under referring-shapes-v2/test when the JSON is a v2 evaluation (it has gIoU), else v1's.
Only the manifest changes then: the graphs and their sha256s stay as exported. A checkpoint with
a presence head exports its presence output with --presence-threshold (choose it on validation:
evaluate.py --choose-presence-threshold).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from models.digest import file_sha256
from models.thresholds import PRESENCE_THRESHOLD, THRESHOLD
from models.export.bundle import export_bundle

from .checkpointing import load_checkpoint_file, load_model_for_eval
from .data import load_tensors, normalise
from .evaluate import evaluate

TASK = "referring-shapes-v1"
TASK_V2 = "referring-shapes-v2"


def metrics_task(metrics: dict) -> str:
    return TASK_V2 if "gIoU" in metrics else TASK


def dataset_meta(folder: Path) -> dict:
    meta_file = folder / "dataset.json"
    return json.loads(meta_file.read_text()) if meta_file.exists() else {"path": str(folder)}


def used_part(meta: dict, limit: int | None) -> dict:
    """A dataset's metadata, with how many of its targets were trained on when not all."""
    if limit and limit < meta.get("targets", limit + 1):
        return {**meta, "targets_used": limit}
    return meta


def earlier_stages(ckpt: dict) -> list[dict]:
    """The runs whose weights this one started from (train_shapes --init), oldest first; a start
    recovered from a bundle (recover_onnx.py) brings that bundle's own stages and last stage."""
    stages, source = [], ckpt.get("init_from")
    while source:
        recovered = source.get("recovered_from")
        if recovered:
            training = recovered.get("training") or {}
            last = {k: training.get(k) for k in ("steps", "batch", "wall_minutes", "machine", "data")}
            stages[:0] = [*training.get("started_from", []), {"checkpoint": f"{recovered['bundle']} "
                          f"{recovered['version']} (recovered from its ONNX initializers)", **last}]
        else:
            stages.insert(0, {"checkpoint": source["checkpoint"], "steps": source["step"], "batch": source["args"]["batch"],
                              "lr": source["args"]["lr"], "wall_minutes": round(source["elapsed_s"] / 60, 1),
                              "machine": source.get("machine"), "data": source.get("train_data")})
        source = source.get("init_from")
    return stages


def export(args: argparse.Namespace) -> dict:
    model, tokenizer, meta = load_model_for_eval(args.checkpoint)
    ckpt = load_checkpoint_file(args.checkpoint)
    train_args = ckpt.get("args", {})
    v2 = any(dataset_meta(folder).get("task") == TASK_V2 for folder in args.train_data or [])
    training = {
        "task": f"{TASK} + {TASK_V2}" if v2 else TASK,
        "data": [used_part(dataset_meta(folder), args.train_limit) for folder in args.train_data] if args.train_data else None,
        "train_targets_used": train_args.get("limit"), "steps": ckpt["step"], "batch": train_args.get("batch"),
        "wall_minutes": round(ckpt["elapsed_s"] / 60, 1), "machine": args.machine or ckpt.get("machine", "2 shared CPU cores, torch CPU"),
        "loss": f"sigmoid BCE at stride 4 + {train_args.get('dice')} * soft Dice"
                + (f" + {train_args.get('presence_weight')} * presence BCE" if model.cfg.presence else ""),
        "optimizer": f"AdamW lr {train_args.get('lr')} warm-up + cosine over the time budget",
        "augmentation": "left-right / top-bottom mirroring with direction words swapped",
        "script": "models/train/train_shapes.py",
    }
    if stages := earlier_stages(ckpt):
        training["started_from"] = stages  # steps, wall_minutes above are this last stage's only
    provenance = {"source": "trained-referring-shapes", "checkpoint": str(args.checkpoint),
                  "checkpoint_sha256": file_sha256(args.checkpoint),
                  "licence": "MIT (CRIS reference code); weights: trained by us on synthetic data",
                  "training": training}
    if args.test_data:
        metrics, rows = evaluate(model, args.test_data, tokenizer, meta["input_size"], meta["word_len"], args.threshold,
                                 presence_threshold=args.presence_threshold)
        if args.worst:
            from .plots import worst_cases_png
            worst_cases_png(args.test_data, rows, model, tokenizer, meta, args.worst, threshold=args.threshold)
        provenance["metrics"] = {f"{metrics_task(metrics)}/test": {**metrics, "data": dataset_meta(args.test_data),
                                                                   "measured_by": "models/train/evaluate.py (Python)"}}
    calibration = int8_calibration(args.calibration_data, tokenizer, meta, args.calibration_samples) if args.int8 else {}
    if calibration:
        provenance["int8_calibration"] = {"data": dataset_meta(args.calibration_data), "samples": args.calibration_samples}
    return export_bundle(model, args.out, meta["merges"], bundle_id=args.out.name, version=args.version,
                         provenance=provenance, threshold=args.threshold, presence_threshold=args.presence_threshold,
                         precision="int8" if args.int8 else "fp32", **calibration)


def int8_calibration(folder: Path | None, tokenizer, meta: dict, samples: int) -> dict:
    """The first `samples` (image, phrase) pairs of a training folder, as export_bundle's calibration."""
    if folder is None:
        raise SystemExit("--int8 needs --calibration-data (a training dataset folder)")
    data = load_tensors(folder, tokenizer, meta["input_size"], meta["word_len"], limit=samples)
    rows = torch.arange(min(samples, len(data.sample_target)))
    images = normalise(data.images[data.target_image[data.sample_target[rows]]])  # [N,3,S,S]
    return {"calibration_images": images.numpy(), "calibration_tokens": data.tokens[rows, 0].numpy()}  # tokens [N,L]


def record_metrics(args: argparse.Namespace) -> dict:
    manifest_path = args.out / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    metrics = json.loads(args.record_metrics.read_text())
    entry = {**metrics, "measured_by": args.measured_by}
    if args.test_data:
        entry["data"] = dataset_meta(args.test_data)
    manifest["provenance"].setdefault("metrics", {})[f"{metrics_task(metrics)}/test"] = entry
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", type=Path)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--version", default="1.0.0")
    ap.add_argument("--train-data", type=Path, nargs="+", help="the dataset folder(s) of the last stage")
    ap.add_argument("--train-limit", type=int, help="the first N targets of each --train-data folder were used (pack.py --limit)")
    ap.add_argument("--test-data", type=Path)
    ap.add_argument("--worst", type=Path, help="with --test-data: write a worst-cases overlay PNG here")
    ap.add_argument("--threshold", type=float, default=THRESHOLD,
                    help="the bundle's default mask threshold (the reference's 0.35; choose on validation data)")
    ap.add_argument("--presence-threshold", type=float, default=PRESENCE_THRESHOLD,
                    help="a presence head's default found probability (choose on validation data)")
    ap.add_argument("--machine", help="where it was trained (default: as the checkpoint says)")
    ap.add_argument("--record-metrics", type=Path, help="JSON metrics to store in the manifest")
    ap.add_argument("--measured-by", default="npm run -s eval")
    ap.add_argument("--int8", action="store_true", help="int8 graphs (onnxruntime static quantisation)")
    ap.add_argument("--calibration-data", type=Path, help="with --int8: a training dataset folder to calibrate on")
    ap.add_argument("--calibration-samples", type=int, default=128, help="(image, phrase) pairs to calibrate on")
    args = ap.parse_args(argv)
    torch.set_num_threads(2)
    if args.record_metrics:
        manifest = record_metrics(args)
    elif args.checkpoint:
        manifest = export(args)
    else:
        ap.error("--checkpoint or --record-metrics is required")
    print(json.dumps({"out": str(args.out), "provenance": manifest["provenance"].get("metrics")}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
