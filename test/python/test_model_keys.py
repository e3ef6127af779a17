"""Our CRIS built at official R50/R101 sizes has exactly the official checkpoints' keys and shapes."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from models.cris import CRIS, PRESETS, build_from_state_dict, infer_config
from models.cris.checkpoint import strip_prefix


def read_key_listing(path: Path) -> dict[str, tuple[tuple[int, ...], str]]:
    """`key<TAB>(d0, d1)<TAB>dtype` per line -> {unprefixed key: (shape, dtype)}."""
    out = {}
    for line in path.read_text().splitlines():
        key, shape, dtype = line.split("\t")
        dims = tuple(int(d) for d in re.findall(r"\d+", shape))
        out[key.removeprefix("module.")] = (dims, dtype)
    return out


def meta_state(preset: str) -> dict[str, tuple[tuple[int, ...], str]]:
    with torch.device("meta"):
        model = CRIS(PRESETS[preset])
    return {k: (tuple(v.shape), str(v.dtype).removeprefix("torch.")) for k, v in model.state_dict().items()}


@pytest.mark.parametrize("preset,listing", [("RN50", "r50-keys.txt"), ("RN101", "r101-keys.txt")])
def test_keys_and_shapes_match_official_checkpoint(shared_dir: Path, preset: str, listing: str) -> None:
    official = read_key_listing(shared_dir / "golden" / "official-keys" / listing)
    ours = meta_state(preset)
    assert sorted(set(official) - set(ours)) == []
    assert sorted(set(ours) - set(official)) == []
    assert {k: v for k, v in ours.items() if official[k] != v} == {}


@pytest.mark.parametrize("preset,listing", [("RN50", "r50-keys.txt"), ("RN101", "r101-keys.txt")])
def test_config_inferred_from_official_shapes(shared_dir: Path, preset: str, listing: str) -> None:
    official = read_key_listing(shared_dir / "golden" / "official-keys" / listing)
    fake = {k: torch.empty(shape, device="meta") for k, (shape, _) in official.items()}
    assert infer_config(fake) == PRESETS[preset]


def test_mini_keys_match_listing(official_mini_dir: Path) -> None:
    official = read_key_listing(official_mini_dir / "keys.txt")
    fake = {k: torch.empty(shape, device="meta") for k, (shape, _) in official.items()}
    cfg = infer_config(fake, num_head=2)
    with torch.device("meta"):
        model = CRIS(cfg)
    assert sorted(model.state_dict()) == sorted(official)
    assert cfg.fpn_in == (64, 128, 64) and cfg.fpn_out == (16, 64, 64)
    assert cfg.vision_heads == 4 and cfg.text_heads == 1 and cfg.num_layers == 2 and cfg.dim_ffn == 128


def test_strict_loading_names_missing_unexpected_and_mismatched_keys() -> None:
    model = CRIS(PRESETS["small"])
    state = {f"module.{k}": v.clone() for k, v in model.state_dict().items()}
    del state["module.neck.aggr.0.weight"]
    state["module.neck.extra.weight"] = torch.zeros(3)
    state["module.proj.txt.bias"] = torch.zeros(5)
    with pytest.raises(ValueError) as caught:
        build_from_state_dict(strip_prefix(state))
    message = str(caught.value)
    assert "1 missing keys: neck.aggr.0.weight" in message
    assert "1 unexpected keys: neck.extra.weight" in message
    assert "proj.txt.bias (5,) vs model" in message


def test_small_preset_round_trips_through_state_dict() -> None:
    model = CRIS(PRESETS["small"]).eval()
    rebuilt = build_from_state_dict(model.state_dict())
    assert rebuilt.cfg == PRESETS["small"]
    image = torch.randn(1, 3, 416, 416)
    tokens = torch.tensor([[49406, 320, 1125, 49407] + [0] * 13])
    with torch.no_grad():
        assert torch.equal(model(image, tokens), rebuilt(image, tokens))
