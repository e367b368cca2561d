import numpy as np
import pytest

from shared.evaluation import eer


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
