"""Python evaluator for a CRIS on a dataset in our refs.jsonl format: the reference's metrics on
v1 sets, gRefCOCO's (gIoU, cIoU, N-acc, T-acc) plus v1 metrics by kind on v2 sets (metrics.py).

Post-processing as the service: sigmoid, bicubic upsample to S (align corners), inverse letterbox
(bicubic, the service's float warp: models/imaging) to the original size, threshold; with a presence head, a phrase whose presence
probability is at or below the presence threshold answers "not found" (an empty mask).

    python -m models.train.evaluate --data data/shapes/test-s3003 --checkpoint runs/x/last.pt --json
    python -m models.train.evaluate --data data/shapes/val-v2-s2602 --checkpoint runs/x/last.pt \
        --choose-presence-threshold      # the best N-acc + T-acc over 0.05..0.95 on this (validation) set
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from models.thresholds import PRESENCE_THRESHOLD, THRESHOLD

from .data import read_mask, read_refs, read_rgb
from .metrics import choose_presence_threshold, is_v2, summarise, summarise_v2
from .predict import predict, predict_masks  # noqa: F401  (predict_masks: evaluate's name for it before predict.py)


def evaluate(model, folder: Path, tokenizer, size: int, word_len: int, threshold: float = THRESHOLD,
             limit: int | None = None, presence_threshold: float = PRESENCE_THRESHOLD) -> tuple[dict, list[dict]]:
    """Metrics (v1's on a v1 set, v2's on a set with no-target or group targets) and per-sentence
    rows (with paths, for worst-case pictures; with presence, for choosing its threshold)."""
    model.eval()
    rows = []
    refs = read_refs(folder, limit)
    by_image: dict[str, list[dict]] = {}
    for ref in refs:
        by_image.setdefault(ref["image"], []).append(ref)
    for image, group in by_image.items():
        rgb = read_rgb(folder / image)
        sentences, gts, kinds, masks_paths, targets = [], [], [], [], []
        for ref in group:
            gt = read_mask(folder / ref["mask"]) > 127
            ref_kinds = ref.get("kinds") or [None] * len(ref["sentences"])
            for s, k in zip(ref["sentences"], ref_kinds):
                sentences.append(s)
                gts.append(gt)
                kinds.append(k)
                masks_paths.append(ref["mask"])
                targets.append(int(ref.get("targets", 1)))
        preds, presence = predict(model, rgb, tokenizer.tokenize(sentences, word_len), size, threshold)
        for s, gt, k, mp, n, pred, p in zip(sentences, gts, kinds, masks_paths, targets, preds, presence):
            inter = int((pred & gt).sum())
            union = int((pred | gt).sum())
            rows.append({"sentence": s, "kind": k, "image": image, "mask": mp, "targets": n, "presence": p,
                         "area": int(pred.sum()), "truth": int(gt.sum()), "inter": inter, "union": union,
                         "iou": inter / union if union else 0.0})
    return (summarise_v2(rows, presence_threshold) if is_v2(rows) else summarise(rows)), rows


def main() -> None:
    from .checkpointing import load_model_for_eval

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threshold", type=float, default=THRESHOLD)
    ap.add_argument("--presence-threshold", type=float, default=PRESENCE_THRESHOLD)
    ap.add_argument("--choose-presence-threshold", action="store_true",
                    help="report the presence threshold with the best N-acc + T-acc on this set (use a validation set)")
    ap.add_argument("--worst", help="write a worst-cases overlay PNG here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, tokenizer, meta = load_model_for_eval(Path(args.checkpoint))
    metrics, rows = evaluate(model, Path(args.data), tokenizer, meta["input_size"], meta["word_len"],
                             args.threshold, args.limit, args.presence_threshold)
    if args.choose_presence_threshold:
        threshold, metrics = choose_presence_threshold(rows)
        metrics = {"chosen_presence_threshold": threshold, **metrics}
    if args.worst:
        from .plots import worst_cases_png
        worst_cases_png(Path(args.data), rows, model, tokenizer, meta, Path(args.worst), threshold=args.threshold)
    print(json.dumps(metrics) if args.json else json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
