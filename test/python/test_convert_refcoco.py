"""convert_refcoco on a tiny handmade fixture in the layout of the reference's tools/data_process.py."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.tools.convert_refcoco import convert, main


def make_prepared(root: Path) -> None:
    (root / "coco" / "train2014").mkdir(parents=True)
    (root / "prep" / "anns" / "refcoco").mkdir(parents=True)
    (root / "prep" / "masks" / "refcoco").mkdir(parents=True)
    img = np.zeros((48, 64, 3), np.uint8)
    img[10:20, 5:25] = (0, 0, 255)
    cv2.imwrite(str(root / "coco/train2014/COCO_train2014_000000000009.jpg"), img)
    for seg, box in ((101, (5, 10, 25, 20)), (102, (30, 5, 60, 40))):
        mask = np.zeros((48, 64), np.uint8)
        mask[box[1]:box[3], box[0]:box[2]] = 255 if seg == 101 else 1  # the converter normalises to 0/255
        cv2.imwrite(str(root / f"prep/masks/refcoco/{seg}.png"), mask)
    anns = [
        {"bbox": [5, 10, 25, 20], "cat": 0, "segment_id": 101, "img_name": "COCO_train2014_000000000009.jpg",
         "sentences": [{"idx": 1, "sent_id": 7, "sent": "red thing "}, {"idx": 0, "sent_id": 6, "sent": "left box"}],
         "sentences_num": 2},
        {"bbox": [30, 5, 60, 40], "cat": 3, "segment_id": 102, "img_name": "COCO_train2014_000000000009.jpg",
         "sentences": [{"idx": 0, "sent_id": 8, "sent": "the big one on the right"}], "sentences_num": 1},
    ]
    (root / "prep/anns/refcoco/testA.json").write_text(json.dumps(anns))


def test_converts_refs_masks_and_images(tmp_path: Path) -> None:
    make_prepared(tmp_path)
    out = tmp_path / "out"
    summary = convert(tmp_path / "prep/anns/refcoco/testA.json", tmp_path / "prep/masks/refcoco",
                      tmp_path / "coco/train2014", out)
    assert summary == {"out": str(out), "targets": 2, "sentences": 3}
    refs = [json.loads(line) for line in (out / "refs.jsonl").read_text().splitlines()]
    assert refs[0] == {"id": "101", "image": "images/COCO_train2014_000000000009.jpg", "mask": "masks/101.png",
                       "sentences": ["left box", "red thing"]}
    assert refs[1]["sentences"] == ["the big one on the right"]
    for ref in refs:
        image = cv2.imread(str(out / ref["image"]))
        mask = cv2.imread(str(out / ref["mask"]), cv2.IMREAD_UNCHANGED)
        assert mask.ndim == 2 and mask.shape == image.shape[:2]
        assert set(np.unique(mask)) == {0, 255}
    assert int((cv2.imread(str(out / "masks/102.png"), cv2.IMREAD_GRAYSCALE) == 255).sum()) == 30 * 35


def test_copy_mode_and_cli(tmp_path: Path) -> None:
    make_prepared(tmp_path)
    out = tmp_path / "copied"
    assert main(["--anns", str(tmp_path / "prep/anns/refcoco/testA.json"), "--masks", str(tmp_path / "prep/masks/refcoco"),
                 "--images", str(tmp_path / "coco/train2014"), "--out", str(out), "--copy", "--limit", "1"]) == 0
    assert not (out / "images/COCO_train2014_000000000009.jpg").is_symlink()
    assert len((out / "refs.jsonl").read_text().splitlines()) == 1


def test_refuses_a_mask_of_another_size(tmp_path: Path) -> None:
    make_prepared(tmp_path)
    cv2.imwrite(str(tmp_path / "prep/masks/refcoco/102.png"), np.zeros((10, 10), np.uint8))
    with pytest.raises(ValueError, match="mask 10x10"):
        convert(tmp_path / "prep/anns/refcoco/testA.json", tmp_path / "prep/masks/refcoco",
                tmp_path / "coco/train2014", tmp_path / "out")
