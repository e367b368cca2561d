"""Match worker: score one probe against one gallery shard, then try the fan-in.

Idempotent by construction: the partial of (request, shard) has a fixed name, and
a job whose request already has its result is acknowledged without work, so a
message delivered twice still yields exactly one result document.

Shards are held in memory between jobs and re-read only when their ETag changes
(:mod:`shared.gallery.cache`); stage 1 of a 1:N search is then one matrix-vector product
over the shard's prepared speaker models.
"""

from __future__ import annotations

import io
import logging

import numpy as np

from shared.core import contract, faults, telemetry
from shared.core.contract import partial_prefix
from shared.core.errors import PermanentError, TransientError, VoiceIdError
from shared.core.models import ModelInfo
from shared.core.records import MatchJob
from shared.core.settings import Settings
from shared.gallery.cache import shard_cache
from shared.gallery.store import Gallery
from shared.pipeline import fanin
from shared.scoring.probe import score_shard
from shared.storage import sealing
from shared.storage.azure import get_storage
from shared.storage.base import Storage

log = logging.getLogger(__name__)


def _load_probe(storage: Storage, job: MatchJob, settings: Settings) -> np.ndarray | None:
    got = sealing.read_blob(storage, sealing.keyring(settings.voiceprint_keys), contract.MATCH_STATE, job.probe)
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
                      sealing.keyring(settings.voiceprint_keys))
    cache = shard_cache(settings)
    stats, stats_etag = cache.stats(gallery, settings.storage_connection)
    prepared = cache.shard(gallery, job.shard, stats, stats_etag, settings.storage_connection)
    with telemetry.span("score_shard", **{"voiceid.shard": job.shard, "voiceid.shards": len(job.shards),
                                          "voiceid.speakers": len(prepared.keys)}):
        partial = score_shard(job, probe, prepared, stats.tail_model(settings.score_tail), settings)
    faults.pause("match.scored")
    storage.write(contract.MATCH_STATE, f"{partial_prefix(job.request_id)}{job.shard:04d}.json",
                  partial.to_json().encode("utf-8"), content_type="application/json")
    fanin.try_finish(storage, job, settings)
