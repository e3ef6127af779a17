"""The CLIP BPE merges file: validation against the token embedding, and its copy into a bundle."""
from __future__ import annotations

import gzip
import shutil
from pathlib import Path

BYTE_TOKENS = 512        # 256 byte symbols, each also with the end-of-word marker
SPECIAL_TOKENS = 2       # <|startoftext|>, <|endoftext|>
BUNDLE_MERGES_FILE = "bpe_merges.txt.gz"


class VocabError(ValueError):
    """A merges file that is missing, unreadable or does not fit the model's vocabulary."""


def merges_used(vocab_size: int) -> int:
    """Merges a CLIP vocabulary of vocab_size ids takes from the file (CLIP: 49408 -> 48894)."""
    return vocab_size - BYTE_TOKENS - SPECIAL_TOKENS


def read_merge_lines(path: Path) -> list[str]:
    """All lines of a gzip or plain-text merges file (header included)."""
    if not path.is_file():
        raise VocabError(f"vocabulary file '{path}' does not exist; pass CLIP's bpe_simple_vocab_16e6.txt.gz")
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as error:
            raise VocabError(f"vocabulary file '{path}' is a damaged gzip file ({error}); "
                             "pass CLIP's bpe_simple_vocab_16e6.txt.gz") from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise VocabError(f"vocabulary file '{path}' is not UTF-8 text; "
                         "pass CLIP's merges file (bpe_simple_vocab_16e6.txt.gz)") from error
    return text.split("\n")


def check_merges(path: Path, vocab_size: int) -> int:
    """Validates the file for a vocabulary of vocab_size ids; returns merges_used."""
    needed = merges_used(vocab_size)
    if needed < 0:
        raise VocabError(f"token embedding has {vocab_size} rows, fewer than CLIP's {BYTE_TOKENS + SPECIAL_TOKENS} "
                         "byte and special tokens; this is not a CLIP text encoder")
    lines = read_merge_lines(path)
    merges = [line for line in lines[1:1 + needed] if line]
    bad = next((line for line in merges if len(line.split(" ")) != 2), None)
    if bad is not None:
        raise VocabError(f"vocabulary file '{path}' is not in CLIP merges format (a header line, then 'a b' "
                         f"per line; found {bad[:40]!r}); pass CLIP's bpe_simple_vocab_16e6.txt.gz")
    if len(merges) < needed:
        raise VocabError(f"mismatched vocabulary size: the model's token embedding has {vocab_size} rows, needing "
                         f"{needed} merges, but '{path}' has {len(merges)}; pass the merges file the model was "
                         "trained with (CLIP's bpe_simple_vocab_16e6.txt.gz)")
    return needed


def copy_merges(path: Path, out_dir: Path) -> Path:
    """Copies the file into the bundle as bpe_merges.txt.gz, gzipping plain text (reproducibly)."""
    target = out_dir / BUNDLE_MERGES_FILE
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        shutil.copyfile(path, target)
    else:
        target.write_bytes(gzip.compress(raw, mtime=0))
    return target
