"""The TypeScript ftfy port's tables and the 200 hard cases are what their scripts make from the real
ftfy now: a new ftfy (or an edited table) shows here, not as a silent drift between tiers."""
import json
from pathlib import Path

import ftfy

from models.tokenizer import make_ftfy_cases, make_ftfy_tables
from models.tokenizer.clip_bpe import ClipBpe, clean_text


def test_committed_tables_are_what_the_generator_writes() -> None:
    assert make_ftfy_tables.OUT.read_text() == make_ftfy_tables.render()


def test_committed_cases_are_the_real_ftfy_and_tokenizer_outputs(clip_merges_path: Path) -> None:
    fixture = json.loads(make_ftfy_cases.OUT.read_text())
    assert fixture["meta"]["ftfy"] == ftfy.__version__
    tokenizer = ClipBpe.from_file(clip_merges_path, merges_used=make_ftfy_cases.CLIP_MERGES_USED)
    cases = make_ftfy_cases.hard_cases()
    assert [c["text"] for c in fixture["cases"]] == [c["text"] for c in cases]
    for case in fixture["cases"]:
        assert case["ftfy"] == ftfy.fix_text(case["text"]), case["text"]
        assert case["cleaned"] == clean_text(case["text"]), case["text"]
        assert case["ids_17"] == tokenizer.tokenize(case["text"], 17)[0].tolist(), case["text"]
        assert case["ids_77"] == tokenizer.tokenize(case["text"], 77)[0].tolist(), case["text"]
