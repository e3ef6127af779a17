"""train_presence: a presence head learnt on a frozen network; every other weight stays the start's."""
import json
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from models.tokenizer.learn_merges import learn_merges, write_merges
from models.train import train_presence, train_shapes
from test_train_smoke import TINY, make_dataset, read_log


def add_no_target_records(folder: Path) -> list[str]:
    """One phrase per image naming a shape that is not there (an empty mask), as v2 records it."""
    refs = [json.loads(line) for line in (folder / "refs.jsonl").read_text().splitlines()]
    lines, sentences = [], []
    for image in sorted({r["image"] for r in refs}):
        h, w = cv2.imread(str(folder / image)).shape[:2]
        mask = f"masks/{Path(image).stem}_none.png"
        cv2.imwrite(str(folder / mask), np.zeros((h, w), np.uint8))
        sentences.append("the yellow triangle")
        lines.append(json.dumps({"id": f"{Path(image).stem}-none", "image": image, "mask": mask, "targets": 0,
                                 "sentences": ["the yellow triangle"], "kinds": ["no-target"]}))
    with open(folder / "refs.jsonl", "a") as f:
        f.write("\n".join(lines) + "\n")
    return sentences


def test_fold_standardisation_keeps_the_function() -> None:
    torch.manual_seed(0)
    head = nn.Sequential(nn.Linear(5, 4), nn.ReLU(), nn.Linear(4, 1))
    x = torch.randn(32, 5) * 7 + 3
    mean, scale = x.mean(0), x.std(0)
    expected = head((x - mean) / scale)
    train_presence.fold_standardisation(head, mean, scale)
    assert torch.allclose(head(x), expected, atol=1e-5)


def test_presence_head_learns_on_a_frozen_network(tmp_path: Path) -> None:
    torch.manual_seed(0)
    data = tmp_path / "data"
    sentences = make_dataset(data, targets=32) + add_no_target_records(data)
    merges = tmp_path / "merges.txt.gz"
    write_merges(merges, learn_merges(sentences))
    start = tmp_path / "start"
    assert train_shapes.main(["--data", str(data), "--out", str(start), "--merges", str(merges), *TINY,
                              "--max-steps", "5"]) == 0
    out = tmp_path / "presence"
    assert train_presence.main(["--init", str(start / "last.pt"), "--data", str(data), "--val", str(data),
                                "--out", str(out), "--epochs", "40", "--batch", "16", "--threads", "1"]) == 0
    log = read_log(out / "log.jsonl")
    assert log[-1]["loss"] < 0.5 * log[0]["loss"], log
    assert log[-1]["val_N-acc"] == 1.0 and log[-1]["val_T-acc"] == 1.0, log[-1]  # "yellow triangle" is easy
    before = torch.load(start / "last.pt", map_location="cpu", weights_only=False)
    after = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert after["config"]["presence"] is True
    assert any(k.startswith("presence.") for k in after["model"])
    for key, value in before["model"].items():
        assert torch.equal(after["model"][key], value), key
