"""Shared pytest fixtures: where the read-only shared data lives (golden files, CLIP vocabulary).

`../shared` beside the repository root, or $CRIS_SHARED_DIR. A test whose input is missing fails,
saying what is missing (never a silent skip: a machine without the folder must not pass).
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def shared_dir_path() -> Path:
    override = os.environ.get("CRIS_SHARED_DIR")
    return Path(override) if override else Path(__file__).resolve().parents[3] / "shared"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    path = shared_dir_path()
    if not path.is_dir():
        pytest.fail(f"shared data folder {path} is missing (set CRIS_SHARED_DIR)", pytrace=False)
    return path


@pytest.fixture(scope="session")
def official_mini_dir(shared_dir: Path) -> Path:
    path = shared_dir / "golden" / "official-mini"
    if not (path / "best_model.pth").is_file():
        pytest.fail(f"{path} has no best_model.pth", pytrace=False)
    return path


def required_file(path: Path) -> Path:
    """The path, or a failed test saying it is missing."""
    if not path.is_file():
        pytest.fail(f"{path} is missing", pytrace=False)
    return path


@pytest.fixture(scope="session")
def tokenizer_golden_path(shared_dir: Path) -> Path:
    return required_file(shared_dir / "golden" / "tokenizer-public.json")


@pytest.fixture(scope="session")
def clip_merges_path(shared_dir: Path) -> Path:
    return required_file(shared_dir / "clip-bpe" / "bpe_simple_vocab_16e6.txt.gz")
