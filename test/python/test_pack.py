"""A packed dataset (models/train/pack.py) loads back to the same training tensors, and trains."""
import json
from pathlib import Path

import torch

from models.tokenizer.learn_merges import learn_merges, write_merges
from models.tokenizer.clip_bpe import ClipBpe
from models.train import train_shapes
from models.train.data import concat_tensors, load_tensors
from models.train.export_shapes import used_part
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

    # --init: a new run from those weights, whose config wins over the width flags.
    again = tmp_path / "again"
    args = ["--data", str(tmp_path / "pack.npz"), "--out", str(again), "--merges", str(merges), *TINY]
    assert train_shapes.main([*args, "--init", str(out / "last.pt"), "--text-width", "96", "--max-steps", "2",
                              "--device", "cpu"]) == 0
    first, second = (json.loads((run / "log.jsonl").read_text().splitlines()[0]) for run in (out, again))
    assert second["init_step"] == 5 and second["config"] == first["config"]
    assert torch.load(again / "last.pt", weights_only=False)["init_from"]["step"] == 5

    # A float16 copy of the weights (what travels to the GPU machine) starts a float32 run.
    half = torch.load(out / "last.pt", weights_only=False)
    half["model"] = {k: v.half() if v.is_floating_point() else v for k, v in half["model"].items()}
    torch.save(half, tmp_path / "half.pt")
    from_half = tmp_path / "from-half"
    args = ["--data", str(tmp_path / "pack.npz"), "--out", str(from_half), "--merges", str(merges), *TINY]
    assert train_shapes.main([*args, "--init", str(tmp_path / "half.pt"), "--lr", "1e-9", "--max-steps", "1",
                              "--device", "cpu"]) == 0
    original = torch.load(out / "last.pt", weights_only=False)["model"]
    for name, value in torch.load(from_half / "last.pt", weights_only=False)["model"].items():
        assert value.dtype == original[name].dtype, name
        if value.is_floating_point() and "running_" not in name:  # batch-norm statistics move with any step
            assert torch.allclose(value, original[name], rtol=1e-3, atol=1e-3), name


def test_several_datasets_pack_into_one_file_with_lossy_images(tmp_path: Path) -> None:
    first, second = make_dataset(tmp_path / "a", targets=6), make_dataset(tmp_path / "b", targets=10)
    merges = tmp_path / "merges.txt.gz"
    write_merges(merges, learn_merges(first + second))
    tokenizer = ClipBpe.from_file(merges)
    a, b = (load_tensors(tmp_path / name, tokenizer, 64, 17) for name in ("a", "b"))
    pack_tensors(concat_tensors([a, b]), tmp_path / "pack.npz", webp_quality=90)
    packed = load_packed(tmp_path / "pack.npz")
    assert len(packed.images) == len(a.images) + len(b.images) and len(packed.masks) == 16
    error = (packed.images.float() - torch.cat([a.images, b.images]).float()).abs().mean()
    assert 0 < error < 4  # lossy, but close
    # Every sample of the second dataset still points at its own target and image.
    rows = packed.sample_target[len(a.sample_target):]
    assert torch.equal(rows - len(a.masks), b.sample_target)
    assert torch.equal(packed.target_image[rows] - len(a.images), b.target_image[b.sample_target])
    assert (packed.masks[rows].float() - b.masks[b.sample_target].float()).abs().max() <= 1 / 255


def test_the_manifest_says_when_part_of_a_dataset_was_trained_on() -> None:
    meta = {"seed": 1101, "targets": 37500}
    assert used_part(meta, 32000) == {"seed": 1101, "targets": 37500, "targets_used": 32000}
    assert used_part(meta, None) == meta and used_part(meta, 37500) == meta
