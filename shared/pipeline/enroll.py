"""Enrolment: ``enroll/<speaker>/<file>`` or ``enroll/<speaker>.<ext>`` -> a voiceprint and a result."""

from __future__ import annotations

import logging
import time

import numpy as np

from shared.core import contract, faults, telemetry
from shared.core.errors import PermanentError
from shared.core.names import parse_enroll, speaker_key
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.embedding.frontend import Embedded, embed_input
from shared.gallery import tombstones
from shared.gallery.cache import PreparedShard, shard_cache
from shared.gallery.shards import Voiceprint, shard_of, voiceprint_id
from shared.gallery.store import Gallery
from shared.liveness.detector import Liveness
from shared.pipeline import gallery_model, liveness_check, review, watchlist
from shared.results import audit
from shared.results import documents as results
from shared.scoring import integrity
from shared.scoring.stats import GalleryStats, refresh_due
from shared.storage.azure import get_storage
from shared.storage.base import ConcurrencyConflict, Storage
from shared.storage.sealing import keyring

log = logging.getLogger(__name__)


def held_gallery(gallery: Gallery, settings: Settings) -> tuple[GalleryStats, list[PreparedShard]]:
    """The statistics and every shard, from this process's shard cache (only what changed is read)."""
    cache, where = shard_cache(settings), settings.storage_connection
    stats, etag = cache.stats(gallery, where)
    return stats, [cache.shard(gallery, n, stats, etag, where) for n in range(gallery.shard_count)]


def refresh_if_due(gallery: Gallery, stats: GalleryStats, shards: list[PreparedShard], settings: Settings) -> None:
    """Rebuild the statistics when :func:`~shared.scoring.stats.refresh_due` says so, from the held speaker models."""
    speakers = sum(len(p.keys) for p in shards)
    voiceprints = sum(len(p.shard.entries) for p in shards)
    if refresh_due(stats, speakers, voiceprints, settings.stats_refresh_s):
        keys = [k for p in shards for k in p.keys]
        models = np.vstack([p.models for p in shards]) if shards else np.zeros((0, gallery.model.dim), np.float32)
        gallery.store_stats(keys, models, voiceprints, bands=[b for p in shards for b in p.bands])
    else:
        log.info("statistics of %s kept: built from %d voiceprints, the gallery has %d", gallery.model.id,
                 stats.voiceprints, voiceprints)


def discard(storage: Storage, inp: BlobInput, when: str) -> dict:
    """An enrolment of a speaker erased after its upload: no voiceprint, no result, no audio, one audit event.

    The erasure deletes the audio it lists, but an upload that lands in the second of the
    tombstone (a tie counts as erased) can be written after that listing: it is deleted here,
    this version only (a newer upload of the same name is a new enrolment), so no audio of an
    erased speaker outlives the erasure and the upload is not left waiting for a result.
    """
    try:
        removed = storage.delete(contract.ENROLL, inp.blob, if_match=inp.etag) if inp.etag else False
    except ConcurrencyConflict:
        removed = False  # overwritten since: the newer upload has its own delivery
    audit.record(storage, "discard", actor="blob-trigger", outcome="erased_speaker", blob=f"{contract.ENROLL}/{inp.blob}",
                 request_id=inp.request_id, checked=when, audio_deleted=removed)
    log.warning("enrolment %s discarded: its speaker was erased after the upload", inp.request_id)
    return {"kind": "enroll", "status": "discarded", "request_id": inp.request_id, "checked": when}


def held_for_review(storage: Storage, inp: BlobInput, speaker: str, emb: Embedded, live: Liveness,
                    start: float) -> dict:
    """The ``review`` result of an enrolment the detector called an attack below its strict point."""
    held = review.hold(storage, inp, speaker, live)
    return results.base("enroll", contract.ENROLL, inp.blob, inp.etag, status="review", model_id=emb.model.id,
                        timings_ms={**emb.timings_ms, "total": results.ms_since(start)}, request_id=inp.request_id,
                        audio=emb.audio, liveness=live.to_json(), speaker=speaker,
                        review={"id": held.id, "reasons": ["liveness.attack"], "created_at": held.created_at})


def handle_enroll(inp: BlobInput, settings: Settings) -> dict:
    """Add a voiceprint for the blob's speaker and write the enroll result.

    Bad input ends as a ``rejected`` result; storage trouble raises
    :class:`~shared.core.errors.TransientError` so the host retries. An ``attack`` below the
    detector's strict point is held for an operator (:mod:`shared.pipeline.review`), whose approval
    writes the blob again: this then finds the approval and enrols it.
    """
    start = time.time()
    storage = get_storage(settings.storage_connection)
    model_id, reviewed_by = None, None
    try:
        target = parse_enroll(inp.blob)
        if tombstones.erased_in_flight(storage, speaker_key(target.speaker), contract.ENROLL, inp.blob):
            return discard(storage, inp, "before")
        with telemetry.span("front_end", **{"voiceid.kind": "enroll"}):
            emb = embed_input(inp, settings, min_speech_s=settings.min_speech_enroll_s)
        model_id = emb.model.id
        with telemetry.span("liveness"):
            live, live_ms = liveness_check.check(emb, settings, "enroll")
        liveness_check.refuse_attack(live, emb, "enroll", strict_only=True)  # beyond the strict point: refused
        if review.due(live):  # a clone is never enrolled without a person's say
            reviewed_by = review.approved_by(storage, inp)
            if reviewed_by is None:
                doc = held_for_review(storage, inp, target.speaker, emb, live, start)
                results.write(storage, contract.ENROLL, inp.blob, doc)
                return doc
        faults.pause("enroll.embedded")
        vp = Voiceprint(
            voiceprint_id=voiceprint_id(contract.ENROLL, inp.blob), key=speaker_key(target.speaker),
            speaker=target.speaker, embedding=emb.vector, blob=f"{contract.ENROLL}/{inp.blob}",
            etag=inp.etag, sha256=inp.sha256, duration_s=emb.audio["duration_s"],
            net_speech_s=emb.audio["net_speech_s"], created_at=results.now_iso(), band=emb.audio["band"],
        )
        gallery = Gallery(storage, emb.model, settings.shard_count, keyring(settings.voiceprint_keys))
        gallery_model.require_own_gallery(gallery, settings.model)  # never start a second gallery by accident
        stats, shards = held_gallery(gallery, settings)
        checked = integrity.check(vp.embedding, vp.key, shards, stats.tail_model(settings.score_tail),
                                  settings.target_far, vp.band)
        if checked["status"] == "mismatch" and settings.enroll_mismatch == "reject":
            raise PermanentError(
                f"this file does not sound like the voiceprints already enrolled for {target.speaker!r} "
                f"(score {checked['score']}, threshold {checked['threshold']})", code="enroll.mismatch",
                hint="Check that the file is filed under the right speaker; the voiceprint was not stored.",
                details={"integrity": checked, "audio": emb.audio})
        with telemetry.span("watchlist"):
            listed = watchlist.screen_probe(storage, settings, emb.model, vp.embedding, vp.band, stats)
        watchlist.refuse_if_listed(listed, settings.watchlist_enroll, "enroll.watchlist",
                                   {"integrity": checked, "audio": emb.audio})  # a fraudster is never enrolled silently
        speaker = gallery.add(vp)
        mine = shard_of(vp.key, gallery.shard_count)
        if tombstones.erased_in_flight(storage, vp.key, contract.ENROLL, inp.blob):  # erased while we embedded
            gallery.write_shard(mine, [], drop={vp.voiceprint_id})
            return discard(storage, inp, "after")
        faults.pause("enroll.stored")
        shards[mine] = shard_cache(settings).shard(gallery, mine, stats, shards[mine].stats_etag,
                                                   settings.storage_connection)  # the one shard that changed
        twin = shards[mine].shard.same_audio(vp)  # this audio was already enrolled under another file name
        refresh_if_due(gallery, stats, shards, settings)
        timings = {**emb.timings_ms, "liveness": live_ms, "total": results.ms_since(start)}
        doc = results.base("enroll", contract.ENROLL, inp.blob, inp.etag, model_id=model_id, timings_ms=timings,
                           request_id=inp.request_id, audio=emb.audio, liveness=live and live.to_json(),
                           speaker=speaker,
                           voiceprint_id=twin["voiceprint_id"] if twin else vp.voiceprint_id,
                           duplicate_of=twin["blob"] if twin else None, integrity=checked,
                           watchlist=listed.public(), **({"reviewed_by": reviewed_by} if reviewed_by else {}))
    except PermanentError as err:
        doc = results.rejected("enroll", contract.ENROLL, inp, err, start, model_id)
    results.write(storage, contract.ENROLL, inp.blob, doc)
    if reviewed_by:  # the operator's approval is used: the review is answered
        review.close(storage, inp.blob)
    return doc
