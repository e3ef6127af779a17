"""Measures how far onnxruntime's float32 logits drift from PyTorch's on full-size CRIS, to justify
the export gate's tolerance (models/export/tolerance.py). For each preset and seed: a random
calibrated model saved as an official-format checkpoint (`module.`-prefixed state_dict in
train.py's dict), loaded back with load_checkpoint, exported to float32 graphs, and run at batch 1
and 3 in both runtimes. Prints one row per run and the largest ratio of the drift to the
depth x magnitude scale the gate uses.

    models/.venv/bin/python -m models.export.measure_tolerance [--presets RN50 RN101] [--seeds 0 1 2]
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from models.cris import PRESETS, load_checkpoint, random_cris
from models.export import graphs
from models.export.bundle import HEAD_FILE, IMAGE_FILE, verify
from models.export.tolerance import logit_scale, logit_tolerance, network_depth


def official_checkpoint(preset: str, seed: int, path: Path) -> Path:
    model = random_cris(PRESETS[preset], seed=seed)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"epoch": 0, "cur_iou": 0.0, "best_iou": 0.0, "prec": {}, "state_dict": state,
                "optimizer": {}, "scheduler": {}}, path)
    return path


def measure(preset: str, seed: int, batches: tuple[int, ...], work: Path) -> list[dict]:
    model = load_checkpoint(official_checkpoint(preset, seed, work / f"{preset}-{seed}.pth")).model
    cfg = model.cfg
    graphs.export_fp32(model, work / IMAGE_FILE, work / HEAD_FILE, cfg.input_size, cfg.word_len)
    rows = []
    for batch in batches:
        check = verify(model, work, cfg.input_size, cfg.word_len, batch=batch, seed=seed)
        scale = logit_scale(check["max_abs_logit"])
        rows.append({"preset": preset, "seed": seed, **check, "depth": network_depth(cfg),
                     "ratio": check["max_abs_diff"] / (network_depth(cfg) * np.finfo(np.float32).eps * scale),
                     "tolerance": logit_tolerance(cfg, check["max_abs_logit"])})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--presets", nargs="+", default=["RN50", "RN101"], choices=["RN50", "RN101", "small"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 3])
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    runs = [(p, s) for p in args.presets for s in args.seeds]
    started = time.monotonic()
    print("preset seed batch  max|diff|  max|logit|  range  depth  ratio(diff/(depth*eps*max(1,|logit|)))  "
          "tolerance  mask agreement  mask IoU", flush=True)
    rows = []
    for n, (preset, seed) in enumerate(runs, 1):
        with tempfile.TemporaryDirectory() as tmp:
            for row in measure(preset, seed, tuple(args.batches), Path(tmp)):
                rows.append(row)
                print(f"{preset:6} {seed:4} {row['batch']:5}  {row['max_abs_diff']:.2e}  {row['max_abs_logit']:9.2f}  "
                      f"{row['logits_range']:6.2f}  {row['depth']:5}  {row['ratio']:8.1f}  {row['tolerance']:.2e}  "
                      f"{row['mask_agreement']:.6f}  {row['mask_iou']:.6f}", flush=True)
        elapsed = time.monotonic() - started
        print(f"  [{n}/{len(runs)}] {elapsed:.0f}s, ETA {elapsed / n * (len(runs) - n):.0f}s", flush=True)
    worst = max(rows, key=lambda r: r["ratio"])
    print(f"largest ratio {worst['ratio']:.1f} ({worst['preset']} seed {worst['seed']} batch {worst['batch']}); "
          f"smallest mask agreement {min(r['mask_agreement'] for r in rows):.6f}; every run within the gate: "
          f"{all(r['max_abs_diff'] <= r['tolerance'] for r in rows)}")


if __name__ == "__main__":
    main()
