"""Retention: probe audio, probe embeddings and identification results are kept no longer than set.

Run by the ``retention_timer`` function every 10 minutes (and ``voiceid retention``):

* ``identify/`` uploads older than ``VOICEID_PROBE_AUDIO_RETENTION_S`` once they have their
  result (an upload with no result yet is kept one day longer, so work is never lost);
* ``results/identify/`` documents older than ``VOICEID_RESULT_RETENTION_S``;
* ``match-state``: probe embeddings kept on purpose (``VOICEID_PROBE_EMBEDDING_RETENTION_S`` > 0)
  once older than that, and anything of a request older than :data:`IN_FLIGHT_S` (a request
  that can no longer finish: five deliveries of a ten-minute function take under an hour);
* blob receipts whose blob is gone (their path names the blob).

0 keeps the audio or results for ever. Enrolment audio and results are not swept: they live as
long as the voiceprint they back, and go with it (``voiceid delete``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

from shared.core import contract
from shared.core.settings import Settings
from shared.storage.base import BlobItem, ConcurrencyConflict, Storage

log = logging.getLogger(__name__)
IN_FLIGHT_S = 3600.0
UNFINISHED_GRACE_S = 86400.0
RECEIPT_MIN_AGE_S = 300.0


@dataclass(frozen=True)
class SweepReport:
    probe_audio: int = 0
    results: int = 0
    match_state: int = 0
    receipts: int = 0


def _age(item: BlobItem, now: float) -> float:
    return now - item.modified.timestamp() if item.modified is not None else 0.0


def _has_result(storage: Storage, item: BlobItem) -> bool:
    doc = storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, item.name))
    return doc is not None and doc.get("etag") == item.etag


def due_probes(items: list[BlobItem], now: float, retention_s: float,
               has_result: Callable[[BlobItem], bool]) -> list[BlobItem]:
    """Probe uploads past retention: with their result, or a day past it without one (0: keep all)."""
    if not retention_s:
        return []
    return [i for i in items if _age(i, now) > retention_s
            and (_age(i, now) > retention_s + UNFINISHED_GRACE_S or has_result(i))]


def _delete_unchanged(storage: Storage, item: BlobItem) -> bool:
    """Delete the version listed; a re-upload since then is new work and stays."""
    try:
        return storage.delete(contract.IDENTIFY, item.name, if_match=item.etag)
    except ConcurrencyConflict:
        return False


def sweep(storage: Storage, settings: Settings, now: float | None = None) -> SweepReport:
    """Delete what is past its retention; returns counts (idempotent, safe to run concurrently)."""
    now = time.time() if now is None else now
    probes = storage.list(contract.IDENTIFY)
    old = due_probes(probes, now, settings.probe_audio_retention_s, lambda i: _has_result(storage, i))
    audio = sum(_delete_unchanged(storage, i) for i in old)
    keep_results = settings.result_retention_s
    results = sum(storage.delete(contract.RESULTS, i.name) for i in storage.list(contract.RESULTS, "identify/")
                  if keep_results and _age(i, now) > keep_results)
    state = sum(storage.delete(contract.MATCH_STATE, i.name) for i in storage.list(contract.MATCH_STATE)
                if _age(i, now) > IN_FLIGHT_S or (i.name.endswith("/probe.npy") and settings.probe_embedding_retention_s
                                                  and _age(i, now) > settings.probe_embedding_retention_s))
    report = SweepReport(probe_audio=audio, results=results, match_state=state,
                         receipts=orphan_receipts(storage, {i.name for i in probes} - {i.name for i in old}, now))
    if any(asdict(report).values()):
        log.info("retention sweep deleted %s", asdict(report))
    return report


def orphan_receipts(storage: Storage, identify_blobs: set[str], now: float) -> int:
    """Delete receipts of enroll/identify/watchlist blobs that no longer exist (deleted, erased, removed or past
    retention).

    Only receipts older than :data:`RECEIPT_MIN_AGE_S`: a blob uploaded after the listing may
    already have its receipt, and deleting that would deliver it again.
    """
    live = {contract.IDENTIFY: identify_blobs, contract.ENROLL: {i.name for i in storage.list(contract.ENROLL)},
            contract.WATCHLIST: {i.name for i in storage.list(contract.WATCHLIST)}}
    count = 0
    for item in storage.list(contract.HOSTS, contract.RECEIPTS):
        target = contract.receipt_target(item.name)
        if (target is not None and target[0] in live and target[1] not in live[target[0]]
                and _age(item, now) > RECEIPT_MIN_AGE_S):
            count += storage.delete(contract.HOSTS, item.name)
    return count
