"""`npm run bench:model -- --shapes`: the shipped bundle's architecture (models/cris-shapes-s) in
float32 against its int8 export, on this CPU, in one interleaved run (bench_model.interleaved_medians).

    npm run bench:model -- --shapes [--int8-bundle .cache/cris-shapes-s-int8] [--data data/shapes/test-s3003]
        [--rounds 40]     # BENCH_THREADS=1 for onnxruntime's intra-op threads (default 2)

Times the image encoder, the head and image+phrase at batch 1 on real test images and phrases, the
mixed pair (int8 encoder, float32 head), each call PASSES inferences, as median wall time and
median process CPU time (on a loaded machine the CPU time is the steadier measure of the work
done, with one thread exactly so), and profiles one session of each graph (onnxruntime's
per-node kernel times) to show which operators run in int8 and what the rest costs. Build the
int8 bundle first (models/export/README.md, "int8 of the shipped model"). Writes
.cache/bench-model-shapes.json.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import sys
from pathlib import Path

import numpy as np

from models.bench.bench_model import CACHE, ROOT, THREADS, WARMUP, Progress, interleaved_medians, session

NAMES = ["c3", "c4", "c5", "tokens"]
PAIRS = 8  # (image, phrase) pairs cycled through the timed runs
PASSES = 4  # inferences per timed call


def test_pairs(folder: Path, bundle: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    """[N,1,3,S,S] normalised images and [N,1,L] tokens of the first N sentences of a dataset folder."""
    from models.tokenizer.clip_bpe import ClipBpe
    from models.train.data import load_tensors, normalise

    manifest = json.loads((bundle / "manifest.json").read_text())
    tokenizer = ClipBpe.from_file(bundle / manifest["text"]["tokenizer"]["merges_file"])
    data = load_tensors(folder, tokenizer, manifest["input"]["size"], manifest["text"]["word_len"], limit=count)
    rows = np.arange(min(count, len(data.sample_target)))
    images = normalise(data.images[data.target_image[data.sample_target[rows]]]).numpy()  # [N,3,S,S]
    return images[:, None], data.tokens[rows, 0].numpy()[:, None]


def kernel_profile(path: Path, feeds: dict, runs: int = 20) -> dict[str, float]:
    """Mean milliseconds per run spent in each operator type (onnxruntime's profiler)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = THREADS
    options.log_severity_level = 3
    options.enable_profiling = True
    options.profile_file_prefix = str(CACHE / "ort-profile")
    sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    for _ in range(runs):
        sess.run(None, feeds)
    trace = Path(sess.end_profiling())
    events = json.loads(trace.read_text())
    trace.unlink()
    by_op: collections.Counter = collections.Counter()
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1000 / runs
    return dict(by_op.most_common())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="bench:model --shapes")
    parser.add_argument("--shapes", action="store_true")
    parser.add_argument("--bundle", type=Path, default=ROOT / "models" / "cris-shapes-s")
    parser.add_argument("--int8-bundle", type=Path, default=CACHE / "cris-shapes-s-int8")
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "shapes" / "test-s3003")
    parser.add_argument("--rounds", type=int, default=40, help="timed rounds after the warm-up")
    args = parser.parse_args(argv)
    for need in (args.bundle / "manifest.json", args.int8_bundle / "manifest.json", args.data / "refs.jsonl"):
        if not need.is_file():
            print(f"bench:model --shapes: error: {need} is missing (models/export/README.md says how to make it)",
                  file=sys.stderr)
            return 2
    images, tokens = test_pairs(args.data, args.bundle, PAIRS)
    enc32, head32 = session(args.bundle / "image_encoder.onnx"), session(args.bundle / "head.onnx")
    enc8, head8 = session(args.int8_bundle / "image_encoder.onnx"), session(args.int8_bundle / "head.onnx")
    feats32 = [enc32.run(None, {"image": x}) for x in images]
    feats8 = [enc8.run(None, {"image": x}) for x in images]
    turn = {"i": 0}

    def pair() -> int:
        turn["i"] = (turn["i"] + 1) % len(images)
        return turn["i"]

    def full(encoder, head):
        i = pair()
        return head.run(None, dict(zip(NAMES, [*encoder.run(None, {"image": images[i]}), tokens[i]])))

    def head_only(head, feats):
        i = pair()
        return head.run(None, dict(zip(NAMES, [*feats[i], tokens[i]])))

    def encoder_only(encoder):
        return encoder.run(None, {"image": images[pair()]})

    timed = [
        ("fp32 image encoder", lambda: encoder_only(enc32)),
        ("int8 image encoder", lambda: encoder_only(enc8)),
        ("fp32 head", lambda: head_only(head32, feats32)),
        ("int8 head", lambda: head_only(head8, feats8)),
        ("fp32 image+phrase", lambda: full(enc32, head32)),
        ("int8 image+phrase", lambda: full(enc8, head8)),
        ("int8 encoder + fp32 head", lambda: full(enc8, head32)),
    ]
    runs = [(label, lambda fn=fn: [fn() for _ in range(PASSES)]) for label, fn in timed]
    load_before = os.getloadavg()
    print(f"bench:model --shapes  {args.bundle.name} fp32 vs {args.int8_bundle}, batch 1, {THREADS} threads, "
          f"{PASSES} inferences a call, median of {args.rounds} rounds after {WARMUP} warm-up, "
          f"load average {load_before[0]:.1f}", flush=True)
    cpu: dict[str, float] = {}
    wall = interleaved_medians(runs, Progress(len(runs) * (WARMUP + args.rounds)), args.rounds, cpu)
    results = {label: seconds / PASSES for label, seconds in wall.items()}
    cpu = {label: seconds / PASSES for label, seconds in cpu.items()}
    load_after = os.getloadavg()
    profiles = {f"{precision} {graph}": kernel_profile(bundle / f"{graph}.onnx", feeds)
                for precision, bundle, feeds_by_graph in (
                    ("fp32", args.bundle, {"image_encoder": {"image": images[0]}, "head": dict(zip(NAMES, [*feats32[0], tokens[0]]))}),
                    ("int8", args.int8_bundle, {"image_encoder": {"image": images[0]}, "head": dict(zip(NAMES, [*feats8[0], tokens[0]]))}))
                for graph, feeds in feeds_by_graph.items()}
    report(results, cpu, profiles, load_before, load_after, args.rounds)
    return 0


def report(results: dict[str, float], cpu: dict[str, float], profiles: dict[str, dict[str, float]],
           load_before, load_after, rounds: int) -> None:
    print("\n| measurement | wall ms | fp32 / this | CPU ms | fp32 / this |\n| --- | ---: | ---: | ---: | ---: |")
    for label, seconds in results.items():
        base = label.replace("int8 encoder + fp32 head", "fp32 image+phrase").replace("int8", "fp32")
        print(f"| {label} | {seconds * 1000:.1f} | {results[base] / seconds:.2f}x | {cpu[label] * 1000:.1f} | "
              f"{cpu[base] / max(cpu[label], 1e-9):.2f}x |")
    speedup = results["fp32 image+phrase"] / results["int8 image+phrase"]
    cpu_speedup = cpu["fp32 image+phrase"] / max(cpu["int8 image+phrase"], 1e-9)
    print(f"\nint8 speed-up, image+phrase: {speedup:.2f}x wall, {cpu_speedup:.2f}x CPU time (target >= 1.5x: "
          f"{'met' if min(speedup, cpu_speedup) >= 1.5 else 'NOT met'}); load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after")
    print("\nkernel time per run by operator (onnxruntime profiler, ms):")
    for label, ops in profiles.items():
        total = sum(ops.values())
        top = ", ".join(f"{op} {ms:.1f} ({ms / total:.0%})" for op, ms in list(ops.items())[:6])
        print(f"  {label}: {total:.1f} ms: {top}")
    (CACHE / "bench-model-shapes.json").write_text(json.dumps(
        {"seconds": results, "cpu_seconds": cpu, "int8_speedup": speedup, "int8_cpu_speedup": cpu_speedup,
         "kernel_ms_by_op": profiles, "threads": THREADS, "rounds": rounds, "passes": PASSES, "warmup": WARMUP,
         "load_average": [load_before, load_after]}, indent=2))
