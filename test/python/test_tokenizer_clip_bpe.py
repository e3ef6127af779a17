"""Our CLIP BPE tokenizer against the official tokenizer's ids (golden), and the learned shapes merges."""
import json
from pathlib import Path

import numpy as np
import pytest

from models.tokenizer.clip_bpe import ClipBpe, read_merges
from models.tokenizer.learn_merges import learn_merges, write_merges

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def clip_tokenizer(clip_merges_path: Path) -> ClipBpe:
    return ClipBpe.from_file(clip_merges_path, merges_used=48894)


def test_vocabulary_layout_matches_clip(clip_tokenizer: ClipBpe) -> None:
    assert clip_tokenizer.vocab_size == 49408
    assert clip_tokenizer.sot_id == 49406
    assert clip_tokenizer.eot_id == 49407


def test_matches_official_ids_at_17_and_77(clip_tokenizer: ClipBpe, tokenizer_golden_path: Path) -> None:
    cases = json.loads(tokenizer_golden_path.read_text())["sentences"]
    assert len(cases) >= 10
    for case in cases:
        assert clip_tokenizer.encode(case["sentence"]) == case["bpe"], case["sentence"]
        assert clip_tokenizer.tokenize(case["sentence"], 17)[0].tolist() == case["ids_17"], case["sentence"]
        assert clip_tokenizer.tokenize(case["sentence"], 77)[0].tolist() == case["ids_77"], case["sentence"]


def test_truncation_keeps_eot_last(clip_tokenizer: ClipBpe) -> None:
    ids = clip_tokenizer.tokenize("a " * 40, 17)[0]
    assert ids[0] == 49406 and ids[-1] == 49407 and (ids != 0).all()


def test_learned_merges_make_every_word_one_token(tmp_path: Path) -> None:
    sentences = ["the red circle", "The small blue star left of the green hexagon.", "the red circle"] * 3
    merges = learn_merges(sentences)
    path = tmp_path / "m.txt.gz"
    write_merges(path, merges)
    assert read_merges(path) == merges
    tok = ClipBpe.from_file(path)
    assert tok.vocab_size == 512 + len(merges) + 2
    assert tok.eot_id == tok.vocab_size - 1
    ids = tok.tokenize("the small blue star left of the green hexagon.", 17)[0]
    # SOT + 10 word/punctuation tokens + EOT: each word became one token
    assert int((ids != 0).sum()) == 12
    assert write_merges(tmp_path / "again.txt.gz", learn_merges(sentences)) is None
    assert (tmp_path / "again.txt.gz").read_bytes() == path.read_bytes()


def test_shipped_shapes_merges_cover_the_grammar() -> None:
    path = ROOT / "models" / "tokenizer" / "shapes_merges.txt.gz"
    assert path.is_file(), f"{path} is missing: the shipped bundle's merges (learn_merges.py makes them)"
    tok = ClipBpe.from_file(path)
    words = ("the small little big large largest biggest smallest leftmost rightmost topmost highest lowest "
             "bottom red orange yellow green blue purple pink circle square triangle star hexagon shape "
             "object one on left right at top of above below").split()
    for word in words:
        assert len(tok.encode(word)) == 1, word
    assert np.array_equal(tok.tokenize("The red circle.", 17), tok.tokenize("the red circle .", 17))
