"""Pure decisions on calibrated scores: top-k merge across shards, identify and verify decisions.

Scores come from :mod:`shared.scoring.stats` (normalised and calibrated); the threshold
is that of the operating point (:func:`shared.scoring.calibration.threshold_for`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.core.records import Candidate


def top_k(candidates: Iterable[Candidate], k: int) -> list[Candidate]:
    """The ``k`` best candidates, best first, one per speaker; ties broken by key so the order is stable.

    A speaker is in one shard, except for the seconds of a re-shard when their voiceprints
    are in the old shard and the new one: they are still one candidate.
    """
    best: dict[str, Candidate] = {}
    for c in candidates:
        if c.key not in best or c.score > best[c.key].score:
            best[c.key] = c
    return sorted(best.values(), key=lambda c: (-c.score, c.key))[:k]


def identify_decision(ranked: Sequence[Candidate], threshold: float) -> str:
    """The best candidate's name if it clears the threshold, else ``"unknown"``."""
    if ranked and ranked[0].score >= threshold:
        return ranked[0].speaker
    return "unknown"


def verify_decision(score: float | None, threshold: float) -> str:
    """``accept`` exactly when ``score >= threshold``; a missing score is a reject."""
    return "accept" if score is not None and score >= threshold else "reject"
