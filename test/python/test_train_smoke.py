"""A 30-step training run of a tiny CRIS on 64 handmade samples: the loss falls, checkpoints resume."""
import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from models.tokenizer.learn_merges import learn_merges, write_merges
from models.train import train_shapes
from models.train.data import mirror_sentence

COLOURS = {"red": (230, 30, 30), "green": (30, 200, 40), "blue": (30, 60, 230)}


def make_dataset(folder: Path, targets: int = 64) -> list[str]:
    """Images with two shapes each; a target per shape, named by its colour and kind."""
    rng = np.random.default_rng(0)
    (folder / "images").mkdir(parents=True)
    (folder / "masks").mkdir()
    lines, sentences = [], []
    for i in range(targets // 2):
        w, h = int(rng.integers(64, 120)), int(rng.integers(64, 120))
        img = np.full((h, w, 3), 128, np.uint8)
        names = rng.choice(list(COLOURS), size=2, replace=False)
        shapes = ["circle", "square"]
        masks = []
        for j, (name, shape) in enumerate(zip(names, shapes)):
            m = np.zeros((h, w), np.uint8)
            cx, cy, r = int(w * (0.3 + 0.4 * j)), int(h * 0.5), int(min(w, h) * 0.15)
            if shape == "circle":
                cv2.circle(m, (cx, cy), r, 255, -1)
            else:
                cv2.rectangle(m, (cx - r, cy - r), (cx + r, cy + r), 255, -1)
            img[m > 0] = COLOURS[name]
            masks.append((name, shape, m))
        cv2.imwrite(str(folder / f"images/{i:06d}.png"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
        for j, (name, shape, m) in enumerate(masks):
            cv2.imwrite(str(folder / f"masks/{i:06d}_{j}.png"), m)
            sentence = f"the {name} {shape}"
            sentences.append(sentence)
            lines.append(json.dumps({"id": f"{i}-{j}", "image": f"images/{i:06d}.png",
                                     "mask": f"masks/{i:06d}_{j}.png", "sentences": [sentence],
                                     "kinds": ["attribute"]}))
    (folder / "refs.jsonl").write_text("\n".join(lines) + "\n")
    return sentences


TINY = ["--size", "64", "--vision-width", "8", "--embed-dim", "32", "--text-width", "64", "--text-layers", "1",
        "--fpn-out", "16,64,32", "--dec-layers", "1", "--dim-ffn", "64", "--batch", "8", "--lr", "3e-3",
        "--threads", "1", "--log-every", "5", "--val-min", "1000", "--ckpt-min", "1000", "--minutes", "1000"]


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def test_thirty_steps_lower_the_loss_and_resume(tmp_path: Path) -> None:
    torch.manual_seed(0)
    sentences = make_dataset(tmp_path / "data")
    merges = tmp_path / "merges.txt.gz"
    write_merges(merges, learn_merges(sentences))
    out = tmp_path / "run"
    common = ["--data", str(tmp_path / "data"), "--out", str(out), "--merges", str(merges), *TINY]
    assert train_shapes.main([*common, "--max-steps", "30"]) == 0
    losses = [r["loss"] for r in read_log(out / "log.jsonl") if r.get("event") == "train"]
    assert len(losses) == 6
    assert losses[-1] < 0.8 * losses[0], losses
    ckpt = torch.load(out / "last.pt", map_location="cpu", weights_only=False)
    assert ckpt["step"] == 30
    # resume: continues from step 30 to 35 with the stored configuration
    assert train_shapes.main([*common, "--max-steps", "35", "--resume"]) == 0
    assert torch.load(out / "last.pt", map_location="cpu", weights_only=False)["step"] == 35


@pytest.mark.parametrize("sentence,horizontal,expected", [
    ("the circle on the left", True, "the circle on the right"),
    ("Leftmost red star.", True, "rightmost red star."),
    ("the square left of the blue star", True, "the square right of the blue star"),
    ("the star at the top", False, "the star at the bottom"),
    ("the bottom one", False, "the topmost one"),
    ("the circle above the highest star.", False, "the circle below the lowest star."),
    ("the red circle", False, "the red circle"),
])
def test_mirrored_sentences(sentence: str, horizontal: bool, expected: str) -> None:
    assert mirror_sentence(sentence, horizontal) == expected
