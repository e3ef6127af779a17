"""Trains a small CRIS from scratch on referring-shapes (or any dataset in our refs.jsonl format).

    npm run train:shapes -- --data data/shapes/train-s1001 --val data/shapes/val-s2002 \
        --out runs/shapes-s --minutes 80            # add --resume to continue a run

--init CKPT starts a new run (fresh optimiser and schedule) from a trained model's weights, e.g. to
go on training on more data; the width flags are then taken from CKPT.

--data is one or more dataset folders, or one file written by models/train/pack.py (for a machine
the folders cannot travel to). --val takes one or more folders (a v1 and a v2 one, say): the first
is logged as "val", each v2 one as "val2" (gIoU, cIoU, N-acc, T-acc, group and single-target mIoU).

--presence adds the presence head (models/cris/presence.py) when the starting weights have none
(its weights start at random; every other weight loads as before), trained by a sigmoid BCE on
"the mask is not empty" (weight --presence-weight) jointly with the mask loss. On CUDA (--device auto picks it when present) the data sits on the GPU and the
forward pass runs under bfloat16 autocast.

Loss: the reference's per-pixel sigmoid BCE at stride 4 (soft, area-averaged masks) + dice_weight *
soft Dice. AdamW, learning rate warm-up then cosine decay over the wall-clock budget (--minutes,
counted across resumes). Checkpoints every --ckpt-min minutes to OUT/last.pt; validation mIoU every
--val-min minutes to OUT/log.jsonl, OUT/curve.png; progress with an ETA on stderr.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import torch

from models.cris import CRIS, CrisConfig
from models.tokenizer import SHAPES_MERGES
from models.tokenizer.clip_bpe import ClipBpe

from .checkpointing import load_checkpoint_file, save_checkpoint
from .data import concat_tensors, load_tensors, make_batch
from .pack import load_packed
from .evaluate import evaluate
from .losses import segmentation_loss

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MERGES = SHAPES_MERGES


def parse_args(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+", required=True,
                    help="dataset folder(s), or one .npz from models/train/pack.py")
    ap.add_argument("--val", type=Path, nargs="+", help="validation folder(s): the first is logged as val")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--merges", type=Path, default=DEFAULT_MERGES)
    ap.add_argument("--minutes", type=float, default=80.0, help="wall-clock training budget, across resumes")
    ap.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: by time only)")
    ap.add_argument("--resume", action="store_true")
    ap.add_argument("--init", type=Path, help="start from this checkpoint's weights and config (a new schedule)")
    ap.add_argument("--limit", type=int, help="use the first N training targets")
    ap.add_argument("--val-limit", type=int, default=300)
    ap.add_argument("--size", type=int, default=192)
    ap.add_argument("--word-len", type=int, default=17)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--weight-decay", type=float, default=1e-4)
    ap.add_argument("--dice", type=float, default=1.0, help="weight of the Dice term")
    ap.add_argument("--presence", action="store_true", help="train a presence head (added when the start has none)")
    ap.add_argument("--presence-weight", type=float, default=1.0)
    ap.add_argument("--vision-width", type=int, default=16)
    ap.add_argument("--vision-layers", default="1,1,1,1")
    ap.add_argument("--embed-dim", type=int, default=128)
    ap.add_argument("--text-width", type=int, default=128)
    ap.add_argument("--text-layers", type=int, default=2)
    ap.add_argument("--fpn-out", default="64,128,128")
    ap.add_argument("--dec-layers", type=int, default=2)
    ap.add_argument("--dim-ffn", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--val-min", type=float, default=6.0)
    ap.add_argument("--ckpt-min", type=float, default=3.0)
    ap.add_argument("--log-every", type=int, default=25)
    return ap.parse_args(argv)


def config_from_args(args: argparse.Namespace, vocab_size: int) -> CrisConfig:
    """Head counts follow the rules infer_config uses, so checkpoints reload without flags."""
    return CrisConfig(
        vision_layers=tuple(int(x) for x in args.vision_layers.split(",")),
        vision_width=args.vision_width, vision_heads=args.vision_width * 32 // 64,
        vision_pos_grid=max(1, args.size // 32), embed_dim=args.embed_dim,
        context_length=args.word_len, vocab_size=vocab_size, text_width=args.text_width,
        text_heads=max(1, args.text_width // 64), text_layers=args.text_layers, word_len=args.word_len,
        input_size=args.size, fpn_out=tuple(int(x) for x in args.fpn_out.split(",")),
        num_layers=args.dec_layers, num_head=8, dim_ffn=args.dim_ffn, dropout=0.0, presence=args.presence)


def load_start_weights(model: CRIS, state_dict: dict) -> None:
    """Strict, except that a presence head the start lacks keeps its fresh weights."""
    missing, unexpected = model.load_state_dict(state_dict, strict=False)
    if unexpected or any(not k.startswith("presence.") for k in missing):
        raise SystemExit(f"starting weights do not fit: missing {missing}, unexpected {unexpected}")


def load_training_data(args: argparse.Namespace, cfg: CrisConfig, tokenizer: ClipBpe):
    if len(args.data) == 1 and args.data[0].is_file():
        if args.limit:
            raise SystemExit("--limit applies to dataset folders; pack fewer targets with pack.py --limit")
        data = load_packed(args.data[0])
        if data.images.shape[1] != cfg.input_size or data.tokens.shape[-1] != cfg.word_len:
            raise SystemExit(f"{args.data[0]} was packed at size {data.images.shape[1]}, word length "
                             f"{data.tokens.shape[-1]}; the model wants {cfg.input_size}, {cfg.word_len}")
        return data
    return concat_tensors([load_tensors(folder, tokenizer, cfg.input_size, cfg.word_len, limit=args.limit,
                                        progress=lambda d, n: print(f"loading {d}/{n} targets", file=sys.stderr))
                           for folder in args.data])


def learning_rate(base: float, progress: float, warmup: float = 0.03, floor: float = 0.02) -> float:
    """Linear warm-up then cosine decay to floor * base, over progress in [0, 1]."""
    if progress < warmup:
        return base * max(progress / warmup, 0.02)
    t = min(1.0, (progress - warmup) / (1 - warmup))
    return base * (floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * t)))


def log_line(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    device = torch.device("cuda" if args.device == "cuda" or (args.device == "auto" and torch.cuda.is_available())
                          else "cpu")
    args.out.mkdir(parents=True, exist_ok=True)
    ckpt_path, log_path = args.out / "last.pt", args.out / "log.jsonl"
    tokenizer = ClipBpe.from_file(args.merges)
    resumed = load_checkpoint_file(ckpt_path) if args.resume and ckpt_path.exists() else None
    initial = load_checkpoint_file(args.init) if args.init and not resumed else None
    start_from = resumed or initial
    cfg = CrisConfig.from_dict(start_from["config"]) if start_from else config_from_args(args, tokenizer.vocab_size)
    if args.presence and not cfg.presence:
        cfg = dataclasses.replace(cfg, presence=True)
    if cfg.vocab_size != tokenizer.vocab_size:
        raise SystemExit(f"vocab_size {cfg.vocab_size} does not match the merges file ({tokenizer.vocab_size})")
    model = CRIS(cfg).to(device, memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    step, elapsed_before = 0, 0.0
    if start_from:
        load_start_weights(model, start_from["model"])
    if initial:
        print(f"initialised from {args.init} (step {initial.get('step')})", file=sys.stderr)
    if resumed:
        optimizer.load_state_dict(resumed["optimizer"])
        step, elapsed_before = resumed["step"], resumed["elapsed_s"]
        print(f"resumed at step {step}, {elapsed_before / 60:.1f} min trained", file=sys.stderr)
    params = sum(p.numel() for p in model.parameters())
    t0 = time.time()
    data = load_training_data(args, cfg, tokenizer).to(device)
    print(f"data: {len(data.images)} images, {len(data.masks)} targets, {len(data.sample_target)} sentences "
          f"in {time.time() - t0:.0f}s; model {params / 1e6:.2f}M params, S={cfg.input_size}, on {device}",
          file=sys.stderr)
    if not resumed:
        log_line(log_path, {"event": "start", "config": cfg.to_dict(), "params": params,
                            "init_step": initial.get("step") if initial else None, "args": {
            k: str(v) for k, v in vars(args).items()}, "train_images": len(data.images),
            "train_sentences": len(data.sample_target)})
    budget = args.minutes * 60
    generator = torch.Generator().manual_seed(args.seed + step)
    started = time.time()
    last_ckpt = last_val = started
    running: list[torch.Tensor] = []

    machine = (f"{torch.cuda.get_device_name(device)}, torch {torch.__version__}, bfloat16 autocast"
               if device.type == "cuda" else f"{args.threads} CPU threads, torch {torch.__version__}")
    merges = args.merges.resolve()
    merges = merges.relative_to(ROOT) if merges.is_relative_to(ROOT) else merges  # portable between machines

    # Where the weights came from, so the exported manifest can tell every stage of training.
    init_from = resumed.get("init_from") if resumed else initial and {
        "checkpoint": str(args.init), **{k: initial.get(k) for k in ("step", "elapsed_s", "machine", "train_data", "init_from", "recovered_from")},
        "args": {k: initial.get("args", {}).get(k) for k in ("batch", "lr", "dice")}}

    def state() -> dict:
        return {"step": step, "elapsed_s": elapsed_before + time.time() - started, "merges": str(merges),
                "machine": machine, "init_from": init_from,
                "train_data": " ".join(map(str, args.data)),
                "args": vars(args) | {"data": " ".join(map(str, args.data)), "val": str(args.val),
                                                                      "out": str(args.out), "merges": str(args.merges)}}

    def validate() -> None:
        minutes = (elapsed_before + time.time() - started) / 60
        for i, folder in enumerate(args.val or []):
            metrics, _ = evaluate(model, folder, tokenizer, cfg.input_size, cfg.word_len, limit=args.val_limit)
            v2 = "gIoU" in metrics
            if i > 0 and not v2:
                continue  # one v1 curve: the first folder's
            log_line(log_path, {"event": "val2" if v2 else "val", "step": step, "minutes": round(minutes, 2),
                                "data": str(folder), **metrics})
            head = (f"gIoU {metrics['gIoU']:.3f} cIoU {metrics['cIoU']:.3f} N-acc {metrics['N-acc'] or 0:.3f} "
                    f"T-acc {metrics['T-acc'] or 0:.3f} group {metrics['group']['mIoU'] or 0:.2f} single "
                    f"{metrics['single_target']['mIoU']:.3f}" if v2 else f"mIoU {metrics['mIoU']:.3f} oIoU {metrics['oIoU']:.3f}")
            print(f"val{'2' if v2 else ''} step {step} {minutes:.1f} min: {head} "
                  + " ".join(f"{k} {v['mIoU']:.2f}" for k, v in metrics.get("by_kind", {}).items()), file=sys.stderr)
        model.train()
        if not args.val:
            return
        from .plots import training_curve_png
        training_curve_png(log_path, args.out / "curve.png")

    model.train()
    while True:
        elapsed = elapsed_before + time.time() - started
        progress = max(elapsed / budget, step / args.max_steps if args.max_steps else 0.0)
        if progress >= 1.0:
            break
        lr = learning_rate(args.lr, progress)
        for group in optimizer.param_groups:
            group["lr"] = lr
        rows = torch.randint(0, len(data.sample_target), (args.batch,), generator=generator)
        images, tokens, masks = make_batch(data, rows, generator)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            features = model.encode_image(images.contiguous(memory_format=torch.channels_last))
            logits, presence = model.head_outputs(*features, tokens)  # [B,1,S/4,S/4], [B,1] or None
        loss, parts = segmentation_loss(logits.float(), masks, args.dice,
                                        None if presence is None else presence.float(), args.presence_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        step += 1
        running.append(loss.detach())
        if step % args.log_every == 0:
            mean = float(torch.stack(running).mean())
            running.clear()
            eta = (budget - elapsed) / 60
            log_line(log_path, {"event": "train", "step": step, "minutes": round(elapsed / 60, 2), "loss": mean,
                                "lr": lr, **{k: float(v) for k, v in parts.items()}})
            print(f"step {step} {elapsed / 60:.1f}/{args.minutes:.0f} min loss {mean:.4f} lr {lr:.2e} "
                  f"ETA {eta:.1f} min", file=sys.stderr)
        now = time.time()
        if now - last_ckpt > args.ckpt_min * 60:
            save_checkpoint(ckpt_path, model, optimizer, state())
            last_ckpt = now
        if now - last_val > args.val_min * 60:
            validate()
            last_val = time.time()
    save_checkpoint(ckpt_path, model, optimizer, state())
    validate()
    print(json.dumps({"step": step, "minutes": round(state()["elapsed_s"] / 60, 2), "checkpoint": str(ckpt_path)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
