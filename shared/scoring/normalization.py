"""Score normalisation learned from the deployment's own gallery (pure numpy, no storage).

Raw cosine scores shift with the channel: the same threshold that rejects every
impostor on studio speech lets half of them through on telephone audio
(docs/thresholds.md). So every score is normalised with statistics of *this*
gallery, which is recorded on this deployment's channel:

1. **Mean-centering.** Embeddings are centred on the mean of the enrolled speaker
   models and re-normalised, removing the direction that all voices of a channel share.
   A fused voiceprint (several models side by side, ``parts``) is re-normalised part by
   part, so that centring cannot let one model outweigh the other.
2. **Adaptive S-norm** (AS-norm, as in the WeSpeaker and SpeechBrain recipes). The
   cohort is the other enrolled speakers. A score is compared with the top-``N``
   cohort scores of the enrolled model (its nearest other speakers) and of the probe.
   On the probe side the single best cohort match is left out as well: when the
   probe is an enrolled speaker claiming someone else, that best match is usually
   the probe's own voiceprint, and a cohort that contains the probe's own speaker
   says nothing about impostors.
3. **Impostor distribution** (:func:`impostor_scores`). Different enrolled speakers
   are known non-matches, so normalised scores between them (each pair scored with
   both speakers left out of the cohort, as for a caller who is not enrolled)
   sample this deployment's impostor scores. :mod:`shared.scoring.calibration` turns their
   mean and spread into the threshold of an operating point.

Chosen by measurement on the team kit's development trials (docs/accuracy.md).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

COHORT_TOP_N = 200  # cohort scores averaged per side (all of them when the gallery is smaller)
PROBE_DROP = 1  # best probe-side cohort matches left out (see module docstring)
MIN_COHORT_STD = 0.05  # a cohort of a few speakers can agree by chance; its spread is never taken as tighter
MAX_COHORT = 500  # speaker models kept in the stored cohort
MAX_PAIR_SPEAKERS = 200  # speakers sampled for the impostor estimate (n * (n - 1) ordered pairs)
MIN_PER_GROUP = 50  # of a large gallery's sample, at least this many speakers of every band


def l2(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return x / np.where(norms == 0, 1.0, norms)


def l2_parts(x: np.ndarray, parts: Sequence[int] = ()) -> np.ndarray:
    """Each block of ``parts`` columns scaled to unit length, then the whole row (one part: :func:`l2`).

    A fused voiceprint keeps every model's cosine with equal weight: the cosine of two
    such rows is the mean of the parts' cosines.
    """
    if len(parts) < 2:
        return l2(x)
    edges = np.cumsum((0, *parts))
    blocks = [l2(x[..., a:b]) for a, b in zip(edges[:-1], edges[1:])]
    return np.concatenate(blocks, axis=-1) / np.sqrt(len(parts))


def speaker_models(matrix: np.ndarray, keys: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """One model per speaker: the normalised mean of their voiceprints (rows of ``matrix``)."""
    if len(keys) == 0:
        return [], np.zeros((0, matrix.shape[1]), np.float32)
    uniq, inverse = np.unique(np.asarray(keys), return_inverse=True)
    sums = np.zeros((len(uniq), matrix.shape[1]), np.float64)
    np.add.at(sums, inverse, matrix)
    return [str(k) for k in uniq], l2(sums).astype(np.float32)


@dataclass(frozen=True)
class Cohort:
    """The gallery's mean and its centred speaker models: what every score is normalised with."""

    mean: np.ndarray = field(repr=False)
    models: np.ndarray = field(repr=False)  # (C, dim), centred and normalised
    keys: tuple[str, ...] = ()
    parts: tuple[int, ...] = ()  # the models side by side in a fused voiceprint (empty: one model)

    @classmethod
    def from_models(cls, keys: Sequence[str], models: np.ndarray, limit: int = MAX_COHORT,
                    parts: Sequence[int] = ()) -> Cohort:
        """Centre on the mean of all ``models``; keep at most ``limit`` of them (a stable choice by key)."""
        mean = models.mean(axis=0) if len(models) else np.zeros(models.shape[1], np.float32)
        keep = sorted(range(len(keys)), key=lambda i: _stable_rank(keys[i]))[:limit]
        keep.sort()
        return cls(mean=mean.astype(np.float32), models=l2_parts(models[keep] - mean, parts).astype(np.float32),
                   keys=tuple(keys[i] for i in keep), parts=tuple(parts))

    def center(self, x: np.ndarray) -> np.ndarray:
        return l2_parts(x - self.mean, self.parts).astype(np.float32)


def _stable_rank(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _top_stats(values: np.ndarray, n: int) -> tuple[float, float]:
    """Mean and standard deviation of the ``n`` largest values (0 and 1 when there are none)."""
    if len(values) == 0:
        return 0.0, 1.0
    top = np.sort(values)[::-1][:n]
    return float(top.mean()), float(top.std()) if len(top) > 1 else 1.0


def _asnorm(raw: float, enrol: tuple[float, float], probe: tuple[float, float]) -> float:
    (m1, s1), (m2, s2) = enrol, probe
    return 0.5 * ((raw - m1) / max(s1, MIN_COHORT_STD) + (raw - m2) / max(s2, MIN_COHORT_STD))


@dataclass(frozen=True)
class Normalised:
    """One probe against one speaker model."""

    key: str
    cosine: float  # raw cosine of the un-centred embeddings (for diagnostics)
    snorm: float  # the AS-normalised score


def score(probe: np.ndarray, keys: Sequence[str], models: np.ndarray, cohort: Cohort,
          top_n: int = COHORT_TOP_N, drop: int = PROBE_DROP) -> list[Normalised]:
    """AS-normalised scores of ``probe`` against each speaker model (``models`` rows, un-centred)."""
    if len(keys) == 0:
        return []
    p = cohort.center(probe)
    centred = cohort.center(models)
    raw = centred @ p
    probe_cohort = cohort.models @ p
    enrol_cohort = centred @ cohort.models.T
    cohort_keys = np.asarray(cohort.keys)
    order = np.argsort(-probe_cohort)
    out = []
    for j, key in enumerate(keys):
        own = cohort_keys == key
        probe_side = probe_cohort[order][~own[order]][drop:]
        out.append(Normalised(key=key, cosine=float(models[j] @ probe),
                              snorm=_asnorm(float(raw[j]), _top_stats(enrol_cohort[j][~own], top_n),
                                            _top_stats(probe_side, top_n))))
    return out


def shortlist(centred_probe: np.ndarray, centred_models: np.ndarray, size: int) -> list[int]:
    """Stage 1: the rows of the ``size`` speakers nearest to the probe by centred cosine (one matrix product)."""
    if len(centred_models) <= size:
        return list(range(len(centred_models)))
    near = centred_models @ centred_probe
    return sorted(np.argpartition(-near, size - 1)[:size].tolist())


def pair_sample(keys: Sequence[str], max_speakers: int = MAX_PAIR_SPEAKERS,
                groups: Sequence[str] | None = None) -> list[int]:
    """The rows of ``keys`` whose pairs estimate the impostor scores: all of a small gallery, else a stable sample.

    With ``groups`` (a band per row, ``""`` unknown) every group keeps at least
    :data:`MIN_PER_GROUP` of its speakers in the sample, so a channel that is a small share of a
    large gallery still has pairs of its own to fit (:mod:`shared.scoring.bands`).
    """
    order = sorted(range(len(keys)), key=lambda i: _stable_rank(keys[i]))
    if groups is None or len(keys) <= max_speakers:
        return sorted(order[:max_speakers])
    chosen: list[int] = []
    for group in sorted(set(groups) - {""}):
        chosen += [i for i in order if groups[i] == group][:MIN_PER_GROUP]
    taken = set(chosen)
    rest = [i for i in order if i not in taken]
    return sorted(chosen + rest[:max(max_speakers - len(chosen), 0)])


def impostor_pairs(keys: Sequence[str], max_speakers: int = MAX_PAIR_SPEAKERS,
                   groups: Sequence[str] | None = None) -> list[tuple[int, int]]:
    """(claim, probe) rows of ``keys`` behind each score of :func:`impostor_scores`, in its order."""
    pick = pair_sample(keys, max_speakers, groups)
    return [(i, j) for j in pick for i in pick if i != j]


def impostor_scores(keys: Sequence[str], models: np.ndarray, cohort: Cohort, top_n: int = COHORT_TOP_N,
                    drop: int = PROBE_DROP, max_speakers: int = MAX_PAIR_SPEAKERS,
                    groups: Sequence[str] | None = None) -> np.ndarray:
    """Normalised scores of every ordered pair of different enrolled speakers (known non-matches).

    Speaker ``j``'s model plays a probe claiming speaker ``i``; both are left out of the
    cohort on both sides, as for a caller who is not enrolled. Large galleries are
    sampled to ``max_speakers`` speakers (a stable choice by key, :func:`pair_sample`).
    """
    pick = pair_sample(keys, max_speakers, groups)
    keys = [keys[i] for i in pick]
    centred = cohort.center(models[pick])
    cross = centred @ cohort.models.T  # (n, C)
    raw = centred @ centred.T
    cohort_keys = np.asarray(cohort.keys)
    out = []
    for j, probe_key in enumerate(keys):
        probe_row = cross[j][cohort_keys != probe_key]
        probe_keys = cohort_keys[cohort_keys != probe_key]
        order = np.argsort(-probe_row)
        for i, claim_key in enumerate(keys):
            if i == j:
                continue
            probe_side = probe_row[order][probe_keys[order] != claim_key][drop:]
            enrol_row = cross[i][(cohort_keys != claim_key) & (cohort_keys != probe_key)]
            out.append(_asnorm(float(raw[i, j]), _top_stats(enrol_row, top_n), _top_stats(probe_side, top_n)))
    return np.asarray(out, np.float64)
