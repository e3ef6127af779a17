"""The Python side's house rules: no import circle among models/train's modules, and no mask or
presence threshold written as a literal outside models/thresholds.py (the bundle's defaults)."""
from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ROOT / "models" / "train"


def train_imports(folder: Path) -> dict[str, set[str]]:
    """models/train module -> the models/train modules it imports (relative or absolute, lazy too)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(folder.glob("*.py")):
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.level == 1:
                    targets.add(node.module.split(".")[0])
                elif node.module.startswith("models.train."):
                    targets.add(node.module.split(".")[2])
        graph[path.stem] = targets
    return graph


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    found = []
    for start in graph:
        stack = [(start, [start])]
        while stack:
            node, path = stack.pop()
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    found.append(path + [start])
                elif nxt not in path:
                    stack.append((nxt, path + [nxt]))
    return found


def test_models_train_has_no_import_circle():
    assert circles(train_imports(TRAIN)) == []


def test_the_circle_check_can_fail(tmp_path):
    (tmp_path / "a.py").write_text("from .b import x\n")
    (tmp_path / "b.py").write_text("def f():\n    from .a import y\n")
    assert circles(train_imports(tmp_path)) == [["a", "b", "a"], ["b", "a", "b"]]


THRESHOLD_LITERAL = re.compile(r"(threshold[\w\s]*[:=(,]\s*(?:float\s*=\s*)?|default\s*=\s*)0\.(35|5)\b|0\.35\s*/\s*0\.65", re.I)


def test_no_threshold_literal_outside_thresholds_py():
    offenders = []
    for path in sorted((ROOT / "models").rglob("*.py")):
        if ".venv" in path.parts or path.name == "thresholds.py":
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#", 1)[0]
            if THRESHOLD_LITERAL.search(code):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
    assert THRESHOLD_LITERAL.search('ap.add_argument("--threshold", type=float, default=0.35)')
    assert THRESHOLD_LITERAL.search("def f(threshold: float = 0.35):")
