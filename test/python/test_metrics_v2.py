"""v2 metrics (REFERRING_SHAPES.md): gIoU, cIoU, N-acc, T-acc and single-target v1 metrics, from rows."""
from __future__ import annotations

import pytest

from models.train.metrics import choose_presence_threshold, is_v2, summarise_v2


def row(kind, targets, presence, area, truth, inter):
    return {"kind": kind, "targets": targets, "presence": presence, "area": area, "truth": truth, "inter": inter,
            "union": area + truth - inter}


ROWS = [
    row("attribute", 1, 0.9, 100, 100, 80),   # IoU 80/120
    row("relation", 1, 0.2, 50, 100, 50),     # not found: IoU 0, union = truth
    row("group", 2, 0.8, 200, 200, 150),      # IoU 150/250
    row("no-target", 0, 0.1, 30, 0, 0),       # not found: IoU 1
    row("no-target", 0, 0.7, 40, 0, 0),       # found with pixels: IoU 0, union 40
    row("no-target", 0, 0.9, 0, 0, 0),        # found but the mask is empty: answered empty, IoU 1
]


def test_v2_metrics_follow_the_definitions() -> None:
    m = summarise_v2(ROWS, 0.5)
    ious = [80 / 120, 0.0, 150 / 250, 1.0, 0.0, 1.0]
    assert m["gIoU"] == pytest.approx(sum(ious) / 6)
    assert m["cIoU"] == pytest.approx((80 + 150) / (120 + 100 + 250 + 40))
    assert m["N-acc"] == pytest.approx(2 / 3)
    assert m["T-acc"] == pytest.approx(2 / 3)
    assert m["group"] == {"count": 1, "mIoU": pytest.approx(0.6)}
    assert m["single_target"]["count"] == 2
    assert m["single_target"]["mIoU"] == pytest.approx((80 / 120) / 2)
    assert m["by_kind"]["no-target"]["mIoU"] == pytest.approx(2 / 3)
    assert is_v2(ROWS) and not is_v2([r for r in ROWS if r["targets"] == 1])


def test_without_presence_found_means_a_non_empty_mask() -> None:
    rows = [{**r, "presence": None} for r in ROWS]
    m = summarise_v2(rows, 0.5)
    assert m["N-acc"] == pytest.approx(1 / 3)  # the 30- and 40-pixel answers are not empty
    assert m["T-acc"] == pytest.approx(1.0)


def test_the_chosen_presence_threshold_maximises_n_acc_plus_t_acc() -> None:
    # [0.1, 0.2): N-acc 2/3, T-acc 1; [0.7, 0.8): N-acc 1, T-acc 2/3; the tie goes to the better gIoU
    threshold, m = choose_presence_threshold(ROWS)
    assert 0.7 <= threshold < 0.8
    assert (m["N-acc"], m["T-acc"]) == (pytest.approx(1.0), pytest.approx(2 / 3))
    assert m["gIoU"] > summarise_v2(ROWS, 0.15)["gIoU"]
