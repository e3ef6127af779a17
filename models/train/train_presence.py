"""Adds a presence head to a trained CRIS without touching any other weight.

    models/.venv/bin/python -m models.train.train_presence --init runs/recovered/shipped.pt \
      --data data/shapes/train-v2-s1601 data/shapes/train-v2-s1602 --val data/shapes/val-v2-s2602 \
      --out runs/presence

The network runs frozen, in eval mode (the exported bundle's function), once over every training
sentence (and its two mirrored variants with --mirrors); the presence head's input features
(models/cris/presence.py) are kept, and only its MLP is trained on them (BCE on "the target mask
is not empty"), on standardised features whose mean and scale are then folded into the first
linear layer. Masks, scores and so v1 metrics of every found phrase stay exactly the start's.
Writes OUT/last.pt (a training checkpoint: evaluate.py and export_shapes.py read it) and
OUT/log.jsonl (loss, validation N-acc / T-acc per epoch).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import torch
from torch import nn

from models.cris import CRIS, CrisConfig
from models.thresholds import PRESENCE_THRESHOLD
from models.tokenizer.clip_bpe import ClipBpe

from .checkpointing import checkpoint_merges, load_checkpoint_file, save_checkpoint
from .data import concat_tensors, load_tensors, normalise
from .train_shapes import load_start_weights


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--init", type=Path, required=True, help="trained checkpoint (without or with a presence head)")
    ap.add_argument("--data", type=Path, nargs="+", required=True, help="v2 training folder(s)")
    ap.add_argument("--val", type=Path, nargs="+", required=True, help="v2 validation folder(s)")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--mirrors", action="store_true", help="also the mirrored variants (3x the features)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    return ap.parse_args(argv)


@torch.no_grad()
def presence_features(model: CRIS, folders: list[Path], tokenizer: ClipBpe, mirrors: bool,
                      chunk: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Every sentence of folders through the frozen network -> features [M*V,F], present [M*V] (V variants)."""
    cfg = model.cfg
    data = concat_tensors([load_tensors(f, tokenizer, cfg.input_size, cfg.word_len) for f in folders])
    present = data.masks.float().flatten(1).amax(1) > 0  # [T]
    captured: list[torch.Tensor] = []
    hook = model.presence.register_forward_pre_hook(
        lambda _module, inputs: captured.append(model.presence.features(*inputs)))
    variants = (0, 1, 2) if mirrors else (0,)
    total, done, started = len(data.sample_target) * len(variants), 0, time.time()
    try:
        for variant in variants:
            for begin in range(0, len(data.sample_target), chunk):
                rows = torch.arange(begin, min(begin + chunk, len(data.sample_target)))
                image_rows = data.target_image[data.sample_target[rows]]  # [B]
                unique, inverse = torch.unique(image_rows, return_inverse=True)
                images = data.images[unique]  # [U,S,S,3] uint8
                images = images.flip(2) if variant == 1 else images.flip(1) if variant == 2 else images
                c3, c4, c5 = model.encode_image(normalise(images))  # each [U,C,h,w]
                model.head_outputs(c3[inverse], c4[inverse], c5[inverse], data.tokens[rows, variant])
                done += len(rows)
                if done % (chunk * 50) < chunk:
                    rate = done / (time.time() - started)
                    print(f"features {done}/{total}  ETA {(total - done) / rate / 60:.1f} min", file=sys.stderr)
    finally:
        hook.remove()
    labels = present[data.sample_target].repeat(len(variants))  # [M*V]
    return torch.cat(captured), labels


def fold_standardisation(head: nn.Sequential, mean: torch.Tensor, scale: torch.Tensor) -> None:
    """head[0] trained on (x - mean) / scale -> the same function of x."""
    first: nn.Linear = head[0]
    with torch.no_grad():
        first.bias -= first.weight @ (mean / scale)
        first.weight /= scale


def accuracies(logits: torch.Tensor, labels: torch.Tensor, threshold: float = PRESENCE_THRESHOLD) -> dict:
    found = torch.sigmoid(logits) >= threshold
    return {"N-acc": float((~found[~labels]).float().mean()), "T-acc": float(found[labels].float().mean())}


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    start = load_checkpoint_file(args.init)
    cfg = dataclasses.replace(CrisConfig.from_dict(start["config"]), presence=True)
    model = CRIS(cfg)
    load_start_weights(model, start["model"])
    model.eval().requires_grad_(False)
    tokenizer = ClipBpe.from_file(checkpoint_merges(start))

    x, y = presence_features(model, args.data, tokenizer, args.mirrors)
    vx, vy = presence_features(model, args.val, tokenizer, False)
    print(f"features: train {tuple(x.shape)} ({float(y.float().mean()):.2f} present), val {tuple(vx.shape)}",
          file=sys.stderr)
    mean, scale = x.mean(0), x.std(0).clamp_min(1e-6)
    head = model.presence.mlp
    head.requires_grad_(True).train()
    optimizer = torch.optim.AdamW(head.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, args.epochs)
    loss_fn = nn.BCEWithLogitsLoss()
    args.out.mkdir(parents=True, exist_ok=True)
    log = open(args.out / "log.jsonl", "w", encoding="utf-8")
    z, vz = (x - mean) / scale, (vx - mean) / scale
    for epoch in range(args.epochs):
        order = torch.randperm(len(z))
        total = 0.0
        for begin in range(0, len(z), args.batch):
            rows = order[begin:begin + args.batch]
            loss = loss_fn(head(z[rows])[:, 0], y[rows].float())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(rows)
        schedule.step()
        with torch.no_grad():
            val = accuracies(head(vz)[:, 0], vy)
        record = {"epoch": epoch + 1, "loss": total / len(z), **{f"val_{k}": v for k, v in val.items()}}
        log.write(json.dumps(record) + "\n")
        print(json.dumps(record), file=sys.stderr)
    head.eval().requires_grad_(False)
    fold_standardisation(head, mean, scale)
    state = {"step": start.get("step"), "elapsed_s": start.get("elapsed_s"), "merges": start["merges"],
             "machine": f"{args.threads} CPU threads, torch {torch.__version__}", "train_data": " ".join(map(str, args.data)),
             "init_from": {"checkpoint": str(args.init), **{k: start.get(k) for k in ("step", "init_from", "recovered_from")}},
             "presence_training": {"frozen": "every weight but presence.*", "epochs": args.epochs, "lr": args.lr,
                                   "mirrors": args.mirrors, "train_features": len(x), "val": " ".join(map(str, args.val)),
                                   "val_at_default_threshold": accuracies(model.presence.mlp(vx)[:, 0], vy)},
             "args": {k: str(v) for k, v in vars(args).items()}}
    save_checkpoint(args.out / "last.pt", model, None, state)
    print(json.dumps({"checkpoint": str(args.out / "last.pt"), **state["presence_training"]["val_at_default_threshold"]}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
