"""Match worker: score one probe against one gallery shard, then try the fan-in.

Idempotent by construction: the partial of (request, shard) has a fixed name, and
a job whose request already has its result is acknowledged without work, so a
message delivered twice still yields exactly one result document.

Shards are held in memory between jobs and re-read only when their ETag changes
(:mod:`shared.shardcache`); stage 1 of a 1:N search is then one matrix-vector product
over the shard's prepared speaker models.
"""

from __future__ import annotations

import io
import logging
import time

import numpy as np

from . import contract, faults, fanin, sealing
from .embedding import ModelInfo
from .errors import PermanentError, TransientError, VoiceIdError
from .gallery import Gallery
from .gallerystats import GalleryStats, Scored
from .identify import partial_prefix
from .names import speaker_key
from .normalization import shortlist
from .records import Candidate, MatchJob, ShardPartial
from .scoring import top_k
from .settings import Settings
from .shardcache import PreparedShard, shard_cache
from .storage import Storage, get_storage

log = logging.getLogger(__name__)
SHORTLIST_MIN = 20  # speakers per shard re-scored in full, at least (and 4 x top_k)


def full_scores(probe: np.ndarray, prepared: PreparedShard, keys: list[str], models: np.ndarray,
                stats: GalleryStats, aggregation: str) -> list[Scored]:
    """Stage 2: calibrated scores of the shortlisted speakers (``max``: their best single voiceprint)."""
    if aggregation == "mean":
        return stats.score(probe, keys, models)
    rows = [i for k in keys for i in prepared.rows[k]]
    best: dict[str, Scored] = {}
    for s in stats.score(probe, [prepared.shard.entries[i]["key"] for i in rows], prepared.shard.matrix[rows]):
        if s.key not in best or s.score > best[s.key].score:
            best[s.key] = s
    return list(best.values())


def score_shard(job: MatchJob, probe: np.ndarray, prepared: PreparedShard, stats: GalleryStats,
                settings: Settings) -> ShardPartial:
    """The shard's best candidates for this probe (only the claimed speaker for 1:1)."""
    t0 = time.perf_counter()
    if job.claimed is not None:
        row = prepared.index.get(speaker_key(job.claimed))
        keep = [] if row is None else [row]
    else:
        keep = shortlist(stats.cohort.center(probe), prepared.centred, max(SHORTLIST_MIN, 4 * settings.top_k))
    keys, models = [prepared.keys[i] for i in keep], prepared.models[keep]
    scored = full_scores(probe, prepared, keys, models, stats, settings.score_aggregation)
    ranked = top_k((Candidate(speaker=prepared.names[s.key], score=s.score, key=s.key, cosine=s.cosine)
                    for s in scored), settings.top_k)
    return ShardPartial(request_id=job.request_id, shard=job.shard, candidates=tuple(ranked),
                        scored=len(prepared.shard.entries), match_ms=round((time.perf_counter() - t0) * 1000, 2),
                        calibration=stats.summary())


def _load_probe(storage: Storage, job: MatchJob, settings: Settings) -> np.ndarray | None:
    got = sealing.read_blob(storage, settings.keyring(), contract.MATCH_STATE, job.probe)
    return None if got is None else np.load(io.BytesIO(got[0]), allow_pickle=False)


def handle_match(body: str | bytes, dequeue_count: int, max_dequeue_count: int, settings: Settings) -> None:
    """Process one ``match-jobs`` message.

    On the last allowed delivery a failure also writes an ``error`` result, so the
    sender is never left waiting; the host then moves the message to the poison queue.
    """
    try:
        job = MatchJob.from_json(body)
    except PermanentError as err:
        log.error("dropping malformed match job: %s", err.message)
        return
    storage = get_storage(settings.storage_connection)
    try:
        _process(storage, job, settings)
    except VoiceIdError as err:
        if isinstance(err, PermanentError) or dequeue_count >= max_dequeue_count:
            fanin.write_error(storage, job, err)
        if isinstance(err, TransientError):
            raise
    except Exception as exc:
        if dequeue_count >= max_dequeue_count:
            fanin.write_error(storage, job, TransientError(f"{type(exc).__name__}: {exc}"))
        raise


def _process(storage: Storage, job: MatchJob, settings: Settings) -> None:
    if fanin.already_done(storage, job):
        log.info("request %s already has its result; duplicate job for shard %d ignored", job.request_id, job.shard)
        fanin.cleanup(storage, job.request_id)
        return
    probe = _load_probe(storage, job, settings)
    if probe is None:
        if fanin.already_done(storage, job):
            return
        raise PermanentError("the probe embedding of this request is missing", code="match.probe_missing",
                             hint="Upload the file again.")
    gallery = Gallery(storage, ModelInfo.from_id(job.model_id, dim=int(probe.shape[-1])), settings.shard_count,
                      settings.keyring())
    cache = shard_cache(settings)
    stats, stats_etag = cache.stats(gallery, settings.storage_connection)
    prepared = cache.shard(gallery, job.shard, stats, stats_etag, settings.storage_connection)
    partial = score_shard(job, probe, prepared, stats, settings)
    faults.pause("match.scored")
    storage.write(contract.MATCH_STATE, f"{partial_prefix(job.request_id)}{job.shard:04d}.json",
                  partial.to_json().encode("utf-8"), content_type="application/json")
    fanin.try_finish(storage, job, settings)
