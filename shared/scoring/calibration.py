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
from dataclasses import asdict, dataclass, replace

import numpy as np
from scipy.special import log_ndtr, ndtr

LN10 = math.log(10.0)
MIN_STD = 0.05
IQR_PER_STD = 1.349  # interquartile range of a standard normal
OUTLIER_SPREADS = 6.0
TAIL_SPREADS = 12.0  # the tail fit keeps the impostor scores within this many robust spreads of the median
TAIL_QUANTILE = 0.95  # the extreme-value fit models the impostor scores above this quantile (bench/tail_fit.py)
MIN_EXCEEDANCES = 50  # impostor pairs above it the fit needs (else the normal fit's tail is used)
MAX_EVIDENCE = 15.0  # a score the fitted tail cannot reach at all reads as 1 in 10^15


@dataclass(frozen=True)
class Tail:
    """A generalised Pareto fit of the impostor scores above ``threshold`` (peaks over threshold).

    The normal fit describes the bulk of the impostor scores well and their far tail badly: on
    read speech it under-stated the false-accept rate at the 0.1 % and 0.01 % points 2.5-6x
    (docs/accuracy.md, "Stricter operating points"). Above ``threshold`` the share of impostors
    scoring at least ``s`` is ``share * (1 + shape * (s - threshold) / scale) ** (-1 / shape)``;
    ``share`` is the normal fit's own share at ``threshold``, so the two pieces meet there and
    the calibrated score stays continuous and increasing.
    """

    threshold: float
    share: float
    shape: float
    scale: float
    exceedances: int

    def log10_share(self, snorm: float) -> float:
        """log10 of the estimated share of impostors at or above ``snorm`` (``snorm >= threshold``)."""
        y = (snorm - self.threshold) / self.scale
        if abs(self.shape) < 1e-9:
            log_sf = -y
        else:
            base = 1.0 + self.shape * y
            if base <= 0:
                return -MAX_EVIDENCE
            log_sf = -math.log(base) / self.shape
        return max(math.log10(self.share) + log_sf / LN10, -MAX_EVIDENCE)

    @classmethod
    def fit(cls, impostor: np.ndarray, mean: float, std: float, quantile: float = TAIL_QUANTILE) -> Tail | None:
        """The tail above the ``quantile`` of ``impostor`` (None with fewer than
        :data:`MIN_EXCEEDANCES` pairs above it, or when the fit fails)."""
        from scipy.stats import genpareto

        threshold = float(np.quantile(impostor, quantile))
        excess = impostor[impostor > threshold] - threshold
        if len(excess) < MIN_EXCEEDANCES or float(np.ptp(excess)) <= 0:
            return None
        try:
            shape, _, scale = genpareto.fit(excess, floc=0.0)
        except (ValueError, RuntimeError, FloatingPointError):
            return None
        if not (np.isfinite(shape) and np.isfinite(scale) and scale > 0):
            return None
        return cls(threshold=threshold, share=float(ndtr(-(threshold - mean) / std)), shape=float(shape), scale=float(scale),
                   exceedances=int(len(excess)))


@dataclass(frozen=True)
class Calibration:
    """The deployment's impostor distribution of normalised scores (a normal fit)."""

    mean: float = 0.0
    std: float = 1.0
    pairs: int = 0  # how many impostor scores the fit saw (0: the nominal prior)
    source: str = "nominal"  # "gallery", "gallery+cohort" (cold start) or "nominal"
    tail: Tail | None = None  # the extreme-value fit of the upper tail, where the gallery has the pairs for it

    @classmethod
    def from_dict(cls, data: dict) -> Calibration:
        """The inverse of ``dataclasses.asdict`` (stored statistics)."""
        tail = data.get("tail")
        return cls(**{**data, "tail": Tail(**tail) if tail else None})

    def without_tail(self) -> Calibration:
        """The normal fit alone (``VOICEID_SCORE_TAIL=normal``)."""
        return self if self.tail is None else replace(self, tail=None)

    @classmethod
    def fit(cls, impostor: np.ndarray, source: str, tail_quantile: float = TAIL_QUANTILE) -> Calibration:
        """A normal fit (mean, standard deviation) of the impostor scores, after dropping gross outliers.

        "Different enrolled speakers" are not always different people: one voice enrolled
        under two names, or a file filed under the wrong name, puts a few genuine scores
        among the impostor pairs, and they would raise the threshold for everyone. Scores
        more than :data:`OUTLIER_SPREADS` robust spreads (interquartile range / 1.349) from
        the median are left out of the normal fit; ordinary impostor tails are far inside that.
        The extreme-value :class:`Tail` is fitted where the gallery has the pairs for it, on the
        scores within :data:`TAIL_SPREADS` (a heavy tail is what it models; a duplicate identity
        lies far beyond); ``VOICEID_SCORE_TAIL`` decides whether scoring uses it.
        """
        if len(impostor) < 2:
            return cls()
        q1, median, q3 = np.percentile(impostor, [25, 50, 75])
        spread = max(float(q3 - q1) / IQR_PER_STD, MIN_STD)
        kept = impostor[np.abs(impostor - median) <= OUTLIER_SPREADS * spread]
        mean, std = float(np.mean(kept)), max(float(np.std(kept)), MIN_STD)
        tail = Tail.fit(impostor[np.abs(impostor - median) <= TAIL_SPREADS * spread], mean, std, tail_quantile)
        return cls(mean=mean, std=std, pairs=int(len(kept)), source=source, tail=tail)

    def evidence(self, snorm: float) -> float:
        """The calibrated score: ``-log10`` of the estimated false-accept rate at ``snorm``."""
        if self.tail is not None and snorm > self.tail.threshold:
            return float(-self.tail.log10_share(snorm))
        z = (snorm - self.mean) / self.std
        return float(-log_ndtr(-z) / LN10)

    def as_dict(self) -> dict:
        out = {"mean": round(self.mean, 6), "std": round(self.std, 6), "pairs": self.pairs, "source": self.source}
        if self.tail is not None:
            out["tail"] = {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self.tail).items()}
        return out


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
