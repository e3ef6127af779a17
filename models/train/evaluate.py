"""Python evaluator (the reference's metrics) for a CRIS on a dataset in our refs.jsonl format.

Post-processing as the service: sigmoid, bicubic upsample to S (align corners), inverse letterbox
(bicubic) to the original size, threshold. mIoU = mean per-sentence IoU; oIoU = cumulative
intersection / cumulative union; Pr@X = share of sentences with IoU > X; by_kind when kinds exist.

    python -m models.train.evaluate --data data/shapes/test-s3003 --checkpoint runs/x/last.pt --json
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .data import letterbox_image, letterbox_matrix, normalise, read_mask, read_refs, read_rgb

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def predict_masks(model, rgb: np.ndarray, tokens: np.ndarray, size: int, threshold: float) -> list[np.ndarray]:
    """One image [H,W,3] uint8, tokens [N,L] -> N bool masks [H,W]."""
    device = next(model.parameters()).device
    boxed = torch.from_numpy(letterbox_image(rgb, size))[None].to(device)  # [1,S,S,3]
    with torch.no_grad():
        feats = model.encode_image(normalise(boxed))
        n = tokens.shape[0]
        feats = [f.expand(n, -1, -1, -1) for f in feats]
        logits = model.head(*feats, torch.from_numpy(tokens).to(device))  # [N,1,S/4,S/4]
        # sigmoid first, then upsample: the reference's order (and the service's)
        probs = F.interpolate(torch.sigmoid(logits.float()), (size, size), mode="bicubic", align_corners=True)[:, 0]
        probs = probs.cpu()
    inverse = cv2.invertAffineTransform(letterbox_matrix(rgb.shape[1], rgb.shape[0], size))
    out = []
    for p in probs.numpy():
        back = cv2.warpAffine(p, inverse, (rgb.shape[1], rgb.shape[0]), flags=cv2.INTER_CUBIC, borderValue=0.0)
        out.append(back > threshold)
    return out


def summarise(rows: list[dict]) -> dict:
    """rows: {iou, inter, union, kind} per sentence -> metrics."""
    ious = np.array([r["iou"] for r in rows])
    out = {"count": len(rows), "mIoU": float(ious.mean()) if len(rows) else 0.0,
           "oIoU": float(sum(r["inter"] for r in rows) / max(1, sum(r["union"] for r in rows)))}
    for t in THRESHOLDS:
        out[f"Pr@{t}"] = float((ious > t).mean()) if len(rows) else 0.0
    kinds = sorted({r["kind"] for r in rows if r["kind"]})
    if kinds:
        out["by_kind"] = {k: {"count": int(sum(r["kind"] == k for r in rows)),
                              "mIoU": float(np.mean([r["iou"] for r in rows if r["kind"] == k]))} for k in kinds}
    return out


def evaluate(model, folder: Path, tokenizer, size: int, word_len: int, threshold: float = 0.35,
             limit: int | None = None) -> tuple[dict, list[dict]]:
    """Metrics and per-sentence rows (with paths, for worst-case pictures)."""
    model.eval()
    rows = []
    refs = read_refs(folder, limit)
    by_image: dict[str, list[dict]] = {}
    for ref in refs:
        by_image.setdefault(ref["image"], []).append(ref)
    for image, group in by_image.items():
        rgb = read_rgb(folder / image)
        sentences, gts, kinds, masks_paths = [], [], [], []
        for ref in group:
            gt = read_mask(folder / ref["mask"]) > 127
            ref_kinds = ref.get("kinds") or [None] * len(ref["sentences"])
            for s, k in zip(ref["sentences"], ref_kinds):
                sentences.append(s)
                gts.append(gt)
                kinds.append(k)
                masks_paths.append(ref["mask"])
        preds = predict_masks(model, rgb, tokenizer.tokenize(sentences, word_len), size, threshold)
        for s, gt, k, mp, pred in zip(sentences, gts, kinds, masks_paths, preds):
            inter = int((pred & gt).sum())
            union = int((pred | gt).sum())
            rows.append({"sentence": s, "kind": k, "image": image, "mask": mp, "inter": inter, "union": union,
                         "iou": inter / union if union else 0.0})
    return summarise(rows), rows


def main() -> None:
    from .checkpointing import load_model_for_eval

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--threshold", type=float, default=0.35)
    ap.add_argument("--worst", help="write a worst-cases overlay PNG here")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    torch.set_num_threads(2)
    model, tokenizer, meta = load_model_for_eval(Path(args.checkpoint))
    metrics, rows = evaluate(model, Path(args.data), tokenizer, meta["input_size"], meta["word_len"],
                             args.threshold, args.limit)
    if args.worst:
        from .plots import worst_cases_png
        worst_cases_png(Path(args.data), rows, model, tokenizer, meta, Path(args.worst), threshold=args.threshold)
    print(json.dumps(metrics) if args.json else json.dumps(metrics, indent=2))


if __name__ == "__main__":
    main()
