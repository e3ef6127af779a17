"""The export gate: logits within a tolerance that scales with depth and magnitude, masks agreeing on
>= 99.9 % of pixels at the bundle threshold, and --tolerance as a recorded, warned override."""
from __future__ import annotations

from pathlib import Path

import pytest

from models.cris import PRESETS, random_cris
from models.export.bundle import export_bundle
from models.export.tolerance import EPS32, MIN_MASK_AGREEMENT, PER_LAYER_ULPS, judge, logit_tolerance, network_depth


def test_tolerance_scales_with_depth_and_magnitude() -> None:
    rn50, rn101 = PRESETS["RN50"], PRESETS["RN101"]
    assert (network_depth(rn50), network_depth(rn101)) == (31, 48)
    assert logit_tolerance(rn101, 5.0) > logit_tolerance(rn50, 5.0)
    assert logit_tolerance(rn50, 20.0) == pytest.approx(4 * logit_tolerance(rn50, 5.0))
    assert logit_tolerance(rn50, 0.1) == logit_tolerance(rn50, 1.0)  # no vanishing tolerance near 0
    assert logit_tolerance(rn50, 1.0) == pytest.approx(PER_LAYER_ULPS * 31 * EPS32)


def test_the_issue_s_refused_rn50_export_passes_and_real_disagreement_fails() -> None:
    # issue 19: RN50 at 416, max |diff| 1.79e-3 over a logit range of 12.9, masks identical
    refused_before = {"max_abs_diff": 1.79e-3, "max_abs_logit": 6.5, "mask_agreement": 1.0}
    assert judge(dict(refused_before), PRESETS["RN50"]) == []
    assert judge({**refused_before, "max_abs_diff": 0.5}, PRESETS["RN50"])[0].startswith("logits")
    masks_off = {**refused_before, "mask_agreement": MIN_MASK_AGREEMENT - 1e-4}
    assert judge(masks_off, PRESETS["RN50"])[0].startswith("masks")


def test_override_is_recorded_with_a_warning() -> None:
    check = {"max_abs_diff": 0.5, "max_abs_logit": 6.5, "mask_agreement": 1.0}
    assert judge(check, PRESETS["RN50"], override=1.0) == []
    assert check["tolerance"] == 1.0
    assert check["tolerance_override"]["warning"].startswith("--tolerance")
    assert check["tolerance_override"]["rule_would_allow"] == logit_tolerance(PRESETS["RN50"], 6.5)


def test_export_records_the_gate_and_the_override(tmp_path: Path, clip_merges_path: Path, capsys) -> None:
    model = random_cris(PRESETS["small"], seed=3)
    manifest = export_bundle(model, tmp_path / "c", clip_merges_path, bundle_id="c", version="0.0.1", tolerance=1.0)
    check = manifest["provenance"]["verification"]
    assert check["batch"] == 3 and check["tolerance"] == 1.0
    assert check["tolerance_override"]["value"] == 1.0
    assert check["max_abs_diff"] <= check["tolerance_override"]["rule_would_allow"]  # the measured gate passes too
    assert "warning: --tolerance 1" in capsys.readouterr().err
