"""How a probe is scored against one shard: shortlist, full score, best candidates.

Stage 1 of a 1:N search ranks the shard's speakers by centred cosine (one matrix-vector
product, :func:`~shared.scoring.normalization.shortlist`); stage 2 scores the shortlist in
full (AS-norm and calibration, :meth:`~shared.scoring.stats.GalleryStats.score`). A 1:1
claim scores the claimed speaker only. The shard comes as any :class:`ScorableShard`, in
practice the match worker's cached :class:`~shared.gallery.cache.PreparedShard`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np

from shared.core.names import speaker_key
from shared.core.records import Candidate, MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.scoring.decisions import top_k
from shared.scoring.normalization import shortlist
from shared.scoring.stats import GalleryStats, Scored

SHORTLIST_MIN = 20  # speakers per shard re-scored in full, at least (and 4 x top_k)


class ScorableShard(Protocol):
    """What scoring needs of a shard: one model per speaker (raw and centred) and its voiceprints."""

    keys: tuple[str, ...]  # one per speaker, aligned with the rows of ``models`` and ``centred``
    models: np.ndarray
    centred: np.ndarray

    @property
    def index(self) -> Mapping[str, int]: ...  # speaker key -> row

    @property
    def names(self) -> Mapping[str, str]: ...  # speaker key -> display name

    @property
    def rows(self) -> Mapping[str, Sequence[int]]: ...  # speaker key -> rows of their voiceprints

    @property
    def entries(self) -> Sequence[dict]: ...  # the voiceprints' index entries

    @property
    def matrix(self) -> np.ndarray: ...  # the voiceprints, one row per entry

    @property
    def bands(self) -> Sequence[str]: ...  # each speaker's band, aligned with ``keys``


def full_scores(probe: np.ndarray, prepared: ScorableShard, keys: list[str], models: np.ndarray,
                stats: GalleryStats, aggregation: str, probe_band: str = "") -> list[Scored]:
    """Stage 2: calibrated scores of the shortlisted speakers (``max``: their best single voiceprint).

    Each score is calibrated with the fit of (the probe's band, the speaker's band) where the
    gallery has one (:mod:`shared.scoring.bands`); ``max`` uses each voiceprint's own band.
    """
    if aggregation == "mean":
        return stats.score(probe, keys, models, probe_band, [prepared.bands[prepared.index[k]] for k in keys])
    rows = [i for k in keys for i in prepared.rows[k]]
    best: dict[str, Scored] = {}
    for s in stats.score(probe, [prepared.entries[i]["key"] for i in rows], prepared.matrix[rows], probe_band,
                         [prepared.entries[i].get("band", "") for i in rows]):
        if s.key not in best or s.score > best[s.key].score:
            best[s.key] = s
    return list(best.values())


def score_shard(job: MatchJob, probe: np.ndarray, prepared: ScorableShard, stats: GalleryStats,
                settings: Settings) -> ShardPartial:
    """The shard's best candidates for this probe (only the claimed speaker for 1:1)."""
    t0 = time.perf_counter()
    if job.claimed is not None:
        row = prepared.index.get(speaker_key(job.claimed))
        keep = [] if row is None else [row]
    else:
        keep = shortlist(stats.cohort.center(probe), prepared.centred, max(SHORTLIST_MIN, 4 * settings.top_k))
    keys, models = [prepared.keys[i] for i in keep], prepared.models[keep]
    band = job.audio.get("band", "")
    scored = full_scores(probe, prepared, keys, models, stats, settings.score_aggregation, band)
    ranked = top_k((Candidate(speaker=prepared.names[s.key], score=s.score, key=s.key, cosine=s.cosine)
                    for s in scored), settings.top_k)
    return ShardPartial(request_id=job.request_id, shard=job.shard, candidates=tuple(ranked),
                        scored=len(prepared.entries), match_ms=round((time.perf_counter() - t0) * 1000, 2),
                        calibration=stats.summary(band))
