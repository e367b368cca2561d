"""Accuracy measures for verification trials (pure numpy)."""

from __future__ import annotations

import numpy as np


def eer(scores: np.ndarray, labels: np.ndarray) -> float:
    """Equal error rate in percent: where false accepts and false rejects cross.

    ``labels`` is True for target (same speaker) trials. Computed exactly over
    every distinct score as a threshold, taking the mean of FAR and FRR at the
    threshold where they are closest.
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    if labels.all() or not labels.any():
        raise ValueError("EER needs both target and non-target trials")
    order = np.argsort(scores)
    lab = labels[order]  # ties between scores are split arbitrarily; scores here are continuous
    # rejecting everything below index i: FRR = targets below i, FAR = non-targets at or above i
    frr = np.concatenate([[0], np.cumsum(lab)]) / lab.sum()
    far = 1 - np.concatenate([[0], np.cumsum(~lab)]) / (~lab).sum()
    i = int(np.argmin(np.abs(far - frr)))
    return float(100 * (far[i] + frr[i]) / 2)
