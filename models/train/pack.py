"""A dataset's training tensors in one file, for training where the dataset folder cannot travel.

    python -m models.train.pack --data data/shapes/train-s1001 --out .devrun/train-160.npz --size 160
    python -m models.train.pack --data DIR1 DIR2 --webp-quality 85 --out FILE   # several datasets in one file

The file holds what load_tensors computes (letterboxed images, soft masks at stride 4, the three
token variants of every sentence), so the training machine needs neither the images nor the
tokenizer. Images are stored as WebP of the letterboxed pixels: lossless by default (identical after
decoding; a quarter of PNG's size on the noise backgrounds), or lossy with --webp-quality Q < 101
(at S=160, Q 85: 1.2 KB an image, a quarter of lossless, mean absolute error 1.6 of 255; Q 90:
1.5 KB, 1.4; Q 75, used for the shipped model's last two stages: 0.8 KB, 1.8), for more images
within a size limit. Soft masks as uint8 (x 255, rounded: at most 0.002 off).
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .data import ShapesTensors, concat_tensors


def _encode(rgb: np.ndarray, webp_quality: int) -> np.ndarray:
    """[S,S,3] uint8 -> WebP bytes (libwebp through Pillow: lossy output is byte-identical to the
    OpenCV encoder this used before, lossless decodes to the same pixels)."""
    out = io.BytesIO()
    lossless = webp_quality > 100
    Image.fromarray(rgb).save(out, "WEBP", lossless=lossless, quality=80 if lossless else webp_quality)
    return np.frombuffer(out.getvalue(), dtype=np.uint8)


def pack_tensors(data: ShapesTensors, out: Path, webp_quality: int = 101) -> None:
    encoded = [_encode(rgb, webp_quality) for rgb in data.images.numpy()]
    offsets = np.cumsum([0] + [len(b) for b in encoded]).astype(np.int64)  # [N+1]
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out, image_webp=np.concatenate(encoded), image_offsets=offsets,
        masks=np.rint(data.masks.float().numpy() * 255).astype(np.uint8),  # [T,S/4,S/4]
        target_image=data.target_image.numpy(), sample_target=data.sample_target.numpy(),
        tokens=data.tokens.numpy().astype(np.int32),  # [M,3,L]
        kinds=np.array(data.kinds), sentences=np.array(data.sentences))


def _decode(buf: np.ndarray) -> np.ndarray:
    """WebP bytes -> [S,S,3] uint8 RGB (the same pixels OpenCV decodes from the same bytes)."""
    with Image.open(io.BytesIO(buf.tobytes())) as image:
        return np.asarray(image.convert("RGB"))


def load_packed(path: Path) -> ShapesTensors:
    with np.load(path) as z:
        webp, offsets = z["image_webp"], z["image_offsets"]
        images = [_decode(webp[offsets[i]:offsets[i + 1]]) for i in range(len(offsets) - 1)]
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
    from models.tokenizer import SHAPES_MERGES

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", type=Path, nargs="+", required=True, help="one or more dataset folders")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--merges", type=Path, default=SHAPES_MERGES)
    ap.add_argument("--size", type=int, default=160)
    ap.add_argument("--word-len", type=int, default=17)
    ap.add_argument("--limit", type=int)
    ap.add_argument("--webp-quality", type=int, default=101, help="101: lossless; 1..100: lossy")
    args = ap.parse_args(argv)
    tokenizer = ClipBpe.from_file(args.merges)

    def progress(folder: Path, started: float, done: int, total: int) -> None:
        eta = (time.time() - started) / done * (total - done)
        print(f"packing {folder.name}: {done}/{total} targets, ETA {eta:.0f}s", file=sys.stderr)

    parts = []
    for folder in args.data:
        parts.append(load_tensors(folder, tokenizer, args.size, args.word_len, limit=args.limit,
                                  progress=lambda d, n, f=folder, t=time.time(): progress(f, t, d, n)))
    data = concat_tensors(parts)
    pack_tensors(data, args.out, args.webp_quality)
    print(f"{args.out}: {len(data.images)} images, {len(data.masks)} targets, "
          f"{args.out.stat().st_size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
