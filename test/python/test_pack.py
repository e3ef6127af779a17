"""A packed dataset (models/train/pack.py) loads back to the same training tensors, and trains."""
import json
from pathlib import Path

import torch

from models.tokenizer.learn_merges import learn_merges, write_merges
from models.tokenizer.clip_bpe import ClipBpe
from models.train import train_shapes
from models.train.data import load_tensors
from models.train.pack import load_packed, pack_tensors

from test_train_smoke import TINY, make_dataset


def test_packed_tensors_equal_the_folder_tensors_and_train(tmp_path: Path) -> None:
    sentences = make_dataset(tmp_path / "data", targets=16)
    merges = tmp_path / "merges.txt.gz"
    write_merges(merges, learn_merges(sentences))
    tensors = load_tensors(tmp_path / "data", ClipBpe.from_file(merges), 64, 17)
    pack_tensors(tensors, tmp_path / "pack.npz")
    packed = load_packed(tmp_path / "pack.npz")
    assert torch.equal(packed.images, tensors.images)  # lossless
    assert (packed.masks.float() - tensors.masks.float()).abs().max() <= 1 / 255
    for name in ("target_image", "sample_target", "tokens"):
        assert torch.equal(getattr(packed, name), getattr(tensors, name)), name
    assert packed.kinds == tensors.kinds and packed.sentences == tensors.sentences

    out = tmp_path / "run"
    args = ["--data", str(tmp_path / "pack.npz"), "--out", str(out), "--merges", str(merges), *TINY]
    assert train_shapes.main([*args, "--max-steps", "5", "--device", "cpu"]) == 0
    assert json.loads((out / "log.jsonl").read_text().splitlines()[-1])["step"] == 5
