"""Referring-shapes (or any dataset in our refs.jsonl format) as in-memory training tensors.

Preprocessing is the service's, byte for byte (models/imaging, a numpy port of
gpu-service/src/imaging; test/python/test_letterbox_parity.py): letterbox to S x S keeping the
aspect ratio (scale = min(S/h, S/w), centred, the reference's matrix), OpenCV 4.6's fixed-point
bicubic warp, border = CLIP mean * 255, then RGB / 255, minus mean, over std. Images are decoded
as the service decodes them (EXIF orientation applied, grey and alpha to RGB, 16-bit >> 8) and
cached letterboxed as uint8 [N,S,S,3]; target masks as soft masks at the output stride
[T,S/4,S/4] (area average of the letterboxed mask).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps

from models.imaging import letterbox_matrix, letterbox_rgb, warp_affine_nearest_u8
from models.tokenizer.clip_bpe import ClipBpe

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
PAD_RGB = tuple(m * 255 for m in CLIP_MEAN)


def letterbox_image(rgb: np.ndarray, size: int) -> np.ndarray:
    """[H,W,3] uint8 -> [S,S,3] uint8, bicubic, border = CLIP mean colour (the service's letterbox)."""
    return letterbox_rgb(rgb, size, PAD_RGB)


def soft_mask(mask: np.ndarray, size: int, stride: int) -> np.ndarray:
    """[H,W] 0/255 -> [S/stride, S/stride] float32 in [0,1]: letterboxed (nearest), then area-averaged."""
    boxed = warp_affine_nearest_u8(mask, letterbox_matrix(mask.shape[1], mask.shape[0], size), size, size)
    cells = boxed.astype(np.float32).reshape(size // stride, stride, size // stride, stride) / 255.0
    return cells.mean(axis=(1, 3), dtype=np.float32)


def normalise(images_u8: torch.Tensor) -> torch.Tensor:
    """[B,S,S,3] uint8 -> [B,3,S,S] float32, CLIP-normalised."""
    x = images_u8.permute(0, 3, 1, 2).float().div_(255.0)  # [B,3,S,S]
    mean = torch.tensor(CLIP_MEAN, device=x.device).view(1, 3, 1, 1)
    std = torch.tensor(CLIP_STD, device=x.device).view(1, 3, 1, 1)
    return (x - mean) / std


def read_rgb(path: Path) -> np.ndarray:
    """[H,W,3] uint8 as the service decodes an upload (gpu-service/src/imaging/decode.ts)."""
    with Image.open(path) as image:
        image = ImageOps.exif_transpose(image)
        if image.mode.startswith("I"):  # 16-bit grey: the high byte, as cv2 and the service do
            grey = (np.asarray(image).astype(np.uint32) >> 8).astype(np.uint8)
            return np.repeat(grey[:, :, None], 3, axis=2)
        return np.asarray(image.convert("RGB"))


def read_mask(path: Path) -> np.ndarray:
    """[H,W] uint8 of a single-channel mask PNG."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L"))


def read_refs(folder: Path, limit: int | None = None) -> list[dict]:
    with open(folder / "refs.jsonl", encoding="utf-8") as f:
        refs = [json.loads(line) for line in f if line.strip()]
    return refs[:limit] if limit else refs


# Mirror maps: a flipped scene keeps its expressions valid when these words swap.
_H_SWAP = {"left": "right", "right": "left", "leftmost": "rightmost", "rightmost": "leftmost"}
_V_SWAP_PHRASES = {"at the top": "at the bottom", "at the bottom": "at the top"}
_V_SWAP = {"topmost": "lowest", "highest": "lowest", "lowest": "highest", "bottom": "topmost",
           "above": "below", "below": "above"}


def mirror_sentence(sentence: str, horizontal: bool) -> str:
    """The sentence that describes the same target in the mirrored scene (lower case)."""
    text = sentence.lower()
    stop = "." if text.endswith(".") else ""
    text = text[: len(text) - len(stop)]
    if horizontal:
        return " ".join(_H_SWAP.get(w, w) for w in text.split(" ")) + stop
    placeholder = {}
    for i, (a, b) in enumerate(_V_SWAP_PHRASES.items()):
        key = f"\x00{i}\x00"
        text = re.sub(rf"\b{a}\b", key, text)
        placeholder[key] = b
    text = " ".join(_V_SWAP.get(w, w) for w in text.split(" "))
    for key, value in placeholder.items():
        text = text.replace(key, value)
    return text + stop


@dataclass
class ShapesTensors:
    """Everything training needs, in memory."""
    images: torch.Tensor        # [N,S,S,3] uint8, letterboxed
    masks: torch.Tensor         # [T,S/4,S/4] float16 soft masks
    target_image: torch.Tensor  # [T] int64 image row of each target
    sample_target: torch.Tensor  # [M] int64 target of each (target, sentence) sample
    tokens: torch.Tensor        # [M,3,L] int64: sentence, horizontally mirrored, vertically mirrored
    kinds: list[str]            # [M]
    sentences: list[str]        # [M]

    def to(self, device: torch.device) -> "ShapesTensors":
        move = {k: getattr(self, k).to(device) for k in ("images", "masks", "target_image", "sample_target", "tokens")}
        return ShapesTensors(**move, kinds=self.kinds, sentences=self.sentences)


def concat_tensors(parts: list[ShapesTensors]) -> ShapesTensors:
    """Several datasets' tensors as one, image and target indices shifted to match."""
    image_base = np.cumsum([0] + [len(p.images) for p in parts])
    target_base = np.cumsum([0] + [len(p.masks) for p in parts])
    return ShapesTensors(
        images=torch.cat([p.images for p in parts]), masks=torch.cat([p.masks for p in parts]),
        target_image=torch.cat([p.target_image + int(b) for p, b in zip(parts, image_base)]),
        sample_target=torch.cat([p.sample_target + int(b) for p, b in zip(parts, target_base)]),
        tokens=torch.cat([p.tokens for p in parts]),
        kinds=[k for p in parts for k in p.kinds], sentences=[x for p in parts for x in p.sentences])


def load_tensors(folder: Path, tokenizer: ClipBpe, size: int, word_len: int, stride: int = 4,
                 limit: int | None = None, progress=None) -> ShapesTensors:
    refs = read_refs(folder, limit)
    image_rows: dict[str, int] = {}
    images: list[np.ndarray] = []
    masks, target_image, sample_target, kinds, sentences, variants = [], [], [], [], [], []
    for t, ref in enumerate(refs):
        if ref["image"] not in image_rows:
            image_rows[ref["image"]] = len(images)
            images.append(letterbox_image(read_rgb(folder / ref["image"]), size))
        masks.append(soft_mask(read_mask(folder / ref["mask"]), size, stride))
        target_image.append(image_rows[ref["image"]])
        ref_kinds = ref.get("kinds") or ["unknown"] * len(ref["sentences"])
        for sentence, kind in zip(ref["sentences"], ref_kinds):
            sample_target.append(t)
            kinds.append(kind)
            sentences.append(sentence)
            variants.extend([sentence, mirror_sentence(sentence, True), mirror_sentence(sentence, False)])
        if progress and (t + 1) % 500 == 0:
            progress(t + 1, len(refs))
    tokens = torch.from_numpy(tokenizer.tokenize(variants, word_len)).view(-1, 3, word_len)  # [M,3,L]
    return ShapesTensors(
        images=torch.from_numpy(np.stack(images)),
        masks=torch.from_numpy(np.stack(masks)).half(),
        target_image=torch.tensor(target_image, dtype=torch.long),
        sample_target=torch.tensor(sample_target, dtype=torch.long),
        tokens=tokens,
        kinds=kinds,
        sentences=sentences,
    )


def make_batch(data: ShapesTensors, rows: torch.Tensor, generator: torch.Generator | None = None,
               augment: bool = True) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """rows [B] sample indices -> images [B,3,S,S] float, tokens [B,L], masks [B,1,S/4,S/4] float.

    With augment, each row is mirrored left-right or top-bottom (or not), words swapped to match.
    Runs where the data tensors live (see ShapesTensors.to); generator is a CPU generator."""
    device = data.images.device
    rows = rows.to(device)
    targets = data.sample_target[rows]  # [B]
    images = data.images[data.target_image[targets]]  # [B,S,S,3] uint8
    masks = data.masks[targets].float()  # [B,S/4,S/4]
    variant = torch.zeros(len(rows), dtype=torch.long, device=device)
    if augment:
        variant = torch.randint(0, 3, (len(rows),), generator=generator).to(device)
        h, v = variant == 1, variant == 2
        images = images.clone()
        images[h] = images[h].flip(2)
        images[v] = images[v].flip(1)
        masks[h] = masks[h].flip(2)
        masks[v] = masks[v].flip(1)
    tokens = data.tokens[rows, variant]  # [B,L]
    return normalise(images), tokens, masks[:, None]
