"""The peer's own stage costs for `npm run bench:stages`: CPU ms per call of each function the
peer's request handler (app.py) runs, on the same scenes. Prints one JSON object on stdout.

    PEER_BUNDLE=models/cris-shapes-s PEER_THREADS=1 python bench/peer/stages.py DIR ITERATIONS

DIR holds N.png and N.jpg (the scenes, N = 0..) and texts.json (one phrase per scene).
"""
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import app  # noqa: E402  (loads the bundle's two sessions, as the server does)


def cpu_ms_per_call(run, count):
    """CPU time of this process (every thread: onnxruntime's, OpenCV's) per call, after a warm-up."""
    for i in range(min(10, count)):
        run(i)
    start = time.process_time()
    for i in range(count):
        run(i)
    return (time.process_time() - start) / count * 1000


def main():
    folder, iterations = Path(sys.argv[1]), int(sys.argv[2])
    texts = json.loads((folder / "texts.json").read_text())
    n = len(texts)
    files = {ext: [(folder / f"{i}.{ext}").read_bytes() for i in range(n)] for ext in ("png", "jpg")}
    prepared = [app.prepare(data) for data in files["png"]]
    features = [app.encode(p[0]) for p in prepared]
    logits = [app.run_head(f, [t]) for f, t in zip(features, texts)]
    out = {
        "decode_png": cpu_ms_per_call(lambda i: cv2.imdecode(np.frombuffer(files["png"][i % n], np.uint8), cv2.IMREAD_COLOR), iterations),
        "decode_jpeg": cpu_ms_per_call(lambda i: cv2.imdecode(np.frombuffer(files["jpg"][i % n], np.uint8), cv2.IMREAD_COLOR), iterations),
        "prepare_png": cpu_ms_per_call(lambda i: app.prepare(files["png"][i % n]), iterations),
        "prepare_jpeg": cpu_ms_per_call(lambda i: app.prepare(files["jpg"][i % n]), iterations),
        "encoder_b1": cpu_ms_per_call(lambda i: app.encode(prepared[i % n][0]), iterations),
        "head_b1": cpu_ms_per_call(lambda i: app.run_head(features[i % n], [texts[i % n]]), iterations),
        "postprocess_rle": cpu_ms_per_call(lambda i: app.postprocess([texts[i % n]], logits[i % n], *prepared[i % n][1:], app.THRESHOLD), iterations),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
