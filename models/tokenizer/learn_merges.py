"""Learns CLIP-format BPE merges from the sentences of referring-shapes datasets.

    python -m models.tokenizer.learn_merges --data data/shapes/train-s1001 --out models/tokenizer/shapes_merges.txt.gz

Same pre-tokenisation as CLIP (clean, lower, split, byte symbols, '</w>' at word ends); then the
most frequent adjacent pair is merged until no pair occurs twice (ties: lexicographic), skipping
pairs whose result is already a vocabulary entry. Prints merges_used and vocab_size.
"""
from __future__ import annotations

import argparse
import gzip
import json
from collections import Counter
from pathlib import Path

from .clip_bpe import bytes_to_unicode, merge_pair, pre_tokens

HEADER = "#version: 0.2 referring-shapes merges, learned by models/tokenizer/learn_merges.py"


def learn_merges(sentences: list[str], max_merges: int = 10000, min_count: int = 2) -> list[tuple[str, str]]:
    words = Counter(token for s in sentences for token in pre_tokens(s))
    splits = {w: tuple(w[:-1]) + (w[-1] + "</w>",) for w in words}
    known = set(bytes_to_unicode().values()) | {s + "</w>" for s in bytes_to_unicode().values()}
    merges: list[tuple[str, str]] = []
    while len(merges) < max_merges:
        pairs: Counter = Counter()
        for w, symbols in splits.items():
            for a, b in zip(symbols, symbols[1:]):
                pairs[(a, b)] += words[w]
        ranked = sorted(((c, p) for p, c in pairs.items() if c >= min_count and "".join(p) not in known),
                        key=lambda cp: (-cp[0], cp[1]))
        if not ranked:
            break
        best = ranked[0][1]
        merges.append(best)
        known.add("".join(best))
        for w, symbols in splits.items():
            splits[w] = tuple(merge_pair(symbols, best))
    return merges


def write_merges(path: Path, merges: list[tuple[str, str]]) -> None:
    text = "\n".join([HEADER] + [f"{a} {b}" for a, b in merges]) + "\n"
    path.write_bytes(gzip.compress(text.encode("utf-8"), mtime=0))


def dataset_sentences(folder: Path) -> list[str]:
    with open(folder / "refs.jsonl", encoding="utf-8") as f:
        return [s for line in f if line.strip() for s in json.loads(line)["sentences"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", action="append", required=True, help="dataset folder (repeatable)")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    sentences = [s for d in args.data for s in dataset_sentences(Path(d))]
    merges = learn_merges(sentences)
    write_merges(Path(args.out), merges)
    print(json.dumps({"sentences": len(sentences), "merges_used": len(merges),
                      "vocab_size": 512 + len(merges) + 2, "out": args.out}))


if __name__ == "__main__":
    main()
