"""Accuracy measures for verification and open-set identification trials (pure numpy)."""

from __future__ import annotations

import numpy as np


def eer(scores: np.ndarray, labels: np.ndarray) -> float:
    """Equal error rate in percent: where false accepts and false rejects cross.

    ``labels`` is True for target (same speaker) trials. Computed over every threshold
    between distinct scores, taking the mean of FAR and FRR where they are closest. Tied
    scores are one threshold: a cut can never fall between two equal scores, so the answer
    does not depend on the order of the trials.
    """
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    if labels.all() or not labels.any():
        raise ValueError("EER needs both target and non-target trials")
    far, frr = _sorted_rates(scores, labels)
    i = int(np.argmin(np.abs(far - frr)))
    return float(100 * (far[i] + frr[i]) / 2)


def _sorted_rates(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) at every threshold, from 'accept everything' to 'reject everything'.

    Accepting ``score >= t`` for each distinct score ``t`` (and rejecting all): equal scores are
    always decided together, as any real threshold decides them.
    """
    order = np.argsort(scores, kind="stable")
    ranked, lab = scores[order], np.asarray(labels, bool)[order]
    cut = np.concatenate([[True], ranked[1:] != ranked[:-1], [True]])  # cut before position k, k = 0..n
    frr = np.concatenate([[0], np.cumsum(lab)])[cut] / lab.sum()
    far = 1 - np.concatenate([[0], np.cumsum(~lab)])[cut] / (~lab).sum()
    return far, frr


def min_dcf(scores: np.ndarray, labels: np.ndarray, p_target: float = 0.01, c_miss: float = 1.0,
            c_fa: float = 1.0) -> float:
    """Normalised minimum detection cost (NIST SRE): 0 is perfect, 1 is no better than always deciding one way."""
    far, frr = _sorted_rates(np.asarray(scores, np.float64), np.asarray(labels, bool))
    cost = c_miss * p_target * frr + c_fa * (1 - p_target) * far
    return float(cost.min() / min(c_miss * p_target, c_fa * (1 - p_target)))


def det_points(scores: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(FAR, FRR) pairs of the DET curve, in percent."""
    far, frr = _sorted_rates(np.asarray(scores, np.float64), np.asarray(labels, bool))
    return 100 * far, 100 * frr


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a rate k/n, in percent (sound at 0 errors, unlike k/n +- 1.96 sigma)."""
    if n == 0:
        return (0.0, 100.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (float(100 * max(0.0, centre - half)), float(100 * min(1.0, centre + half)))


def rates_at(scores: np.ndarray, labels: np.ndarray, threshold: float) -> dict:
    """FAR and FRR (percent, with 95 % intervals and counts) when accepting exactly ``score >= threshold``."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels, bool)
    accept = scores >= threshold
    fa, n_non = int((accept & ~labels).sum()), int((~labels).sum())
    fr, n_tar = int((~accept & labels).sum()), int(labels.sum())
    return {"far": 100 * fa / max(n_non, 1), "far_ci": wilson(fa, n_non), "false_accepts": fa, "non_targets": n_non,
            "frr": 100 * fr / max(n_tar, 1), "frr_ci": wilson(fr, n_tar), "false_rejects": fr, "targets": n_tar}


def open_set(best: np.ndarray, correct: np.ndarray, known: np.ndarray, fa_rate: float = 0.01) -> dict:
    """Open-set identification from each probe's best gallery score.

    ``best``: the top score per probe; ``correct``: its top candidate is the true speaker;
    ``known``: the probe's speaker is enrolled. Returns closed-set top-1 accuracy over known
    probes and the detection-and-identification rate (DIR) at the strictest threshold that
    lets at most ``fa_rate`` of the unknown probes through.
    """
    best, correct, known = (np.asarray(a) for a in (best, correct, known))
    unknown_scores = np.sort(best[~known])[::-1]
    allowed = int(np.floor(fa_rate * len(unknown_scores)))
    threshold = float(np.nextafter(unknown_scores[allowed], np.inf)) if allowed < len(unknown_scores) else -np.inf
    detected = (best >= threshold) & correct & known
    return {"top1": float(100 * correct[known].mean()), "dir": float(100 * detected.sum() / known.sum()),
            "threshold": threshold, "false_alarms": int((best[~known] >= threshold).sum()),
            "unknown_probes": int((~known).sum())}
