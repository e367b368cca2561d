"""Erasure of a speaker (GDPR Art. 17 on biometric data): every voiceprint and every copy of their enrolment.

``voiceid delete SPEAKER`` runs :func:`erase`, in this order:

1. **Tombstone** ``gallery/tombstones/<key hash>.json`` (a hash, no name). From now on an
   enrolment of this speaker whose blob was written *before* the tombstone is discarded
   (no voiceprint, no result), so an enrolment already in flight cannot bring them back.
   An upload written *after* it is a deliberate new enrolment and goes through.
2. **Voiceprints** of the speaker in every model's gallery and every shard (a re-shard may
   hold two copies), then the gallery statistics are rebuilt without them (they hold one
   model per speaker).
3. **Enrolment audio** ``enroll/<speaker>/…`` and ``enroll/<speaker>.<ext>``, every spelling
   of the name that maps to the same key.
4. **Enrolment results** ``results/enroll/…`` of those blobs.
5. **Blob receipts** of those blobs in ``azure-webjobs-hosts`` (their paths name the speaker).
6. **Match state**: partials naming the speaker and their requests' probe embeddings.
7. **Poison messages** of verifications claiming the speaker (they already have their
   error result). Match jobs still queued are left alone: they find no voiceprint and
   end as a ``not_enrolled`` reject, so nobody waits for ever.
8. **Lockout** state of the speaker, then one ``delete`` audit event.

Every step is idempotent, so deleting twice, or again after a crash, is fine. What keeps
the name afterwards, by design: the tombstone (a hash only), the ``audit`` log,
``identify/`` uploads of past verifications that claimed the speaker, their receipts, and
``results/identify/`` documents of past identifications (they record decisions that were
made; their retention is ``VOICEID_PROBE_AUDIO_RETENTION_S``). None holds an embedding.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.names import parse_enroll, speaker_key
from shared.core.records import MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.gallery.store import stored_galleries
from shared.results import audit
from shared.storage.base import Storage
from shared.storage.sealing import keyring

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ErasureReport:
    """What one erasure removed (counts only: the report may be logged and audited)."""

    speaker: str
    key_hash: str
    voiceprints: int = 0
    models: tuple[str, ...] = ()
    enroll_blobs: int = 0
    results: int = 0
    receipts: int = 0
    match_state: int = 0
    queue_messages: int = 0
    found: bool = False

    def counts(self) -> dict:
        return {k: getattr(self, k) for k in ("voiceprints", "enroll_blobs", "results", "receipts", "match_state",
                                               "queue_messages")}


def erase(storage: Storage, settings: Settings, speaker: str, *, actor: str) -> ErasureReport:
    """Erase ``speaker`` everywhere (see the module docstring for the order and why)."""
    key = speaker_key(speaker)
    if not key:
        raise PermanentError("the speaker name is empty", code="name.invalid", hint="Name the speaker to delete.")
    storage.write_json(contract.GALLERY, contract.tombstone_blob(key), {"key_sha256": contract.key_hash(key), "version": 1})
    voiceprints, models = remove_voiceprints(storage, settings, key)
    blobs = _enroll_blobs(storage, key)
    for name in blobs:
        storage.delete(contract.ENROLL, name)
    results = sum(storage.delete(contract.RESULTS, contract.result_blob_name(contract.ENROLL, b)) for b in blobs)
    results += _delete_stray_results(storage, key)
    receipts = _delete_receipts(storage, key)
    state = _delete_match_state(storage, key) + _delete_reviews(storage, key)
    queued = storage.drain(contract.MATCH_QUEUE + contract.POISON_SUFFIX, lambda m: _names_speaker(m.content, key))
    storage.delete(contract.GALLERY, contract.lock_blob(key))
    report = ErasureReport(speaker=speaker, key_hash=contract.key_hash(key), voiceprints=voiceprints, models=tuple(models),
                           enroll_blobs=len(blobs), results=results, receipts=receipts, match_state=state,
                           queue_messages=queued, found=bool(voiceprints or blobs))
    audit.record(storage, "delete", actor=actor, outcome="erased" if report.found else "nothing_found",
                 speaker=speaker, **report.counts())
    log.info("erased speaker %s: %s", report.key_hash, report.counts())
    return report


def remove_voiceprints(storage: Storage, settings: Settings, key: str) -> tuple[int, list[str]]:
    """Drop the key's voiceprints from every shard of every model; rebuild the statistics of those touched."""
    removed, touched = 0, []
    for gallery in stored_galleries(storage, settings.shard_count, keyring(settings.voiceprint_keys)):
        model_id = gallery.model.id
        count = gallery.drop_key(key)
        if count:
            gallery.rebuild_stats()
            removed += count
            touched.append(model_id)
    return removed, touched


def _is_speakers(blob: str, key: str) -> bool:
    try:
        return speaker_key(parse_enroll(blob).speaker) == key
    except PermanentError:
        return False


def _enroll_blobs(storage: Storage, key: str) -> list[str]:
    return [item.name for item in storage.list(contract.ENROLL) if _is_speakers(item.name, key)]


def _delete_stray_results(storage: Storage, key: str) -> int:
    """Enrol results whose blob is already gone (an earlier erasure that crashed, or a user's delete)."""
    prefix = f"{contract.ENROLL}/"
    names = [i.name for i in storage.list(contract.RESULTS, prefix)
             if _is_speakers(i.name[len(prefix):-len(".json")], key)]
    return sum(storage.delete(contract.RESULTS, n) for n in names)


def _delete_receipts(storage: Storage, key: str) -> int:
    """Receipts ``blobreceipts/<host>/<function>/<etag>/enroll/<blob>`` of the speaker's enrolments."""
    count = 0
    for item in storage.list(contract.HOSTS, contract.RECEIPTS):
        target = contract.receipt_target(item.name)
        if target is not None and target[0] == contract.ENROLL and _is_speakers(target[1], key):
            count += storage.delete(contract.HOSTS, item.name)
    return count


def _delete_match_state(storage: Storage, key: str) -> int:
    """Every blob of a request in flight whose partials name the speaker (its probe included)."""
    requests = set()
    for item in storage.list(contract.MATCH_STATE):
        if "/partial-" not in item.name:
            continue
        got = storage.read(contract.MATCH_STATE, item.name)
        if got is not None and any(c.key == key for c in ShardPartial.from_json(got[0]).candidates):
            requests.add(item.name.split("/", 1)[0])
    names = [i.name for i in storage.list(contract.MATCH_STATE) if i.name.split("/", 1)[0] in requests]
    return sum(storage.delete(contract.MATCH_STATE, n) for n in names)


def _delete_reviews(storage: Storage, key: str) -> int:
    """The records of the speaker's enrolments held for an operator (shared.pipeline.review; the audio went above)."""
    count = 0
    for item in storage.list(contract.GALLERY, contract.REVIEWS):
        held = storage.read_json(contract.GALLERY, item.name) or {}
        if _is_speakers(str(held.get("blob", "")), key):
            count += storage.delete(contract.GALLERY, item.name)
    return count


def _names_speaker(content: str, key: str) -> bool:
    """Is this queued message a match job claiming the speaker? (unknown bodies are kept)"""
    job = MatchJob.from_message(content)
    return job is not None and job.claimed is not None and speaker_key(job.claimed) == key


def describe(report: ErasureReport) -> str:
    """One line for people: what went, with counts."""
    if not report.found:
        return f"{report.speaker}: nothing enrolled under this name (tombstone written; deleting twice is fine)"
    parts = ", ".join(f"{v} {k.replace('_', ' ')}" for k, v in report.counts().items())
    return f"{report.speaker}: erased {parts}" + (f" (models {', '.join(report.models)})" if report.models else "")


def to_json(report: ErasureReport) -> str:
    return json.dumps({**report.counts(), "speaker": report.speaker, "key_hash": report.key_hash,
                       "models": list(report.models), "found": report.found}, ensure_ascii=False)
