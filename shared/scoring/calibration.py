"""Calibrated scores: from a normalised score to "how rarely does an impostor score this high".

A bank sets an operating point as a target false-accept rate (``VOICEID_TARGET_FAR``,
default 1 %), never as a raw score. The impostor scores of this deployment (pairs
of different enrolled speakers, :func:`shared.scoring.normalization.impostor_scores`) are
summarised by a normal fit (gross outliers left out), which is stable from a few dozen pairs where an
empirical 1 % quantile is not. Every reported score is on one scale:

    score = -log10(estimated share of impostors who score at least this high)

so 2.0 means "1 impostor in 100 scores this high", 3.0 "1 in 1,000", and the
threshold of a target FAR ``p`` is simply ``-log10(p)`` for 1:1 verification: it
means the same thing for every model, channel and gallery. 1:N identification
compares an unknown caller with every enrolled speaker, so its threshold also
depends on the gallery size (:func:`identify_threshold`). Measured on held-out
corpora in docs/accuracy.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import log_ndtr

LN10 = math.log(10.0)
MIN_STD = 0.05
IQR_PER_STD = 1.349  # interquartile range of a standard normal
OUTLIER_SPREADS = 6.0


@dataclass(frozen=True)
class Calibration:
    """The deployment's impostor distribution of normalised scores (a normal fit)."""

    mean: float = 0.0
    std: float = 1.0
    pairs: int = 0  # how many impostor scores the fit saw (0: the nominal prior)
    source: str = "nominal"  # "gallery", "gallery+cohort" (cold start) or "nominal"

    @classmethod
    def fit(cls, impostor: np.ndarray, source: str) -> Calibration:
        """A normal fit (mean, standard deviation) of the impostor scores, after dropping gross outliers.

        "Different enrolled speakers" are not always different people: one voice enrolled
        under two names, or a file filed under the wrong name, puts a few genuine scores
        among the impostor pairs, and they would raise the threshold for everyone. Scores
        more than :data:`OUTLIER_SPREADS` robust spreads (interquartile range / 1.349) from
        the median are left out; ordinary impostor tails are far inside that.
        """
        if len(impostor) < 2:
            return cls()
        q1, median, q3 = np.percentile(impostor, [25, 50, 75])
        spread = max(float(q3 - q1) / IQR_PER_STD, MIN_STD)
        kept = impostor[np.abs(impostor - median) <= OUTLIER_SPREADS * spread]
        return cls(mean=float(np.mean(kept)), std=max(float(np.std(kept)), MIN_STD), pairs=int(len(kept)),
                   source=source)

    def evidence(self, snorm: float) -> float:
        """The calibrated score: ``-log10`` of the estimated false-accept rate at ``snorm``."""
        z = (snorm - self.mean) / self.std
        return float(-log_ndtr(-z) / LN10)

    def as_dict(self) -> dict:
        return {"mean": round(self.mean, 6), "std": round(self.std, 6), "pairs": self.pairs, "source": self.source}


def threshold_for(target_far: float) -> float:
    """The calibrated-score threshold of a target false-accept rate (0 < target_far < 1)."""
    if not 0 < target_far < 1:
        raise ValueError("the target false-accept rate must be between 0 and 1 (e.g. 0.01 for 1 %)")
    return -math.log10(target_far)


def identify_threshold(target_far: float, speakers: int) -> float:
    """The threshold of 1:N identification over ``speakers`` enrolled speakers.

    An unknown caller is compared with every enrolled speaker, so the chance that
    *some* comparison clears a 1:1 threshold grows with the gallery. The per-comparison
    rate is set so that an unknown caller is matched to anyone with probability
    ``target_far`` (Sidak: ``1 - (1 - p) ** (1 / N)``, about ``p / N``).
    """
    per_comparison = -math.expm1(math.log1p(-target_far) / max(speakers, 1))
    return threshold_for(per_comparison)
