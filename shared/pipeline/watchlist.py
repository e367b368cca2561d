"""The fraud watchlist: add a case's voice (``watchlist/<case id>/<file>``), screen every probe, remove a case.

Adding goes through the same front end and liveness check as an enrolment; a recording
classed as an attack is refused, because a watchlist case made from a cloned voice would
flag the person it imitates. Every enrolment, identification and verification is then
screened (:func:`screen_probe`) with the customer gallery's statistics, so the scores are
on the scale every result uses (:mod:`shared.scoring.watchlist`). What a match does is a
setting: ``VOICEID_WATCHLIST_ENROLL`` and ``VOICEID_WATCHLIST_VERIFY`` (``flag`` or
``reject``); identification always reports and never changes its answer. Every change is
audited (``watchlist``, ``watchlist_upload`` with the uploading operator, ``watchlist_remove``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import numpy as np

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.names import parse_watchlist, speaker_key
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.gallery.cache import shard_cache
from shared.gallery.shards import Voiceprint, voiceprint_id
from shared.gallery.store import Gallery
from shared.gallery.watchlist import drop_case, watchlist_gallery
from shared.results import audit
from shared.results import documents as results
from shared.scoring.stats import GalleryStats
from shared.scoring.watchlist import Screening, screen
from shared.storage.azure import get_storage
from shared.storage.base import Storage
from shared.storage.sealing import keyring

log = logging.getLogger(__name__)


def screen_probe(storage: Storage, settings: Settings, model: ModelInfo, vector: np.ndarray, band: str,
                 stats: GalleryStats | None = None) -> Screening:
    """The watchlist cases ``vector`` matches (``stats``: the customer gallery's, read here when not given).

    Both the statistics and the watchlist shard come from the process's shard cache, so a
    probe costs two ETag reads and one matrix product over the cases.
    """
    cache, where, ring = shard_cache(settings), settings.storage_connection, keyring(settings.voiceprint_keys)
    stats_etag = None
    if stats is None:
        stats, stats_etag = cache.stats(Gallery(storage, model, settings.shard_count, ring), where)
    cases = cache.shard(watchlist_gallery(storage, model, ring), 0, stats, stats_etag, where)
    found = screen(vector, cases, stats.tail_model(settings.score_tail), settings.watchlist_target_far, band)
    if found.matched:
        log.warning("watchlist: the voice matches %d case(s), best score %.2f >= %.2f", len(found.hits),
                    found.hits[0].score, found.threshold)
    return found


def refuse_if_listed(found: Screening, policy: str, code: str, details: dict) -> None:
    """Under ``reject``, a watchlist match ends the request as a rejected result naming the cases (``code``)."""
    if found.matched and policy == "reject":
        raise PermanentError(
            f"the voice matches {len(found.hits)} fraud watchlist case(s) (best score {found.hits[0].score:.2f} >= "
            f"{found.threshold:.2f}); it was not accepted", code=code,
            hint="Refer the request to the fraud team; the audit log and this result name the case.",
            details={**details, "watchlist": found.public()})


def handle_watchlist(inp: BlobInput, settings: Settings) -> dict:
    """Add a voiceprint to the case the blob names and write the ``watchlist`` result."""
    # imported here: the HTTP API imports this module and must not load the model
    from shared.embedding.frontend import embed_input
    from shared.pipeline import liveness_check

    start = time.time()
    storage = get_storage(settings.storage_connection)
    model_id = None
    try:
        target = parse_watchlist(inp.blob)
        emb = embed_input(inp, settings, min_speech_s=settings.min_speech_enroll_s)
        model_id = emb.model.id
        live, live_ms = liveness_check.check(emb, settings, "enroll")
        liveness_check.refuse_attack(live, emb, "watchlist")
        vp = Voiceprint(
            voiceprint_id=voiceprint_id(contract.WATCHLIST, inp.blob), key=speaker_key(target.speaker),
            speaker=target.speaker, embedding=emb.vector, blob=f"{contract.WATCHLIST}/{inp.blob}", etag=inp.etag,
            sha256=inp.sha256, duration_s=emb.audio["duration_s"], net_speech_s=emb.audio["net_speech_s"],
            created_at=results.now_iso(), band=emb.audio["band"])
        case = watchlist_gallery(storage, emb.model, keyring(settings.voiceprint_keys)).add(vp)
        timings = {**emb.timings_ms, "liveness": live_ms, "total": results.ms_since(start)}
        doc = results.base("watchlist", contract.WATCHLIST, inp.blob, inp.etag, model_id=model_id, timings_ms=timings,
                           request_id=inp.request_id, audio=emb.audio, liveness=live and live.to_json(), case=case,
                           voiceprint_id=vp.voiceprint_id)
    except PermanentError as err:
        doc = results.rejected("watchlist", contract.WATCHLIST, inp, err, start, model_id)
    results.write(storage, contract.WATCHLIST, inp.blob, doc)
    return doc


@dataclass(frozen=True)
class RemovalReport:
    """What removing a case deleted (counts and the case id only)."""

    case: str
    voiceprints: int = 0
    models: tuple[str, ...] = ()
    uploads: int = 0
    results: int = 0

    @property
    def found(self) -> bool:
        return bool(self.voiceprints or self.uploads or self.results)

    def to_dict(self) -> dict:
        return {"case": self.case, "found": self.found, "voiceprints": self.voiceprints, "models": list(self.models),
                "uploads": self.uploads, "results": self.results}


def _is_case(blob: str, key: str) -> bool:
    try:
        return speaker_key(parse_watchlist(blob).speaker) == key
    except PermanentError:
        return False


def remove_case(storage: Storage, settings: Settings, case: str, *, actor: str) -> RemovalReport:
    """Delete a case everywhere: its voiceprints (every model), its uploaded audio and their results; audited.

    Idempotent. An upload of the case still in flight adds it back: remove again once its result is in.
    """
    key = speaker_key(case)
    if not key:
        raise PermanentError("the case id is empty", code="name.invalid", hint="Name the case to remove.")
    voiceprints, models = drop_case(storage, key, keyring(settings.voiceprint_keys))
    blobs = [i.name for i in storage.list(contract.WATCHLIST) if _is_case(i.name, key)]
    uploads = sum(storage.delete(contract.WATCHLIST, b) for b in blobs)
    prefix = f"{contract.WATCHLIST}/"
    docs = [i.name for i in storage.list(contract.RESULTS, prefix) if _is_case(i.name[len(prefix):-len(".json")], key)]
    removed = sum(storage.delete(contract.RESULTS, n) for n in docs)
    report = RemovalReport(case=case, voiceprints=voiceprints, models=tuple(models), uploads=uploads, results=removed)
    audit.record(storage, "watchlist_remove", actor=actor, outcome="removed" if report.found else "not_found",
                 speaker=case, voiceprints=voiceprints, uploads=uploads)
    log.info("watchlist: case removed (%d voiceprints, %d uploads, %d results)", voiceprints, uploads, removed)
    return report


def record_upload(storage: Storage, case: str, blob: str, *, actor: str) -> None:
    """Who put a file on the watchlist (the trigger's own event says what came of it)."""
    audit.record(storage, "watchlist_upload", actor=actor, outcome="uploaded", speaker=case,
                 blob=f"{contract.WATCHLIST}/{blob}")
