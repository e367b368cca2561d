"""The liveness score a bank can set a policy on: how rare live speech that looks this much like an attack is.

A back-end's raw attack score is a log-odds on its own scale. The product reports instead
``score = -log10(share of live speech whose attack score is at least this high)``, estimated on
live speech the back-end was not trained on (out-of-fold scores kept in the artefact). So a
score of 2 means "1 live caller in 100 looks this attack-like", and a bank that is willing to
challenge 2 % of its live callers sets the threshold at ``-log10(0.02) = 1.7``. The scale is the
speaker score's (docs/thresholds.md): -log10 of an estimated error rate.

The estimate is the empirical tail with one pseudo-count, so it never claims more certainty than
the live clips behind it support: with ``n`` of them the score is at most ``log10(n + 1)``.

Refusal by the detector alone needs a point far stricter than any share the calibration can
estimate (live speech from a channel it never heard scores higher than all of its own, see
docs/security.md). That **strict point** is therefore not a share: it is a margin beyond the most
attack-like live clip of the calibration, in units of the live scores' spread (:func:`strict_from`),
the margin chosen by ``bench.liveness_deployment`` with every kit live corpus held out in turn.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LIVE, ATTACK, INCONCLUSIVE = "live", "attack", "inconclusive"
INCONCLUSIVE_FACTOR = 3.0  # live speech up to 3x more common than the attack threshold's is "inconclusive"


@dataclass(frozen=True)
class LiveCalibration:
    """Sorted raw attack scores of held-out live speech; maps a raw score to the calibrated one."""

    live_scores: np.ndarray = field(repr=False)

    def __post_init__(self):
        scores = np.sort(np.asarray(self.live_scores, np.float64))
        if scores.size == 0 or not np.all(np.isfinite(scores)):
            raise ValueError("a liveness calibration needs finite scores of live speech")
        object.__setattr__(self, "live_scores", scores)

    @property
    def ceiling(self) -> float:
        """The highest score this calibration can give: ``log10(n + 1)`` for ``n`` live clips."""
        return math.log10(self.live_scores.size + 1)

    def share_at_least(self, attack_score: float) -> float:
        """Estimated share of live speech with a raw attack score at least ``attack_score``."""
        n = self.live_scores.size
        above = n - int(np.searchsorted(self.live_scores, attack_score, side="left"))
        return (above + 1) / (n + 1)

    def score(self, attack_score: float) -> float:
        return -math.log10(self.share_at_least(attack_score))

    def strict(self, attack_score: float, margin: float) -> bool:
        """Whether the raw score reaches the strict point of ``margin`` (:func:`strict_from`)."""
        return attack_score >= strict_from(self.live_scores, margin)


def strict_from(live_scores: np.ndarray, margin: float) -> float:
    """The raw attack score of the strict point: ``margin`` standard deviations of the live scores above their top.

    ``inf`` margin: never (the detector then never refuses alone).
    """
    scores = np.asarray(live_scores, np.float64)
    if not math.isfinite(margin):
        return math.inf
    return float(scores.max() + margin * scores.std())


def min_clips_for(live_share: float) -> int:
    """Fewest live clips whose calibration can reach the threshold of ``live_share`` (its ceiling is log10(n+1))."""
    return math.ceil(round(1 / live_share, 9)) - 1


def threshold_for(live_share: float) -> float:
    """The calibrated threshold of a target share of live speech called an attack (0.02 -> 1.699)."""
    if not 0 < live_share < 1:
        raise ValueError("the share of live speech to challenge is a rate between 0 and 1, e.g. 0.02")
    return -math.log10(live_share)


def decide(score: float, live_share: float) -> str:
    """``attack`` at or above the threshold of ``live_share``; ``inconclusive`` within a factor 3 of it."""
    if score >= threshold_for(live_share):
        return ATTACK
    return INCONCLUSIVE if score >= threshold_for(min(0.999, INCONCLUSIVE_FACTOR * live_share)) else LIVE
