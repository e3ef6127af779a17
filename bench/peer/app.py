"""The peer baseline: the CRIS service a user would write in an afternoon, to keep ours honest.

Starlette + uvicorn, onnxruntime, OpenCV, numpy and pycocotools; one process, no batching, no
worker threads, no feature cache. Same request as the GPU service with auth off
(POST /v1/segment multipart: `image` file, `text` fields, `options` JSON), same answer shape
(`rle` masks; polygons are not offered). Started by bench/peer-service.ts:

    PEER_BUNDLE=models/cris-shapes-s PEER_THREADS=2 python bench/peer/app.py 18160
"""
import hashlib
import json
import os
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import onnxruntime as ort
import uvicorn
from pycocotools import mask as mask_utils
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: the reference tokenizer
from models.tokenizer.clip_bpe import ClipBpe  # noqa: E402

BUNDLE = Path(os.environ.get("PEER_BUNDLE", "models/cris-shapes-s"))
MANIFEST = json.loads((BUNDLE / "manifest.json").read_text())
SIZE = MANIFEST["input"]["size"]
MEAN = np.array(MANIFEST["input"]["mean"], dtype=np.float32)
STD = np.array(MANIFEST["input"]["std"], dtype=np.float32)
PAD = [float(v) for v in MANIFEST["input"]["pad_rgb"]]
WORD_LEN = MANIFEST["text"]["word_len"]
THRESHOLD = MANIFEST["output"]["threshold"]
MODEL = f"{MANIFEST['id']}@{MANIFEST['version']}"

options = ort.SessionOptions()
threads = int(os.environ.get("PEER_THREADS", "0"))
if threads:
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
providers = ["CPUExecutionProvider"]
encoder = ort.InferenceSession(str(BUNDLE / MANIFEST["graphs"]["image_encoder"]["file"]), options, providers=providers)
head = ort.InferenceSession(str(BUNDLE / MANIFEST["graphs"]["head"]["file"]), options, providers=providers)
tok_spec = MANIFEST["text"]["tokenizer"]
tokenizer = ClipBpe.from_file(BUNDLE / tok_spec["merges_file"], tok_spec["merges_used"])


def letterbox_matrices(w, h):
    """CRIS getTransformMat: original -> network and back."""
    scale = min(SIZE / h, SIZE / w)
    new_w, new_h = w * scale, h * scale
    bias_x, bias_y = (SIZE - new_w) / 2, (SIZE - new_h) / 2
    src = np.array([[0, 0], [w, 0], [0, h]], np.float32)
    dst = np.array([[bias_x, bias_y], [new_w + bias_x, bias_y], [bias_x, new_h + bias_y]], np.float32)
    return cv2.getAffineTransform(src, dst), cv2.getAffineTransform(dst, src)


def error(status, code, message):
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def prepare(data):
    """Image bytes -> network input [1, 3, S, S], the size and the network -> image matrix; None if undecodable."""
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:
        return None
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    h, w = rgb.shape[:2]
    mat, mat_inv = letterbox_matrices(w, h)
    boxed = cv2.warpAffine(rgb, mat, (SIZE, SIZE), flags=cv2.INTER_CUBIC, borderValue=PAD)
    x = ((boxed.astype(np.float32) / 255 - MEAN) / STD).transpose(2, 0, 1)[None]  # [1, 3, S, S]
    return np.ascontiguousarray(x), w, h, mat_inv


def encode(x):
    return encoder.run(None, {"image": x})  # c3, c4, c5


def run_head(features, texts):
    c3, c4, c5 = features
    tokens = tokenizer.tokenize(texts, WORD_LEN)  # [N, L]
    n = len(texts)
    feeds = {"c3": np.repeat(c3, n, 0), "c4": np.repeat(c4, n, 0), "c5": np.repeat(c5, n, 0), "tokens": tokens}
    (logits,) = head.run(None, feeds)  # [N, 1, G, G]
    return logits


def postprocess(texts, logits, w, h, mat_inv, threshold):
    results = []
    for text, row in zip(texts, logits[:, 0]):
        prob = 1 / (1 + np.exp(-row))
        # bicubic upsample with align_corners (F.interpolate's): output o samples input o * (G-1)/(S-1)
        k = (row.shape[0] - 1) / (SIZE - 1)
        prob = cv2.warpAffine(prob, np.float32([[k, 0, 0], [0, k, 0]]), (SIZE, SIZE),
                              flags=cv2.INTER_CUBIC | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        prob = cv2.warpAffine(prob, mat_inv, (w, h), flags=cv2.INTER_CUBIC, borderValue=0)
        mask = prob > threshold
        area = int(mask.sum())
        rle = mask_utils.encode(np.asfortranarray(mask.astype(np.uint8)))
        ys, xs = np.nonzero(mask)
        bbox = [int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)] if area else [0, 0, 0, 0]
        results.append({
            "text": text,
            "score": float(prob[mask].mean()) if area else 0.0,
            "bbox": bbox,
            "area": area,
            "mask": {"format": "rle", "size": [h, w], "counts": rle["counts"].decode("ascii")},
        })
    return results


async def segment(request):
    t0 = time.perf_counter()
    form = await request.form()
    upload = form.get("image")
    texts = [t.strip() for t in form.getlist("text")]
    opts = json.loads(form.get("options") or "{}")
    if upload is None or isinstance(upload, str):
        return error(400, "missing_image", "an `image` file field is required")
    if not texts or not all(texts):
        return error(422, "invalid_text", "at least one non-empty `text` field is required")
    data = await upload.read()
    threshold = float(opts.get("threshold", THRESHOLD))

    prepared = prepare(data)
    if prepared is None:
        return error(422, "invalid_image", "the image could not be decoded")
    x, w, h, mat_inv = prepared
    t1 = time.perf_counter()
    features = encode(x)
    t2 = time.perf_counter()
    logits = run_head(features, texts)
    t3 = time.perf_counter()
    results = postprocess(texts, logits, w, h, mat_inv, threshold)
    t4 = time.perf_counter()
    ms = lambda a, b: round((b - a) * 1000, 2)  # noqa: E731
    return JSONResponse({
        "id": hashlib.sha256(data + "\n".join(texts).encode()).hexdigest(),
        "model": MODEL,
        "width": w,
        "height": h,
        "results": results,
        "cached": False,
        "timing": {"total_ms": ms(t0, t4), "preprocess_ms": ms(t0, t1), "image_encoder_ms": ms(t1, t2), "head_ms": ms(t2, t3), "postprocess_ms": ms(t3, t4)},
    })


async def readyz(request):
    return JSONResponse({"ready": True})


app = Starlette(routes=[Route("/v1/segment", segment, methods=["POST"]), Route("/readyz", readyz)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
