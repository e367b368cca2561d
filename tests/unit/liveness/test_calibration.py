"""The liveness score: -log10 of the share of held-out live speech at least as attack-like, with answers known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.liveness.backend import LinearBackend
from shared.liveness.calibration import LiveCalibration, decide, threshold_for
from shared.liveness.model import LivenessModel


def test_the_score_counts_live_clips_at_or_above_with_one_pseudo_count():
    cal = LiveCalibration(np.arange(99, dtype=float))  # 99 live scores 0..98, shuffled order does not matter
    assert cal.share_at_least(-5.0) == 1.0  # every live clip is above: score 0
    assert cal.score(-5.0) == 0.0
    assert cal.share_at_least(89.0) == pytest.approx(11 / 100)  # 89..98 are ten clips, plus one
    assert cal.share_at_least(88.5) == pytest.approx(11 / 100)
    assert cal.score(1000.0) == pytest.approx(2.0) == pytest.approx(cal.ceiling)  # never above log10(n + 1)
    scores = [cal.score(s) for s in np.linspace(-10, 110, 50)]
    assert all(a <= b for a, b in zip(scores, scores[1:]))  # monotone in the raw score
    assert LiveCalibration(np.arange(99, dtype=float)[::-1]).score(89.0) == cal.score(89.0)


def test_the_threshold_of_a_live_share_and_the_three_decisions():
    assert threshold_for(0.02) == pytest.approx(-math.log10(0.02)) == pytest.approx(1.69897)
    t = threshold_for(0.01)
    assert decide(t, 0.01) == "attack" and decide(t + 1, 0.01) == "attack"
    assert decide(t - 0.01, 0.01) == "inconclusive"  # a little more common in live speech than the target
    assert decide(threshold_for(0.03), 0.01) == "inconclusive"  # exactly 3x: the edge of the band
    assert decide(threshold_for(0.031), 0.01) == "live"
    assert decide(0.0, 0.01) == "live"
    with pytest.raises(ValueError, match="between 0 and 1"):
        threshold_for(0.0)


def test_bad_calibrations_are_refused():
    with pytest.raises(ValueError, match="finite scores"):
        LiveCalibration(np.array([]))
    with pytest.raises(ValueError, match="finite scores"):
        LiveCalibration(np.array([0.0, np.nan]))


def test_the_artefact_round_trips_and_is_named_by_its_hash():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 3)), np.r_[np.zeros(30, bool), np.ones(30, bool)]
    x[y, 0] += 3
    model = LivenessModel(backend=LinearBackend.fit(x, y), calibration=LiveCalibration(rng.normal(size=40)),
                          parts=("ecapa",), name="liveness-test", provenance={"speaker_model": "m@1"})
    data = model.to_bytes()
    again = LivenessModel.from_bytes(data)
    assert again.parts == ("ecapa",) and again.provenance == {"speaker_model": "m@1"}
    assert again.id == f"liveness-test@{again.version}" and len(again.version) == 12
    assert np.allclose(again.backend.attack_scores(x), model.backend.attack_scores(x))
    assert again.calibration.score(0.5) == pytest.approx(model.calibration.score(0.5))
    buf = bytearray(data)
    with pytest.raises(ValueError):
        LivenessModel.from_bytes(bytes(buf[: len(buf) // 2]))  # a truncated file is an error, not a model
