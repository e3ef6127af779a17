from pathlib import Path

#: The BPE merges the shapes models are trained with (learn_merges.py wrote it).
SHAPES_MERGES = Path(__file__).resolve().parent / "shapes_merges.txt.gz"
