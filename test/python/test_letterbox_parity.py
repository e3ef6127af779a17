"""Training's pre-processing is the service's, byte for byte: models/imaging (numpy, used by
models/train/data.py) against gpu-service/src/imaging run by node (test/helpers/service-imaging.ts)
on the same images: several sizes and aspect ratios, up- and down-scaling, odd and tiny sizes,
noise and saturated patterns (cubic overshoot), and encoded files decoded by each side. The
evaluator's inverse letterbox of probability maps (models/train/evaluate.py) is the service's too."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from models.imaging import inverse_letterbox_matrix, letterbox_rgb, warp_affine_cubic_f32
from models.train.data import CLIP_MEAN, CLIP_STD, PAD_RGB, letterbox_image, normalise, read_rgb

# (width, height, network size): up- and down-scaling, odd sizes, extreme aspect ratios, identity
RAW_CASES = [(200, 160, 160), (160, 640, 160), (641, 161, 160), (640, 640, 160), (37, 53, 160),
             (1, 1, 160), (2, 3, 160), (3, 700, 160), (160, 160, 160), (999, 333, 416),
             (301, 517, 416), (416, 416, 416), (17, 417, 416)]


def raw_image(width: int, height: int, seed: int) -> np.ndarray:
    """[H, W, 3] uint8: noise, or (every third case) a 0/255 checkerboard that makes the cubic overshoot."""
    rng = np.random.default_rng(seed)
    if seed % 3 == 2:
        board = ((np.arange(height)[:, None] // 2 + np.arange(width)[None, :] // 3) % 2) * 255
        return np.repeat(board[:, :, None], 3, axis=2).astype(np.uint8)
    return rng.integers(0, 256, (height, width, 3), dtype=np.uint8)


def encoded_images(folder: Path) -> dict[str, Path]:
    """PNG in the modes the service accepts (RGB, RGBA, grey, palette, 16-bit grey) and a JPEG."""
    rgb = raw_image(211, 157, 7)
    files = {"rgb.png": Image.fromarray(rgb), "rgba.png": Image.fromarray(np.dstack([rgb, rgb[:, :, 0]])),
             "grey.png": Image.fromarray(rgb[:, :, 1]), "palette.png": Image.fromarray(rgb).quantize(64),
             "grey16.png": Image.fromarray(rgb[:, :, 2].astype(np.uint16) * 257 + 3)}
    paths = {}
    for name, image in files.items():
        image.save(folder / name)
        paths[name] = folder / name
    smooth = np.clip(np.add.outer(np.arange(120), np.arange(190))[:, :, None] + np.array([0, 40, 90]), 0, 255)
    Image.fromarray(smooth.astype(np.uint8)).save(folder / "photo.jpg", quality=90)
    paths["photo.jpg"] = folder / "photo.jpg"
    return paths


def run_service(repo_root: Path, folder: Path, jobs: list[dict]) -> None:
    spec = {"mean": list(CLIP_MEAN), "std": list(CLIP_STD), "pad_rgb": list(PAD_RGB), "jobs": jobs}
    (folder / "jobs.json").write_text(json.dumps(spec))
    tsx = repo_root / "node_modules" / ".bin" / "tsx"
    subprocess.run([str(tsx), str(repo_root / "test" / "helpers" / "service-imaging.ts"), str(folder / "jobs.json")],
                   check=True, cwd=repo_root, timeout=120)


def service_output(folder: Path, out: str, size: int) -> tuple[np.ndarray, np.ndarray]:
    rgb = np.fromfile(folder / f"{out}.rgb", dtype=np.uint8).reshape(size, size, 3)
    chw = np.fromfile(folder / f"{out}.f32", dtype="<f4").reshape(3, size, size)
    return rgb, chw


@pytest.fixture(scope="module")
def parity(tmp_path_factory, repo_root: Path) -> dict:
    folder = tmp_path_factory.mktemp("letterbox")
    jobs, inputs = [], {}
    for n, (width, height, size) in enumerate(RAW_CASES):
        name = f"raw{n}-{width}x{height}-s{size}"
        inputs[name] = (raw_image(width, height, n), size)
        inputs[name][0].tofile(folder / f"{name}.bin")
        jobs.append({"raw": f"{name}.bin", "width": width, "height": height, "size": size, "out": name})
    for name, path in encoded_images(folder).items():
        inputs[name] = (read_rgb(path), 160)
        jobs.append({"image": path.name, "size": 160, "out": name})
    probs = {}
    for n, (width, height, size) in enumerate(RAW_CASES):
        name = f"prob{n}-{width}x{height}-s{size}"
        probs[name] = (probability_map(size, n), width, height)
        probs[name][0].astype("<f4").tofile(folder / f"{name}.f32")
        jobs.append({"prob": f"{name}.f32", "width": width, "height": height, "size": size, "out": name})
    run_service(repo_root, folder, jobs)
    letterboxed = {name: (rgb, size, *service_output(folder, name, size)) for name, (rgb, size) in inputs.items()}
    inverse = {name: (prob, width, height, np.fromfile(folder / f"{name}.back", dtype="<f4").reshape(height, width))
               for name, (prob, width, height) in probs.items()}
    return {"letterbox": letterboxed, "inverse": inverse}


def probability_map(size: int, seed: int) -> np.ndarray:
    """[S, S] float32: a smooth blob (a mask's probability) with noise, overshooting 0 and 1 a little."""
    rng = np.random.default_rng(100 + seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    blob = np.exp(-((xx - rng.uniform(0.3, 0.7)) ** 2 + (yy - rng.uniform(0.3, 0.7)) ** 2) / 0.05)
    return (blob * 1.1 - 0.05 + rng.normal(0, 0.02, blob.shape)).astype(np.float32)


def test_letterbox_bytes_equal_the_service_s(parity: dict) -> None:
    for name, (rgb, size, service_rgb, _) in parity["letterbox"].items():
        ours = letterbox_rgb(rgb, size, PAD_RGB)
        differ = int((ours != service_rgb).sum())
        assert differ == 0, f"{name}: {differ} of {ours.size} bytes differ from the service's letterbox"


def test_training_network_input_equals_the_service_s(parity: dict) -> None:
    for name, (rgb, size, _, service_chw) in parity["letterbox"].items():
        ours = normalise(torch.from_numpy(letterbox_image(rgb, size))[None])[0].numpy()  # [3, S, S]
        assert ours.dtype == np.float32 and ours.shape == service_chw.shape
        assert np.array_equal(ours.view(np.uint32), service_chw.view(np.uint32)), f"{name}: network input differs"


def test_the_parity_images_cover_up_and_down_scaling_and_the_border(parity: dict) -> None:
    scales = [size / max(rgb.shape[0], rgb.shape[1]) for rgb, size, _, _ in parity["letterbox"].values()]
    assert min(scales) < 0.5 and max(scales) > 10  # strong down- and up-scaling
    padded = [name for name, (rgb, size, service_rgb, _) in parity["letterbox"].items()
              if (service_rgb[0, 0] == np.rint(PAD_RGB)).all() and rgb.shape[0] != rgb.shape[1]]
    assert len(padded) >= 5  # letterbox borders (the pad colour) are compared too
    saturated = [name for name, (_, _, service_rgb, _) in parity["letterbox"].items() if (service_rgb == 0).any() and (service_rgb == 255).any()]
    assert saturated  # overshoot clamped to 0 and 255 on the checkerboards


def test_inverse_letterbox_of_probabilities_equals_the_service_s(parity: dict) -> None:
    for name, (prob, width, height, service_back) in parity["inverse"].items():
        size = prob.shape[0]
        ours = warp_affine_cubic_f32(prob, inverse_letterbox_matrix(width, height, size), width, height, 0.0)
        assert ours.shape == service_back.shape
        assert np.array_equal(ours.view(np.uint32), service_back.view(np.uint32)), f"{name}: inverse letterbox differs"
