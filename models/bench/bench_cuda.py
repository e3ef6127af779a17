"""CUDA latency of an RN50-shaped CRIS (random weights) in PyTorch eager, for capacity planning.

    python -m models.bench.bench_cuda [--repeats 20]

Prints one line per (precision, batch): image encoder and head, median of --repeats after warm-up,
a batch being B images with one phrase each. Also prints the onnxruntime providers the machine's
Python has, since the service's own engine (onnxruntime-node) needs the CUDA provider for GPU runs.
"""
from __future__ import annotations

import argparse
import json
import statistics
import time

import torch

from models.cris import CRIS, PRESETS


def median_ms(fn, repeats: int, sync, warmup: int = 5) -> float:
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--batches", default="1,8,32")
    ap.add_argument("--device", default="cuda", help="cpu only to check this script")
    args = ap.parse_args()
    try:
        import onnxruntime
        print(json.dumps({"onnxruntime": onnxruntime.__version__, "providers": onnxruntime.get_available_providers()}))
    except ImportError:
        print(json.dumps({"onnxruntime": None}))
    cfg = PRESETS["RN50"]
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    print(json.dumps({"device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
                      "torch": torch.__version__, "input": cfg.input_size}))
    torch.backends.cudnn.benchmark = True
    for precision, dtype in (("fp32", torch.float32), ("fp16", torch.float16)):
        model = CRIS(cfg).to(device).eval().to(dtype)
        for batch in (int(b) for b in args.batches.split(",")):
            image = torch.randn(batch, 3, cfg.input_size, cfg.input_size, device=device, dtype=dtype)
            tokens = torch.randint(1, cfg.vocab_size - 2, (batch, cfg.word_len), device=device)
            with torch.inference_mode():
                feats = model.encode_image(image)
                encoder = median_ms(lambda: model.encode_image(image), args.repeats, sync)
                head = median_ms(lambda: model.head(*feats, tokens), args.repeats, sync)
            print(json.dumps({"precision": precision, "batch": batch, "encoder_ms": round(encoder, 2),
                              "head_ms": round(head, 2), "per_pair_ms": round((encoder + head) / batch, 3)}))
        del model
        if device.type == "cuda":
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
