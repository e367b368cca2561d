import numpy as np
import pytest

from shared.evaluation.metrics import (
    det_points,
    eer,
    min_dcf,
    open_set,
    rates_at,
    wilson,
)


def test_perfect_separation_is_zero():
    assert eer(np.array([0.9, 0.8, 0.1, 0.2]), np.array([True, True, False, False])) == 0.0


def test_complete_inversion_is_hundred():
    assert eer(np.array([0.1, 0.2, 0.9, 0.8]), np.array([True, True, False, False])) == 100.0


def test_one_overlap_in_four_each():
    scores = np.array([0.9, 0.8, 0.7, 0.3, 0.6, 0.2, 0.1, 0.05])
    labels = np.array([True, True, True, True, False, False, False, False])
    assert eer(scores, labels) == pytest.approx(25.0)


def test_needs_both_kinds():
    with pytest.raises(ValueError):
        eer(np.array([0.1]), np.array([True]))

SEPARATED = (np.array([0.9, 0.8, 0.7, 0.2, 0.1, 0.0]), np.array([True, True, True, False, False, False]))


def test_random_scores_give_about_fifty():
    rng = np.random.default_rng(7)
    labels = rng.random(20000) < 0.5
    assert eer(rng.random(20000), labels) == pytest.approx(50.0, abs=2.0)


def test_min_dcf_is_zero_when_separated_and_one_when_useless():
    assert min_dcf(*SEPARATED) == 0.0
    scores, labels = SEPARATED
    assert min_dcf(-scores, labels) == pytest.approx(1.0)  # inverted: best is to reject everything


def test_min_dcf_counts_misses_at_the_cheap_threshold():
    # 1 of 4 targets below every non-target: with p_target 0.5 the best cut misses it: cost 0.5 * 0.25 / 0.5
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.5, 0.4])
    labels = np.array([True, True, True, True, False, False])
    assert min_dcf(scores, labels, p_target=0.5) == pytest.approx(0.25)


def test_rates_at_threshold_accept_exactly_at_threshold():
    r = rates_at(np.array([0.5, 0.4, 0.5, 0.3]), np.array([True, True, False, False]), 0.5)
    assert (r["false_accepts"], r["non_targets"], r["far"]) == (1, 2, 50.0)
    assert (r["false_rejects"], r["targets"], r["frr"]) == (1, 2, 50.0)


def test_wilson_interval_known_values():
    low, high = wilson(0, 100)
    assert low == 0.0 and high == pytest.approx(3.70, abs=0.01)
    low, high = wilson(50, 100)
    assert low == pytest.approx(40.38, abs=0.01) and high == pytest.approx(59.62, abs=0.01)


def test_det_points_run_from_accept_all_to_reject_all():
    far, frr = det_points(*SEPARATED)
    assert (far[0], frr[0], far[-1], frr[-1]) == (100.0, 0.0, 0.0, 100.0)


def test_open_set_dir_at_the_false_alarm_budget():
    best = np.array([0.9, 0.8, 0.6, 0.95, 0.7, 0.5])
    correct = np.array([True, True, False, False, False, False])
    known = np.array([True, True, True, False, False, False])
    r = open_set(best, correct, known, fa_rate=0.0)  # no unknown may pass: threshold just above 0.95
    assert (r["top1"], r["dir"], r["false_alarms"]) == (pytest.approx(200 / 3), 0.0, 0)
    r = open_set(best, correct, known, fa_rate=0.34)  # one of three unknowns may pass: just above 0.7
    assert (r["dir"], r["false_alarms"]) == (pytest.approx(200 / 3), 1)


def _sklearn_eer_and_dcf(scores, labels, p_target=0.01):
    """The same two measures from scikit-learn's det_curve (the reference for tied scores)."""
    from sklearn.metrics import det_curve

    fpr, fnr, _ = det_curve(labels, scores)
    fpr, fnr = np.concatenate([[1.0], fpr, [0.0]]), np.concatenate([[0.0], fnr, [1.0]])  # both ends, as ours
    i = int(np.argmin(np.abs(fpr - fnr)))
    cost = p_target * fnr + (1 - p_target) * fpr
    return 100 * (fpr[i] + fnr[i]) / 2, cost.min() / min(p_target, 1 - p_target)


def test_tied_scores_are_one_threshold_whatever_the_order():
    assert eer(np.array([0.5, 0.5]), np.array([True, False])) == eer(np.array([0.5, 0.5]), np.array([False, True])) \
        == 50.0
    rng = np.random.default_rng(7)
    for _ in range(20):
        labels = rng.random(60) < 0.3
        labels[:2] = [True, False]
        scores = np.round(rng.normal(labels * 1.0, 1.0), 1)  # one decimal: many ties, some across labels
        ref_eer, ref_dcf = _sklearn_eer_and_dcf(scores, labels)
        for order in (np.arange(60), rng.permutation(60), rng.permutation(60)):
            assert eer(scores[order], labels[order]) == pytest.approx(ref_eer, abs=1e-9)
            assert min_dcf(scores[order], labels[order]) == pytest.approx(ref_dcf, abs=1e-9)
