"""CLIP's byte-level BPE tokenizer (as openai/CLIP simple_tokenizer + CRIS's tokenize), over any
CLIP-format merges file: header line, then "a b" merge lines; the first `merges_used` are taken.

    tok = ClipBpe.from_file("bpe_merges.txt.gz", merges_used=48894)
    ids = tok.tokenize(["the red circle"], word_len=17)   # [N, L] int64: SOT .. EOT, 0-padded

Vocabulary order: 256 byte symbols, the same 256 + '</w>', one entry per merge, SOT, EOT.
"""
from __future__ import annotations

import gzip
import html
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import ftfy
import numpy as np
import regex as re

SOT = "<|startoftext|>"
EOT = "<|endoftext|>"
SPLIT_PATTERN = re.compile(
    r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
    re.IGNORECASE,
)


@lru_cache()
def bytes_to_unicode() -> dict[int, str]:
    """CLIP's reversible byte -> printable unicode character table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def clean_text(text: str) -> str:
    """ftfy fix, HTML unescape (twice), whitespace collapse, lower case."""
    text = ftfy.fix_text(text)
    text = html.unescape(html.unescape(text)).strip()
    return re.sub(r"\s+", " ", text).strip().lower()


def pre_tokens(text: str) -> list[str]:
    """Cleaned text split by CLIP's pattern, each piece mapped to byte symbols."""
    encoder = bytes_to_unicode()
    return ["".join(encoder[b] for b in piece.encode("utf-8")) for piece in SPLIT_PATTERN.findall(clean_text(text))]


def read_merges(path: str | Path, merges_used: int | None = None) -> list[tuple[str, str]]:
    """Merge pairs after the header line; the first `merges_used` (all when None)."""
    raw = Path(path).read_bytes()
    text = gzip.decompress(raw).decode("utf-8") if raw[:2] == b"\x1f\x8b" else raw.decode("utf-8")
    lines = text.split("\n")[1:]
    lines = lines[:merges_used] if merges_used is not None else [line for line in lines if line]
    pairs = [tuple(line.split()) for line in lines]
    if any(len(p) != 2 for p in pairs):
        raise ValueError(f"{path}: every merge line must be two symbols")
    return pairs  # type: ignore[return-value]


def merge_pair(symbols: Sequence[str], pair: tuple[str, str]) -> list[str]:
    """Every left-to-right occurrence of `pair` in `symbols` joined into one symbol."""
    merged: list[str] = []
    i = 0
    while i < len(symbols):
        if i < len(symbols) - 1 and (symbols[i], symbols[i + 1]) == pair:
            merged.append(symbols[i] + symbols[i + 1])
            i += 2
        else:
            merged.append(symbols[i])
            i += 1
    return merged


class ClipBpe:
    def __init__(self, merges: list[tuple[str, str]]):
        symbols = list(bytes_to_unicode().values())
        vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m) for m in merges] + [SOT, EOT]
        self.encoder = {token: i for i, token in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.vocab_size = len(vocab)
        self.sot_id = self.encoder[SOT]
        self.eot_id = self.encoder[EOT]
        self._cache: dict[str, str] = {}

    @staticmethod
    def from_file(path: str | Path, merges_used: int | None = None) -> "ClipBpe":
        return ClipBpe(read_merges(path, merges_used))

    def bpe(self, token: str) -> list[str]:
        """One pre-token (byte symbols) -> BPE pieces, the last ending in '</w>'."""
        if token in self._cache:
            return self._cache[token].split(" ")
        word = list(token[:-1]) + [token[-1] + "</w>"]
        while len(word) > 1:
            pairs = {(word[i], word[i + 1]) for i in range(len(word) - 1)}
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            word = merge_pair(word, best)
        self._cache[token] = " ".join(word)
        return word

    def encode(self, text: str) -> list[int]:
        """Token ids of a text, without SOT/EOT."""
        return [self.encoder[piece] for token in pre_tokens(text) for piece in self.bpe(token)]

    def tokenize(self, texts: list[str] | str, word_len: int) -> np.ndarray:
        """[N, word_len] int64: SOT + ids + EOT, zero-padded; too long: truncated, EOT kept last."""
        texts = [texts] if isinstance(texts, str) else texts
        out = np.zeros((len(texts), word_len), dtype=np.int64)
        for row, text in enumerate(texts):
            ids = [self.sot_id] + self.encode(text) + [self.eot_id]
            if len(ids) > word_len:
                ids = ids[:word_len]
                ids[-1] = self.eot_id
            out[row, : len(ids)] = ids
        return out
