"""ISO/IEC 30107-3 measures, with answers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from shared.evaluation import pad

#                 live: 0..9            attacks "a": 5..9        attacks "b": 12..15
LIVE = np.arange(10, dtype=float)
A = np.arange(5, 10, dtype=float)
B = np.arange(12, 16, dtype=float)
SCORES = np.concatenate([LIVE, A, B])
IS_ATTACK = np.array([False] * 10 + [True] * 9)
SPECIES = ["human"] * 10 + ["a"] * 5 + ["b"] * 4


def test_apcer_and_bpcer_at_a_threshold():
    assert pad.apcer(A, 7.0) == pytest.approx(40.0)  # 5 and 6 pass as live
    assert pad.bpcer(LIVE, 7.0) == pytest.approx(30.0)  # 7, 8, 9 are called attacks
    assert pad.per_species(SCORES, IS_ATTACK, SPECIES, 7.0) == {"a": pytest.approx(40.0), "b": 0.0}


def test_the_threshold_at_a_bpcer_lets_exactly_that_share_of_live_speech_be_rejected():
    t = pad.threshold_at_bpcer(LIVE, 10)  # one of ten may be called an attack: 9 only
    assert 8 < t <= 9 and pad.bpcer(LIVE, t) == pytest.approx(10.0)
    assert pad.bpcer(LIVE, pad.threshold_at_bpcer(LIVE, 5)) == 0.0  # half a clip: none
    tied = np.array([0, 1, 1, 1, 2], float)
    assert pad.bpcer(tied, pad.threshold_at_bpcer(tied, 40)) == pytest.approx(20.0)  # ties cannot be split


def test_report_names_the_worst_species_and_every_corpus():
    corpora = ["phone"] * 5 + ["studio"] * 5 + [""] * 9
    r = pad.report(SCORES, IS_ATTACK, SPECIES, corpora, threshold=7.0)
    assert (r["worst_species"], r["worst_apcer"], r["bpcer"]) == ("a", pytest.approx(40.0), pytest.approx(30.0))
    assert r["bpcer_per_corpus"] == {"phone": 0.0, "studio": pytest.approx(60.0)}
    assert r["apcer_pooled"] == pytest.approx(100 * 2 / 9)
    assert r["at_bpcer_1"]["bpcer"] == 0.0 and r["at_bpcer_1"]["apcer"]["a"] == 100.0  # all of "a" is below 9+
    assert 0 < r["eer"] < 50
    perfect = pad.report(np.array([0.0, 1.0, 2.0, 3.0]), np.array([False, False, True, True]), ["h", "h", "x", "x"],
                         ["c"] * 4, threshold=1.5)
    assert (perfect["eer"], perfect["worst_apcer"], perfect["bpcer"]) == (0.0, 0.0, 0.0)


def test_one_class_protocols_report_what_they_can_and_say_why():
    from shared.evaluation.pad import report

    live = report(np.array([0.1, 0.5, 2.0]), np.array([False] * 3), ["human"] * 3, ["bank"] * 3, threshold=1.0)
    assert (live["eer"], live["apcer_pooled"], live["worst_apcer"]) == (None, None, None)
    assert live["bpcer"] == pytest.approx(100 / 3) and live["note"].startswith("live speech only")
    attacks = report(np.array([0.1, 2.0]), np.array([True] * 2), ["tts", "vc"], ["x"] * 2, threshold=1.0)
    assert (attacks["eer"], attacks["bpcer"], attacks["apcer_pooled"]) == (None, None, 50.0)
    assert attacks["note"].startswith("attacks only") and attacks["bpcer_per_corpus"] == {}
