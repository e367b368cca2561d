"""Screening a voice against the fraud watchlist, on the customers' calibrated scale (pure).

The watchlist holds voices of confirmed fraud cases, one "speaker" per case. A probe (an
enrolment, an identification or a verification) is scored against every case with the
customer gallery's statistics, exactly as a verification against that case would be, so a
watchlist score means what every other score means: ``-log10`` of the share of impostors who
score that high (:mod:`shared.scoring.calibration`).

An innocent caller is compared with every case, so the threshold is the 1:N one over the
number of cases (:func:`~shared.scoring.calibration.identify_threshold`): with the default
``VOICEID_WATCHLIST_TARGET_FAR`` of 0.001, about one innocent caller in 1,000 is flagged,
whether the watchlist holds 10 cases or 1,000. Measured in docs/accuracy.md ("Fraud watchlist").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shared.scoring.calibration import identify_threshold
from shared.scoring.probe import ScorableShard
from shared.scoring.stats import GalleryStats

MAX_HITS = 5  # a result lists at most this many cases, best first


@dataclass(frozen=True)
class Hit:
    """A watchlist case the probe matches at or above the watchlist threshold."""

    case: str  # the case id as first uploaded
    score: float  # calibrated, on the customers' scale

    def public(self) -> dict:
        return {"case": self.case, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Screening:
    """What a result says about the watchlist: the hits, the threshold and how many cases were screened."""

    hits: tuple[Hit, ...]
    threshold: float
    cases: int

    @property
    def matched(self) -> bool:
        return bool(self.hits)

    def public(self) -> list[dict]:
        return [h.public() for h in self.hits]


def watchlist_threshold(target_far: float, cases: int) -> float:
    """The score a case must reach: an innocent caller clears it against *some* case with probability ``target_far``."""
    return identify_threshold(target_far, cases)


def screen(probe: np.ndarray, cases: ScorableShard, stats: GalleryStats, target_far: float,
           band: str = "") -> Screening:
    """Score ``probe`` against every case of the watchlist (a prepared shard, one model per case)."""
    count = len(cases.keys)
    threshold = watchlist_threshold(target_far, count)
    if count == 0:
        return Screening(hits=(), threshold=threshold, cases=0)
    scored = stats.score(probe, list(cases.keys), cases.models, band, list(cases.bands))
    hits = sorted((Hit(case=cases.names[s.key], score=s.score) for s in scored if s.score >= threshold),
                  key=lambda h: (-h.score, h.case))
    return Screening(hits=tuple(hits[:MAX_HITS]), threshold=threshold, cases=count)
