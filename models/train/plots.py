"""Pictures for people: the training curve and a worst-cases overlay."""
from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from models.thresholds import THRESHOLD  # noqa: E402

from .data import read_mask, read_rgb  # noqa: E402
from .predict import predict_masks  # noqa: E402


def training_curve_png(log_path: Path, out: Path) -> None:
    """Train loss and validation metrics over minutes; in a log of several stages (--init runs
    laid end to end, each "start" record with the minute it began), a dashed line per stage."""
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    train = [r for r in records if r.get("event") == "train"]
    val = [r for r in records if r.get("event") == "val"]
    val2 = [r for r in records if r.get("event") == "val2"]  # v2 validation (train_shapes with a v2 --val)
    stage_starts = [r["minutes"] for r in records if r.get("event") == "start" and r.get("minutes")]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    for ax in (ax1, ax2):
        for minute in stage_starts:
            ax.axvline(minute, color="grey", ls="--", lw=0.8)
    ax1.plot([r["minutes"] for r in train], [r["loss"] for r in train], lw=0.8)
    ax1.set_xlabel("minutes")
    ax1.set_ylabel("train loss (BCE + w * Dice)")
    ax1.grid(alpha=0.3)
    if val:
        x = [r["minutes"] for r in val]
        ax2.plot(x, [r["mIoU"] for r in val], "o-", label="mIoU")
        ax2.plot(x, [r["oIoU"] for r in val], "s--", label="oIoU")
        kinds = sorted({k for r in val for k in r.get("by_kind", {})})
        for k in kinds:
            ax2.plot(x, [r.get("by_kind", {}).get(k, {}).get("mIoU", np.nan) for r in val], lw=0.8, label=k)
    if val2:
        x = [r["minutes"] for r in val2]
        for key, style in (("gIoU", "^-"), ("N-acc", "v-"), ("T-acc", "d-")):
            ax2.plot(x, [r.get(key) if r.get(key) is not None else np.nan for r in val2], style, label=f"v2 {key}")
        ax2.plot(x, [r.get("group", {}).get("mIoU") or np.nan for r in val2], "x-", label="v2 group mIoU")
    ax2.set_xlabel("minutes")
    ax2.set_ylabel("validation")
    ax2.set_ylim(0, 1)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def worst_cases_png(folder: Path, rows: list[dict], model, tokenizer, meta: dict, out: Path, count: int = 12,
                    threshold: float = THRESHOLD) -> None:
    """Lowest-IoU sentences: ground truth in green, prediction in red, overlap yellow."""
    worst = sorted(rows, key=lambda r: r["iou"])[:count]
    cols = 4
    fig, axes = plt.subplots((len(worst) + cols - 1) // cols, cols, figsize=(4 * cols, 3.6 * ((len(worst) + cols - 1) // cols)))
    for ax, row in zip(np.ravel(axes), worst):
        rgb = read_rgb(folder / row["image"])
        gt = read_mask(folder / row["mask"]) > 127
        pred = predict_masks(model, rgb, tokenizer.tokenize([row["sentence"]], meta["word_len"]),
                             meta["input_size"], threshold)[0]
        shown = rgb.astype(np.float32) * 0.45
        shown[..., 1] += 140 * gt
        shown[..., 0] += 140 * pred
        ax.imshow(np.clip(shown, 0, 255).astype(np.uint8))
        ax.set_title(f"{row['sentence']}\n[{row['kind']}] IoU {row['iou']:.2f}", fontsize=8)
    for ax in np.ravel(axes):
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=80)
    plt.close(fig)
