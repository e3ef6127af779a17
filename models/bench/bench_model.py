"""`npm run bench:model`: CPU latency of an RN50-shaped CRIS bundle (random weights), batch 1.
(`npm run bench:model -- --shapes`: the shipped bundle fp32 vs int8 instead, bench_shapes_int8.py.)

Measures, all in one run, median of REPEATS after WARMUP runs (round-robin, see interleaved_medians):
  (a) our two graphs in onnxruntime per image-phrase, split into image encoder and head
  (b) the naive export: the whole network as one static batch-1 graph (reference-style projector)
  (c) PyTorch eager
  (d) 5 phrases on one image: one encoding + head at batch 5, against 5 full passes
  (e) the int8 bundle (--int8): latency and mask IoU against float32 on the golden inputs, next to
      the float32 network's own sensitivity: its mask IoU when the input moves by Gaussian noise of
      0.1 % of the image's std (finer than 8-bit rounding). Random weights make a chaotic network,
      so this bounds what any quantisation can reach on them.
Writes a table to stdout, .cache/bench-model.json and a bar chart .cache/bench-model.png. Bundles,
weights and the naive graph are generated into .cache/bench-rn50/ (ignored by git) and reused.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from models.cris import PRESETS, build_from_state_dict, random_cris
from models.export.bundle import export_bundle
from models.thresholds import THRESHOLD
from models.export.check_bundle import sample_inputs

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
WORK = CACHE / "bench-rn50"
WARMUP, REPEATS, PHRASES, THREADS = 2, 10, 5, int(os.environ.get("BENCH_THREADS", "2"))
THRESHOLD_LOGIT = float(np.log(THRESHOLD / (1 - THRESHOLD)))  # the bundle's default threshold, as a logit


class Progress:
    """Prints each run with an ETA from the mean time of the runs so far."""

    def __init__(self, total_runs: int):
        self.total, self.done, self.spent = total_runs, 0, 0.0

    def tick(self, label: str, seconds: float) -> None:
        self.done += 1
        self.spent += seconds
        eta = self.spent / self.done * (self.total - self.done)
        print(f"  [{self.done:3d}/{self.total}] {label:<28} {seconds:7.3f}s   ETA {eta:5.0f}s", flush=True)


def interleaved_medians(runs: list[tuple[str, Callable[[], object]]], progress: Progress, repeats: int = REPEATS,
                        cpu_seconds: dict[str, float] | None = None) -> dict[str, float]:
    """Runs every measurement once per round (round-robin), so that load from other processes on
    a shared machine falls on all of them alike; returns each one's median wall time after the
    warm-up (and fills cpu_seconds, when given, with each one's median process CPU time)."""
    times: dict[str, list[float]] = {label: [] for label, _ in runs}
    cpu: dict[str, list[float]] = {label: [] for label, _ in runs}
    for round_index in range(WARMUP + repeats):
        for label, run in runs:
            started, cpu_started = time.perf_counter(), time.process_time()
            run()
            elapsed, cpu_elapsed = time.perf_counter() - started, time.process_time() - cpu_started
            progress.tick(f"{label}{' (warm-up)' if round_index < WARMUP else ''}", elapsed)
            if round_index >= WARMUP:
                times[label].append(elapsed)
                cpu[label].append(cpu_elapsed)
    if cpu_seconds is not None:
        cpu_seconds.update({label: statistics.median(values) for label, values in cpu.items()})
    return {label: statistics.median(values) for label, values in times.items()}


def session(path: Path):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def prepare(merges: Path) -> torch.nn.Module:
    """Weights, fp32 + int8 bundles and the naive graph, generated once into .cache/bench-rn50/."""
    from models.bench.naive_graph import export_naive

    WORK.mkdir(parents=True, exist_ok=True)
    weights = WORK / "weights.pt"
    if weights.is_file():
        model = build_from_state_dict(torch.load(weights, weights_only=True))
    else:
        print("setup: building a random RN50 CRIS (BatchNorm calibration takes a few minutes)", flush=True)
        model = random_cris(PRESETS["RN50"], seed=0)
        torch.save(model.state_dict(), weights)
    for precision in ("fp32", "int8"):
        if not (WORK / precision / "manifest.json").is_file():
            print(f"setup: exporting the {precision} bundle to {WORK / precision}", flush=True)
            export_bundle(model, WORK / precision, merges, bundle_id=f"bench-rn50-{precision}", version="0.0.0",
                          provenance={"source": "random-init", "seed": 0}, precision=precision)
    if not (WORK / "naive_b1.onnx").is_file():
        print("setup: exporting the naive single static graph", flush=True)
        export_naive(model, WORK / "naive_b1.onnx", 416, 17)
    return model


def masks_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > THRESHOLD_LOGIT, b > THRESHOLD_LOGIT
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def main() -> int:
    if "--shapes" in sys.argv[1:]:  # the shipped bundle's architecture, fp32 vs int8 (bench_shapes_int8.py)
        from models.bench.bench_shapes_int8 import main as shapes_main

        return shapes_main(sys.argv[1:])
    shared = Path(os.environ.get("CRIS_SHARED_DIR") or ROOT.parent / "shared")  # golden data, CLIP merges
    golden = shared / "golden" / "official-mini"
    merges = shared / "clip-bpe" / "bpe_simple_vocab_16e6.txt.gz"
    if not golden.is_dir() or not merges.is_file():
        print(f"bench:model: error: {shared} lacks golden/official-mini or clip-bpe (set CRIS_SHARED_DIR)",
              file=sys.stderr)
        return 2
    torch.set_num_threads(THREADS)
    model = prepare(merges)
    manifest = json.loads((WORK / "fp32" / "manifest.json").read_text())
    image, tokens = sample_inputs(manifest, 1, seed=3)
    enc32, head32 = session(WORK / "fp32" / "image_encoder.onnx"), session(WORK / "fp32" / "head.onnx")
    enc8, head8 = session(WORK / "int8" / "image_encoder.onnx"), session(WORK / "int8" / "head.onnx")
    naive = session(WORK / "naive_b1.onnx")
    names = ["c3", "c4", "c5", "tokens"]
    features = enc32.run(None, {"image": image})
    tokens5 = sample_inputs(manifest, PHRASES, seed=4)[1]

    def full(encoder, head, img, tok):
        return head.run(None, dict(zip(names, [*encoder.run(None, {"image": img}), tok])))[0]

    def eager():
        with torch.no_grad():
            return model(torch.from_numpy(image), torch.from_numpy(tokens))

    def one_image_five_phrases():
        feats = enc32.run(None, {"image": image})
        return head32.run(None, dict(zip(names, [*[np.repeat(f, PHRASES, axis=0) for f in feats], tokens5])))

    def five_full_passes():
        return [full(enc32, head32, image, tokens5[i:i + 1]) for i in range(PHRASES)]

    runs = [
        ("(a) image encoder", lambda: enc32.run(None, {"image": image})),
        ("(a) head", lambda: head32.run(None, dict(zip(names, [*features, tokens])))),
        ("(a) two graphs, image+phrase", lambda: full(enc32, head32, image, tokens)),
        ("(b) naive single graph", lambda: naive.run(None, {"image": image, "tokens": tokens})),
        ("(c) PyTorch eager", eager),
        ("(d) 1 encoding + head b5", one_image_five_phrases),
        ("(d) 5 full passes", five_full_passes),
        ("(e) int8 image+phrase", lambda: full(enc8, head8, image, tokens)),
    ]
    print(f"bench:model  RN50-shaped CRIS, random weights, batch 1, {THREADS} threads, "
          f"median of {REPEATS} after {WARMUP} warm-up runs", flush=True)
    progress = Progress(len(runs) * (WARMUP + REPEATS))
    results = interleaved_medians(runs, progress)

    images = np.load(golden / "golden_images.npy")
    words = np.load(golden / "golden_words.npy")
    pairs = np.load(golden / "golden_pairs.npy")
    fp32 = [full(enc32, head32, images[[i]], words[[j]]) for i, j in pairs]
    iou = [masks_iou(ref, full(enc8, head8, images[[i]], words[[j]])) for ref, (i, j) in zip(fp32, pairs)]
    rng = np.random.default_rng(0)
    noisy = [images[[i]] + (1e-3 * images.std() * rng.standard_normal(images[[i]].shape)).astype(np.float32)
             for i, _ in pairs]
    noise_iou = [masks_iou(ref, full(enc32, head32, x, words[[j]])) for ref, (_, j), x in zip(fp32, pairs, noisy)]
    report(results, iou, noise_iou)
    return 0


def report(results: dict[str, float], iou: list[float], noise_iou: list[float]) -> None:
    two = results["(a) two graphs, image+phrase"]
    naive, five = results["(b) naive single graph"], results["(d) 5 full passes"]
    shared, int8 = results["(d) 1 encoding + head b5"], results["(e) int8 image+phrase"]
    checks = [
        ("(a) vs (b): two graphs within 10% of naive", two / naive, two <= 1.10 * naive),
        ("(d) 5 phrases, 1 encoding vs 5 passes (<= 0.8x)", shared / five, shared <= 0.8 * five),
        ("(e) int8 speed-up over fp32 (>= 1.8x)", two / int8, two / int8 >= 1.8),
        ("(e) int8 mask IoU vs fp32, golden inputs (>= 0.97)", min(iou), min(iou) >= 0.97),
    ]
    print("\n| measurement | median s |\n| --- | ---: |")
    for label, seconds in results.items():
        print(f"| {label} | {seconds:.3f} |")
    print("\n| target | value | met |\n| --- | ---: | --- |")
    for label, value, met in checks:
        print(f"| {label} | {value:.3f} | {'yes' if met else 'NO'} |")
    print(f"\nint8 mask IoU per golden pair: {', '.join(f'{v:.4f}' for v in iou)}")
    print(f"float32 mask IoU under 0.1 % input noise, per golden pair: {', '.join(f'{v:.4f}' for v in noise_iou)}")
    if min(noise_iou) < 0.97:
        print("  (below 0.97: with these random weights, a perturbation finer than 8-bit rounding of the input "
              "already moves the mask more than the int8 target allows)")
    (CACHE / "bench-model.json").write_text(json.dumps(
        {"seconds": results, "int8_iou": iou, "fp32_input_noise_iou": noise_iou, "targets": {l: [v, m] for l, v, m in checks},
         "threads": THREADS, "repeats": REPEATS, "warmup": WARMUP}, indent=2))
    chart(results)


def chart(results: dict[str, float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(results)
    figure, axis = plt.subplots(figsize=(9, 4.5))
    bars = axis.barh(labels[::-1], [results[l] for l in labels[::-1]], color="#4878a8")
    axis.bar_label(bars, fmt="%.2f s", padding=3)
    axis.set_xlabel("median seconds (CPU, batch 1 unless stated)")
    axis.set_title("CRIS RN50 shapes, random weights: onnxruntime vs naive vs PyTorch")
    figure.tight_layout()
    figure.savefig(CACHE / "bench-model.png", dpi=110)
    print(f"chart: {CACHE / 'bench-model.png'}")


if __name__ == "__main__":
    sys.exit(main())
