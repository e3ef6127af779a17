"""Converts the CRIS reference's prepared RefCOCO/RefCOCO+/G-Ref data into our dataset format.

The reference's tools/data_process.py writes, per dataset and split:
    <prepared>/anns/<dataset>/<split>.json   [{"bbox", "cat", "segment_id", "img_name",
                                               "sentences": [{"idx", "sent_id", "sent"}], "sentences_num"}]
    <prepared>/masks/<dataset>/<segment_id>.png   single-channel, 255 inside the referred object
and the images are COCO's train2014 JPEGs (<coco>/train2014/<img_name>).

    python -m models.tools.convert_refcoco --anns PREP/anns/refcoco/testA.json \
        --masks PREP/masks/refcoco --images COCO/train2014 --out data/refcoco-testA [--copy] [--limit N]

Writes <out>/refs.jsonl (one line per referred object: id, image, mask, sentences), <out>/images/
(symlinks to the JPEGs, or copies with --copy) and <out>/masks/<segment_id>.png (0/255, re-encoded).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image


def convert(anns: Path, masks: Path, images: Path, out: Path, copy: bool = False, limit: int | None = None) -> dict:
    refs = json.loads(anns.read_text(encoding="utf-8"))
    if not isinstance(refs, list):
        raise ValueError(f"{anns}: expected a JSON list of refs (the reference's data_process.py output)")
    refs = refs[:limit] if limit else refs
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    lines, sentences, started = [], 0, time.time()
    for n, ref in enumerate(refs, 1):
        image_src = images / ref["img_name"]
        mask_src = masks / f"{ref['segment_id']}.png"
        mask = cv2.imread(str(mask_src), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(mask_src)
        with Image.open(image_src) as im:
            if im.size != (mask.shape[1], mask.shape[0]):
                raise ValueError(f"{mask_src}: mask {mask.shape[1]}x{mask.shape[0]} != image {im.size[0]}x{im.size[1]}")
        image_dst = out / "images" / ref["img_name"]
        if not image_dst.exists():
            if copy:
                shutil.copyfile(image_src, image_dst)
            else:
                os.symlink(image_src.resolve(), image_dst)
        cv2.imwrite(str(out / "masks" / f"{ref['segment_id']}.png"), np.where(mask > 0, 255, 0).astype(np.uint8))
        sents = [s["sent"].strip() for s in sorted(ref["sentences"], key=lambda s: s.get("idx", 0))]
        sentences += len(sents)
        lines.append(json.dumps({"id": str(ref["segment_id"]), "image": f"images/{ref['img_name']}",
                                 "mask": f"masks/{ref['segment_id']}.png", "sentences": sents}))
        if n % 500 == 0 or n == len(refs):
            rate = n / max(time.time() - started, 1e-6)
            print(f"{n}/{len(refs)} refs, ETA {(len(refs) - n) / rate:.0f}s", file=sys.stderr)
    (out / "refs.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return {"out": str(out), "targets": len(lines), "sentences": sentences}


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--anns", type=Path, required=True, help="<prepared>/anns/<dataset>/<split>.json")
    ap.add_argument("--masks", type=Path, required=True, help="<prepared>/masks/<dataset>")
    ap.add_argument("--images", type=Path, required=True, help="COCO train2014 folder")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--copy", action="store_true", help="copy images instead of symlinking them")
    ap.add_argument("--limit", type=int)
    args = ap.parse_args(argv)
    print(json.dumps(convert(args.anns, args.masks, args.images, args.out, args.copy, args.limit)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
