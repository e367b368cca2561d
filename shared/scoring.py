"""Pure scoring: cosine scores, per-speaker aggregation, top-k merge and decisions.

No storage, no model: everything here is a function of arrays, so it is unit-tested
directly. Embeddings are L2-normalised, so a dot product is a cosine.

Aggregation of a speaker's several voiceprints (setting ``VOICEID_SCORE_AGGREGATION``):
``mean`` scores the probe against the normalised mean of the speaker's voiceprints
(their centroid); ``max`` takes the best single voiceprint.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from .records import Candidate


def speaker_scores(probe: np.ndarray, matrix: np.ndarray, keys: Sequence[str],
                   aggregation: str = "mean") -> dict[str, float]:
    """One score per speaker key from a shard's voiceprint ``matrix`` (rows aligned with ``keys``)."""
    if len(keys) == 0:
        return {}
    uniq, inverse = np.unique(np.asarray(keys), return_inverse=True)
    if aggregation == "max":
        cos = matrix @ probe
        best = np.full(len(uniq), -np.inf, dtype=np.float64)
        np.maximum.at(best, inverse, cos)
        return {str(k): float(s) for k, s in zip(uniq, best)}
    if aggregation != "mean":
        raise ValueError(f"unknown aggregation {aggregation!r}")
    sums = np.zeros((len(uniq), matrix.shape[1]), dtype=np.float64)
    np.add.at(sums, inverse, matrix)
    norms = np.linalg.norm(sums, axis=1)
    norms[norms == 0] = 1.0
    return {str(k): float(s) for k, s in zip(uniq, (sums @ probe) / norms)}


def top_k(candidates: Iterable[Candidate], k: int) -> list[Candidate]:
    """The ``k`` best candidates, best first; ties broken by key so the order is stable."""
    return sorted(candidates, key=lambda c: (-c.score, c.key))[:k]


def identify_decision(ranked: Sequence[Candidate], threshold: float) -> str:
    """The best candidate's name if it clears the threshold, else ``"unknown"``."""
    if ranked and ranked[0].score >= threshold:
        return ranked[0].speaker
    return "unknown"


def verify_decision(score: float | None, threshold: float) -> str:
    """``accept`` exactly when ``score >= threshold``; a missing score is a reject."""
    return "accept" if score is not None and score >= threshold else "reject"
