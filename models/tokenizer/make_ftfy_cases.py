"""Writes test/fixtures/ftfy-cases.json: 200 hard phrases for the text clean-up, each with what the
real ftfy (installed version, default options) makes of it and the CLIP token ids of the
reference-equivalent tokenizer (models/tokenizer/clip_bpe.py: ftfy.fix_text, html.unescape twice,
whitespace clean, lower case, CLIP BPE; it matches the official tokenizer on the public golden list).

    models/.venv/bin/python models/tokenizer/make_ftfy_cases.py [--shared ../shared]

Kinds: mojibake (UTF-8 read as Latin-1, Windows-1252/1250/1251/1253, MacRoman, cp437, twice,
with a lost no-break space, with '?' for lost bytes), HTML entities (named, numeric, legacy
without ';', upper case, double escaped, beside a '<'), ligatures, full- and half-width forms,
curly quotes, emoji, control and C1 characters, terminal escapes, odd whitespace and line breaks,
combining marks, scripts other than Latin, long phrases (truncation). No NUL and no lone
surrogates: the TypeScript CLI takes phrases as command-line arguments, which cannot hold them.
"""
from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import ftfy

from models.tokenizer.clip_bpe import ClipBpe, clean_text

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test" / "fixtures" / "ftfy-cases.json"
CLIP_MERGES_USED = 49152 - 256 - 2
WORD_LENGTHS = (17, 77)

ACCENTED = [
    "the café on the left", "a naïve señor in the piñata shirt", "the crème brûlée", "München's tallest tower",
    "the élève near the fenêtre", "straße sign", "the smørrebrød plate", "zażółć gęślą jaźń", "čeština knižka",
    "the red façade", "déjà vu woman", "coöperative man on the right", "the über cool dog", "Ærø ferry",
    "résumé on the desk", "the jalapeño pizza", "Ελληνικά γράμματα", "кошка слева", "the 50€ note",
    "a “quoted” word", "it’s the dog", "the — long dash", "ellipsis… here", "the ™ sign", "½ of the cake",
    "the bullet • point", "a 30° angle", "the © mark", "the £5 coin", "¿dónde está el perro?",
]
MOJIBAKE_ENCODINGS = ["latin-1", "windows-1252", "windows-1250", "windows-1251", "windows-1253", "mac-roman", "cp437"]
ENTITIES = [
    "fish &amp; chips", "fish &amp;amp; chips", "the &lt;red&gt; circle", "caf&eacute; chair", "caf&#233; chair",
    "caf&#xE9; chair", "the &quot;big&quot; one", "&AMP; upper", "&EACUTE; upper", "&ampx legacy", "&copy2024 mark",
    "non&nbsp;breaking", "the man &mdash; left", "&#128; euro ref", "&#0; null ref", "&#x110000; too big",
    "&#55296; surrogate", "&#x9d; c1 ref", "&hellip; dots", "&#8217;s apostrophe", "&notin; set", "&notit; prefix",
    "&frac12; cake", "&unknown; entity", "a < b &amp; c", "&#65;&#66;&#67;", "&#x1F600; grin", "&NewLine;break",
    "&Tab;tabbed", "&amp;#233; double", "&lt;&lt;", "& alone", "&#; empty", "&#x; empty hex",
]
LIGATURES = ["the ﬁrst ﬂoor", "ﬀ ﬃ ﬄ ﬅ ﬆ", "Ĳssel river", "ǆungla", "the ŉ word", "oﬃce chair"]
WIDTH = ["ＬＯＵＤ　ＮＯＩＳＥＳ", "ｔｈｅ ｒｅｄ ｃｉｒｃｌｅ", "ｶﾀｶﾅ", "１２３ ｄｏｇｓ", "full！width？", "ﾊﾟﾝ bread", "＄１００"]
QUOTES = ["“the left one”", "‘single’ quotes", "it‛s odd", "„low“ quotes", "ʼn apostrophe", "«guillemets»", "‹single›"]
EMOJI = ["the 🐶 on the left", "👩‍👩‍👧 family", "👍🏽 thumbs", "🇫🇷 flag", "❤️ heart", "the ✔ mark", "🧑‍🚀 astronaut",
         "1️⃣ keycap", "🏳️‍🌈 flag", "a 😀😃😄 row"]
CONTROLS = ["the\x07 bell", "zero\u200bwidth", "soft\u00adhyphen", "bom\ufeffinside", "\ufeffleading bom",
            "c1 \x80 euro", "c1 \x93quoted\x94", "c1 \x85 nel", "ansi \x1b[31mred\x1b[0m text", "del\x7fchar",
            "\u206ainhibit", "interlinear\ufff9x\ufffbz", "tab\tand\vvertical", "unit\x1fsep", "file\x1csep"]
SPACES = ["  lots   of   space  ", "line\r\nbreak", "para\u2029sep", "line\u2028sep", "nbsp\u00a0space",
          "ideographic\u3000space", "thin\u2009space", "narrow\u202fnbsp", "cr\ronly", "trailing\n"]
COMBINING = ["cafe\u0301 nfd", "A\u030a ring", "n\u0303", "the e\u0308", "\u1100\u1161\u11a8 hangul jamo"]
SCRIPTS = ["İstanbul İ", "ΣΊΣΥΦΟΣ final sigma", "ǅ title case", "日本語のテキスト", "中文 的 猫", "한국어 고양이",
           "עברית כלב", "العربية قطة", "हिन्दी बिल्ली", "ไทย แมว", "STRASSE ß ẞ", "ﬃ ligature cap", "Ωmega ohm Ω"]


def mojibake(text: str, encoding: str) -> str | None:
    try:
        return text.encode("utf-8").decode(encoding)
    except UnicodeDecodeError:
        return None


def mojibake_cases(rng: random.Random) -> list[dict[str, str]]:
    cases = []
    for phrase in ACCENTED:
        for encoding in rng.sample(MOJIBAKE_ENCODINGS, 3):
            bad = mojibake(phrase, encoding)
            if bad is not None and bad != phrase:
                cases.append({"kind": f"mojibake utf-8 as {encoding}", "text": bad})
    twice = mojibake(mojibake("the café near the naïve señor", "windows-1252") or "", "windows-1252")
    cases.append({"kind": "mojibake twice", "text": twice or ""})
    a0 = mojibake("voilà le café à côté", "windows-1252")
    cases.append({"kind": "mojibake with a lost no-break space", "text": (a0 or "").replace("\xa0", " ")})
    cases.append({"kind": "mojibake with a lost no-break space", "text": "the cafÃ on the left"})
    cases.append({"kind": "mojibake lossy ?", "text": "the cafÃ? on the left"})
    cases.append({"kind": "mojibake lossy U+FFFD", "text": "the caf\u00c3\ufffd and the \u00e2\u0080\ufffd dash"})
    cases.append({"kind": "mojibake mixed with good text", "text": "the café and the naÃ¯ve señor"})
    cases.append({"kind": "mojibake kaomoji", "text": "&macr;\\_(ã\x83\x84)_/&macr;"})
    cases.append({"kind": "mojibake check mark", "text": "âœ” No problems"})
    cases.append({"kind": "mojibake CESU-8", "text": "\u00ed\u00a0\u00bd\u00ed\u00b8\u0080 cesu emoji"})
    cases.append({"kind": "looks like mojibake, is not", "text": "Ã la carte, ÂBC and Ð°"})
    return cases


def hard_cases(seed: int = 19) -> list[dict[str, str]]:
    rng = random.Random(seed)
    cases = mojibake_cases(rng)
    for kind, phrases in [("html entity", ENTITIES), ("ligature", LIGATURES), ("width form", WIDTH),
                          ("curly quotes", QUOTES), ("emoji", EMOJI), ("control character", CONTROLS),
                          ("whitespace", SPACES), ("combining mark", COMBINING), ("script", SCRIPTS)]:
        cases += [{"kind": kind, "text": p} for p in phrases]
    cases = list({c["text"]: c for c in reversed(cases)}.values())[::-1]  # distinct phrases, first kind kept
    long_phrase = " ".join(rng.choice(ACCENTED) for _ in range(12))
    cases.append({"kind": "long (truncated)", "text": long_phrase})
    cases.append({"kind": "long mojibake (truncated)", "text": mojibake(long_phrase, "windows-1252") or long_phrase})
    mixed = [c["text"] for c in cases]
    while len(cases) < 200:  # pairs of hard cases in one phrase: interactions between the fixes
        a, b = rng.sample(mixed, 2)
        if all(c["text"] != f"{a} {b}" for c in cases):
            cases.append({"kind": "combination", "text": f"{a} {b}"})
    return cases[:200]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=Path(os.environ.get("CRIS_SHARED_DIR", ROOT.parent / "shared")))
    args = parser.parse_args()
    tokenizer = ClipBpe.from_file(args.shared / "clip-bpe" / "bpe_simple_vocab_16e6.txt.gz", merges_used=CLIP_MERGES_USED)
    cases = hard_cases()
    assert len(cases) == 200 and len({c["text"] for c in cases}) == 200, "cases must be 200 distinct phrases"
    for case in cases:
        assert "\x00" not in case["text"] and not any(0xD800 <= ord(c) <= 0xDFFF for c in case["text"])
        case["ftfy"] = ftfy.fix_text(case["text"])
        case["cleaned"] = clean_text(case["text"])
        for length in WORD_LENGTHS:
            case[f"ids_{length}"] = tokenizer.tokenize(case["text"], length)[0].tolist()
    changed = sum(c["ftfy"] != c["text"] for c in cases)
    meta = {
        "made_by": "models/tokenizer/make_ftfy_cases.py",
        "ftfy": ftfy.__version__,
        "merges": "bpe_simple_vocab_16e6.txt.gz",
        "merges_used": CLIP_MERGES_USED,
        "clean": "ftfy.fix_text -> html.unescape x2 -> strip -> regex \\s+ to ' ' -> strip -> lower",
        "cases_ftfy_changes": changed,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"meta": meta, "cases": cases}, ensure_ascii=True, indent=1) + "\n")
    print(f"wrote {OUT.relative_to(ROOT)}: {len(cases)} cases, ftfy changes {changed}")


if __name__ == "__main__":
    main()
