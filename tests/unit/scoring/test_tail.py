"""The extreme-value tail of the impostor scores (VOICEID_SCORE_TAIL=gpd): where the normal fit's tail is wrong."""

from __future__ import annotations

import numpy as np

from shared.scoring.calibration import MIN_EXCEEDANCES, TAIL_QUANTILE, Calibration, Tail
from shared.scoring.stats import GalleryStats, build


def heavy_tailed(n: int, seed: int = 0) -> np.ndarray:
    """Impostor scores whose upper tail is heavier than a normal's (Student's t, 4 degrees of freedom)."""
    return np.random.default_rng(seed).standard_t(4, n)


def test_the_normal_fit_understates_a_heavy_tail_and_the_extreme_value_fit_does_not():
    fit_on, fresh = heavy_tailed(20_000), heavy_tailed(2_000_000, seed=1)
    cal = Calibration.fit(fit_on, "gallery")
    assert cal.tail is not None and cal.tail.exceedances >= MIN_EXCEEDANCES
    for target in (1e-3, 1e-4):
        at = np.quantile(fresh, 1 - target)  # the score that exactly `target` of fresh impostors reach
        normal = 10 ** -cal.without_tail().evidence(at)
        gpd = 10 ** -cal.evidence(at)
        assert normal < target / 3  # the normal promises far fewer false accepts than happen
        assert target / 2 < gpd < 2 * target, (target, gpd)


def test_the_two_pieces_meet_at_the_threshold_and_the_score_only_grows():
    cal = Calibration.fit(heavy_tailed(5_000), "gallery")
    u = cal.tail.threshold
    assert abs(cal.evidence(u + 1e-9) - cal.without_tail().evidence(u)) < 1e-6
    grid = np.linspace(cal.mean - 3, u + 20, 400)
    values = [cal.evidence(s) for s in grid]
    assert all(b >= a for a, b in zip(values, values[1:]))
    assert max(values) <= 15.0  # beyond a bounded tail's end: 1 in 10^15, never infinity


def test_too_few_pairs_above_the_threshold_leave_the_normal_fit_alone():
    few = heavy_tailed(int((MIN_EXCEEDANCES - 1) / (1 - TAIL_QUANTILE)))
    assert Calibration.fit(few, "gallery").tail is None
    assert Tail.fit(np.zeros(5_000), 0.0, 1.0) is None  # nothing to fit


def test_the_tail_model_is_chosen_at_scoring_time_and_kept_with_the_statistics():
    rng = np.random.default_rng(0)
    models = rng.standard_normal((40, 16)).astype(np.float32)
    models /= np.linalg.norm(models, axis=1, keepdims=True)
    keys = [f"s{i}" for i in range(40)]
    stats = build(keys, models, "test@1", margins=False)  # 1,560 pairs: a tail of 78 exceedances
    assert stats.calibration.tail is not None
    again = GalleryStats.from_bytes(stats.to_bytes())
    assert again.calibration == stats.calibration
    assert again.tail_model("normal").calibration.tail is None and again.tail_model("gpd") is again
    assert "tail" in stats.summary() and "tail" not in stats.tail_model("normal").summary()
