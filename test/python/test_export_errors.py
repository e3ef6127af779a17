"""Bad input to the exporter ends with one line on stderr that says what to do, and exit status 2."""
from __future__ import annotations

import gzip
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "models" / "export" / "export_onnx.py"


def run_export(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("export:onnx: error: ")
    for fragment in fragments:
        assert fragment in lines[0]


def test_missing_checkpoint(tmp_path: Path, clip_merges_path: Path) -> None:
    result = run_export("--checkpoint", "nope.pth", "--vocab", str(clip_merges_path), "--out", "b", cwd=tmp_path)
    assert_one_line_error(result, "nope.pth' does not exist", "pass the best_model.pth")
    assert not (tmp_path / "b").exists()


def test_checkpoint_that_is_not_a_torch_file(tmp_path: Path, clip_merges_path: Path) -> None:
    (tmp_path / "model.pth").write_text("hello")
    result = run_export("--checkpoint", "model.pth", "--vocab", str(clip_merges_path), "--out", "b", cwd=tmp_path)
    assert_one_line_error(result, "not a readable PyTorch file")


def test_checkpoint_without_state_dict(tmp_path: Path, clip_merges_path: Path) -> None:
    torch.save({"epoch": 3, "state_dict": [1, 2]}, tmp_path / "model.pth")
    result = run_export("--checkpoint", "model.pth", "--vocab", str(clip_merges_path), "--out", "b", cwd=tmp_path)
    assert_one_line_error(result, "no state_dict of tensors")


def test_checkpoint_with_missing_keys(tmp_path: Path, official_mini_dir: Path, clip_merges_path: Path) -> None:
    checkpoint = torch.load(official_mini_dir / "best_model.pth", map_location="cpu", weights_only=True)
    del checkpoint["state_dict"]["module.proj.txt.bias"]
    torch.save(checkpoint, tmp_path / "broken.pth")
    result = run_export("--checkpoint", "broken.pth", "--vocab", str(clip_merges_path), "--out", "b",
                        "--num-head", "2", cwd=tmp_path)
    assert_one_line_error(result, "1 missing keys: proj.txt.bias")


def test_missing_vocabulary(tmp_path: Path, official_mini_dir: Path) -> None:
    result = run_export("--checkpoint", str(official_mini_dir / "best_model.pth"), "--vocab", "vocab.txt.gz",
                        "--out", "b", "--num-head", "2", cwd=tmp_path)
    assert_one_line_error(result, "vocab.txt.gz' does not exist", "bpe_simple_vocab_16e6.txt.gz")


def test_vocabulary_in_wrong_format(tmp_path: Path, official_mini_dir: Path) -> None:
    (tmp_path / "vocab.json").write_text('{\n"a": 1,\n"b": 2\n}\n')
    result = run_export("--checkpoint", str(official_mini_dir / "best_model.pth"), "--vocab", "vocab.json",
                        "--out", "b", "--num-head", "2", cwd=tmp_path)
    assert_one_line_error(result, "not in CLIP merges format")


def test_vocabulary_smaller_than_token_embedding(tmp_path: Path, official_mini_dir: Path,
                                                 clip_merges_path: Path) -> None:
    lines = gzip.decompress(clip_merges_path.read_bytes()).decode("utf-8").split("\n")
    (tmp_path / "short.txt").write_text("\n".join(lines[:20001]))  # header + 20000 merges
    result = run_export("--checkpoint", str(official_mini_dir / "best_model.pth"), "--vocab", "short.txt",
                        "--out", "b", "--num-head", "2", cwd=tmp_path)
    assert_one_line_error(result, "mismatched vocabulary size", "49408 rows", "48894 merges", "has 20000")


@pytest.mark.parametrize("args,fragment", [
    (["--vocab", "v", "--out", "b"], "one of the arguments --checkpoint --random-init is required"),
    (["--random-init", "small", "--vocab", "v", "--out", "b", "--fp16", "--int8"], "not allowed with argument"),
])
def test_bad_arguments(tmp_path: Path, args: list[str], fragment: str) -> None:
    result = run_export(*args, cwd=tmp_path)
    assert_one_line_error(result, fragment, "--help")
