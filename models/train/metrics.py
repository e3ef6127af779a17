"""Scores of per-sentence rows (models/train/evaluate.py makes them), as REFERRING_SHAPES.md fixes:

v1: mIoU = mean per-sentence IoU; oIoU = cumulative intersection / cumulative union; Pr@X = share
of sentences with IoU > X; by kind when kinds exist.
v2 (gRefCOCO's, per sentence): a no-target sentence scores IoU 1 when the answer is empty and 0
otherwise; gIoU = mean of those IoUs over all sentences; cIoU = cumulative intersection /
cumulative union, no-target sentences included; N-acc = no-target sentences answered empty / all
no-target sentences; T-acc = target sentences answered non-empty / all target sentences; the v1
metrics over the single-target sentences alone, by kind.

A row: {kind, targets (0, 1 or the group's size), presence (probability, or None without a
presence head), area (predicted pixels), truth (true pixels), inter, union (of the predicted mask
with the truth)}.
The answer is empty when the presence is at or below the presence threshold, or the mask is empty.
"""
from __future__ import annotations

import numpy as np

THRESHOLDS = (0.5, 0.6, 0.7, 0.8, 0.9)


def answered(row: dict, presence_threshold: float) -> bool:
    """True when the answer is a non-empty mask."""
    found = row["presence"] is None or row["presence"] > presence_threshold
    return found and row["area"] > 0


def scored(row: dict, presence_threshold: float) -> tuple[float, int, int]:
    """(IoU, intersection, union) of the answer, v2 rules."""
    if not answered(row, presence_threshold):
        return (1.0 if row["targets"] == 0 else 0.0), 0, row["truth"]
    if row["targets"] == 0:
        return 0.0, 0, row["area"]
    return (row["inter"] / row["union"] if row["union"] else 0.0), row["inter"], row["union"]


def summarise(rows: list[dict]) -> dict:
    """v1 metrics: rows {iou, inter, union, kind}."""
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


def summarise_v2(rows: list[dict], presence_threshold: float) -> dict:
    """v2 metrics, with the single-target sentences' v1 metrics under "single_target"."""
    scores = [scored(r, presence_threshold) for r in rows]
    none = [answered(r, presence_threshold) for r in rows if r["targets"] == 0]
    some = [answered(r, presence_threshold) for r in rows if r["targets"] > 0]
    by_kind: dict[str, dict] = {}
    for r, (iou, _, _) in zip(rows, scores):
        entry = by_kind.setdefault(r["kind"] or "unknown", {"count": 0, "iou_sum": 0.0})
        entry["count"] += 1
        entry["iou_sum"] += iou
    single = [{**r, "iou": s[0], "inter": s[1], "union": s[2]} for r, s in zip(rows, scores) if r["targets"] == 1]
    groups = [s[0] for r, s in zip(rows, scores) if r["targets"] > 1]
    return {
        "count": len(rows), "presence_threshold": presence_threshold,
        "gIoU": float(np.mean([s[0] for s in scores])) if rows else 0.0,
        "cIoU": float(sum(s[1] for s in scores) / max(1, sum(s[2] for s in scores))),
        "N-acc": float(1 - np.mean(none)) if none else None, "no_target_count": len(none),
        "T-acc": float(np.mean(some)) if some else None, "target_count": len(some),
        "group": {"count": len(groups), "mIoU": float(np.mean(groups)) if groups else None},
        "by_kind": {k: {"count": v["count"], "mIoU": v["iou_sum"] / v["count"]} for k, v in sorted(by_kind.items())},
        "single_target": summarise(single),
    }


def is_v2(rows: list[dict]) -> bool:
    return any(r["targets"] != 1 for r in rows)


def choose_presence_threshold(rows: list[dict], grid: np.ndarray | None = None) -> tuple[float, dict]:
    """The presence threshold with the best N-acc + T-acc on these rows (ties: the best gIoU)."""
    grid = np.round(np.arange(0.05, 0.96, 0.05), 2) if grid is None else grid
    best, best_key, best_metrics = 0.5, None, None
    for t in grid:
        m = summarise_v2(rows, float(t))
        key = (round((m["N-acc"] or 0) + (m["T-acc"] or 0), 9), m["gIoU"])
        if best_key is None or key > best_key:
            best, best_key, best_metrics = float(t), key, m
    return best, best_metrics
