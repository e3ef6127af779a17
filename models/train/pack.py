"""A dataset's training tensors in one file, for training where the dataset folder cannot travel.

    python -m models.train.pack --data data/shapes/train-s1001 --out .devrun/train-160.npz --size 160

The file holds what load_tensors computes (letterboxed images, soft masks at stride 4, the three
token variants of every sentence), so the training machine needs neither the images nor the
tokenizer. Images are stored as lossless WebP of the letterboxed pixels (identical after decoding;
a quarter of PNG's size on the noise backgrounds);
soft masks as uint8 (x 255, rounded: at most 0.002 off).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from .data import ShapesTensors


def pack_tensors(data: ShapesTensors, out: Path) -> None:
    encoded = []
    for rgb in data.images.numpy():
        ok, buf = cv2.imencode(".webp", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_WEBP_QUALITY, 101])
        if not ok:
            raise RuntimeError("lossless WebP encoding failed")
        encoded.append(buf.ravel())
    offsets = np.cumsum([0] + [len(b) for b in encoded]).astype(np.int64)  # [N+1]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, image_webp=np.concatenate(encoded), image_offsets=offsets,
        masks=np.rint(data.masks.float().numpy() * 255).astype(np.uint8),  # [T,S/4,S/4]
        target_image=data.target_image.numpy(), sample_target=data.sample_target.numpy(),
        tokens=data.tokens.numpy().astype(np.int32),  # [M,3,L]
        kinds=np.array(data.kinds), sentences=np.array(data.sentences))


def _decode(buf: np.ndarray) -> np.ndarray:
    bgr = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if bgr is None:
        raise RuntimeError("this OpenCV cannot decode WebP")
    return bgr


def load_packed(path: Path) -> ShapesTensors:
    with np.load(path) as z:
        webp, offsets = z["image_webp"], z["image_offsets"]
        images = [cv2.cvtColor(_decode(webp[offsets[i]:offsets[i + 1]]), cv2.COLOR_BGR2RGB) for i in range(len(offsets) - 1)]
        return ShapesTensors(
            images=torch.from_numpy(np.stack(images)),  # [N,S,S,3] uint8
            masks=torch.from_numpy(z["masks"]).half() / 255,  # [T,S/4,S/4]
            target_image=torch.from_numpy(z["target_image"]).long(),
            sample_target=torch.from_numpy(z["sample_target"]).long(),
            tokens=torch.from_numpy(z["tokens"]).long(),  # [M,3,L]
            kinds=[str(k) for k in z["kinds"]], sentences=[str(s) for s in z["sentences"]])


def main(argv: list[str]) -> int:
    from models.tokenizer.clip_bpe import ClipBpe
    from .data import load_tensors
    from .train_shapes import DEFAULT_MERGES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--merges", type=Path, default=DEFAULT_MERGES)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--word-len", type=int, default=17)
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    data = load_tensors(args.data, ClipBpe.from_file(args.merges), args.size, args.word_len, limit=args.limit,
                        progress=lambda d, n: print(f"packing {d}/{n} targets", file=sys.stderr))
    pack_tensors(data, args.out)
    print(f"{args.out}: {len(data.images)} images, {len(data.masks)} targets, "
          f"{args.out.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
