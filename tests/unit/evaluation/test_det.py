"""DET curves: the points kept for the report."""

from __future__ import annotations

import numpy as np

from shared.evaluation.det import det_sample


def test_det_sample_keeps_the_ends_and_at_most_the_asked_points():
    far, frr = np.linspace(100, 0, 5000), np.linspace(0, 100, 5000)
    got = det_sample(far, frr, points=300)
    assert len(got["far"]) == 300 and got["far"][0] == 100 and got["far"][-1] == 0
    assert det_sample(far[:10], frr[:10])["far"] == [round(float(v), 4) for v in far[:10]]
