"""Fan-in: when every shard of a request has its partial, write the one result document.

Any worker may be the last; each checks after writing its partial. Two workers
finishing together write the same document to the same name, so there is still
exactly one. A request whose input blob was re-uploaded meanwhile (new ETag) is
dropped: the new upload has its own request and will write the result.
"""

from __future__ import annotations

import json
import logging

from shared.core import contract, telemetry
from shared.core.contract import partial_prefix, probe_blob
from shared.core.errors import VoiceIdError
from shared.core.names import speaker_key
from shared.core.records import MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.pipeline import lockout, stepup
from shared.results import documents as results
from shared.scoring.calibration import identify_threshold, threshold_for
from shared.scoring.decisions import identify_decision, top_k
from shared.storage import optimistic
from shared.storage.base import Storage

log = logging.getLogger(__name__)


def _current_result(storage: Storage, job: MatchJob) -> tuple[bool, str | None]:
    """(this request already has its result?, ETag of the result stored now or None)."""
    got = storage.read(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, job.blob))
    if got is None:
        return False, None
    return json.loads(got[0]).get("request_id") == job.request_id, got[1]


def already_done(storage: Storage, job: MatchJob) -> bool:
    """True when this request's result document exists."""
    return _current_result(storage, job)[0]


def write_once(storage: Storage, job: MatchJob, doc: dict) -> bool:
    """Write the request's result unless it already has one; True when this call wrote it.

    Conditional on the ETag of what was read, so of two workers finishing together
    exactly one writes; the other re-reads, finds the request done, and stops. A
    result of an older upload of the same blob (another request) is replaced.
    """
    def change(done: bool) -> optimistic.Change[bool]:
        return optimistic.keep(False) if done else optimistic.store(doc, True)

    def write(new: dict, **conditions) -> None:
        results.write(storage, contract.IDENTIFY, job.blob, new, **conditions)

    return optimistic.update(lambda: _current_result(storage, job), change, write,
                             what=f"the result of identify/{job.blob}", code="results.contention")


def assemble(job: MatchJob, partials: list[ShardPartial], settings: Settings) -> dict:
    """The result document of a request from all its shard partials (pure)."""
    timings = {**job.timings_ms, "match": max((p.match_ms for p in partials), default=0.0),
               "total": results.ms_since(job.received_at)}
    calibration = next((p.calibration for p in partials if p.calibration), {})
    if job.kind == "verify":
        threshold = threshold_for(settings.target_far)
    else:
        threshold = identify_threshold(settings.target_far, calibration.get("speakers", 1))
    common = {"model_id": job.model_id, "timings_ms": timings, "request_id": job.request_id,
              "audio": job.audio, "threshold": round(threshold, 4), "target_far": settings.target_far,
              "calibration": calibration, "liveness": job.liveness, "watchlist": job.watchlist}
    merged = [c for p in partials for c in p.candidates]
    scored = sum(p.scored for p in partials)
    if job.kind == "verify":
        claimed_key = speaker_key(job.claimed or "")
        mine = [c for c in merged if c.key == claimed_key]
        score = round(mine[0].score, 4) if mine else None
        outcome = stepup.decide(score, threshold, stepup.grey_bottom(settings), (job.liveness or {}).get("decision"),
                                settings.challenge, job.challenge)
        return results.base("verify", contract.IDENTIFY, job.blob, job.etag, **common, challenge=job.challenge,
                            claimed=mine[0].speaker if mine else job.claimed,
                            decision=outcome.decision, score=score,
                            cosine=round(mine[0].cosine, 4) if mine else None,
                            reason=None if mine else "not_enrolled",
                            step_up={"reasons": list(outcome.reasons)} if outcome.decision == "challenge" else None)
    ranked = top_k(merged, settings.top_k)
    return results.base("identify", contract.IDENTIFY, job.blob, job.etag, **common,
                        candidates=[c.public() for c in ranked],
                        decision=identify_decision(ranked, threshold), voiceprints_scored=scored)


def _read_partials(storage: Storage, job: MatchJob) -> list[ShardPartial] | None:
    items = list(storage.list(contract.MATCH_STATE, prefix=partial_prefix(job.request_id)))
    if len(items) < len(job.shards):
        return None
    partials = []
    for item in items:
        got = storage.read(contract.MATCH_STATE, item.name)
        if got is None:  # another worker finished and cleaned up meanwhile
            return None
        partials.append(ShardPartial.from_json(got[0]))
    return partials


def try_finish(storage: Storage, job: MatchJob, settings: Settings) -> bool:
    """Write the result if all partials are in; True when this call wrote it.

    Whenever every partial is in, the request's match state is deleted, written or not: a
    duplicate (the result exists) and a request of a replaced upload (a new one answers) are done.
    """
    partials = _read_partials(storage, job)
    if partials is None:
        if already_done(storage, job):  # a late duplicate re-created a partial after cleanup
            cleanup(storage, job.request_id)
        return False
    with telemetry.span("fan_in", **{"voiceid.kind": job.kind, "voiceid.shards": len(job.shards)}):
        return _finish(storage, job, partials, settings)


def _finish(storage: Storage, job: MatchJob, partials: list[ShardPartial], settings: Settings) -> bool:
    """Every partial is in: write the result (unless the upload was replaced), then delete the match state."""
    current = storage.etag(contract.IDENTIFY, job.blob)
    wrote = False
    if current is not None and current != job.etag:
        log.info("identify/%s was re-uploaded; dropping stale request %s", job.blob, job.request_id)
    else:
        doc = assemble(job, partials, settings)
        if doc["kind"] == "verify" and doc["decision"] == "challenge":
            doc = step_up(storage, job, doc, settings)  # a reject past the claim's share of challenges
        if doc["kind"] == "verify" and doc["decision"] != "challenge":  # a step-up is not a failure
            # before the result, so a crash repeats it; a repeat is a no-op per request
            attack = (job.liveness or {}).get("decision") == "attack" and job.challenge is None
            flagged = attack or bool(job.watchlist)  # still a failure
            lockout.note_outcome(storage, speaker_key(job.claimed or ""), job.claimed or "", job.request_id,
                                 doc["decision"] == "accept" and not flagged, settings)
        wrote = write_once(storage, job, doc)
    cleanup(storage, job.request_id, keep_probe=settings.probe_embedding_retention_s > 0)
    return wrote


def step_up(storage: Storage, job: MatchJob, doc: dict, settings: Settings) -> dict:
    """Issue the challenge a ``challenge`` decision asks for; past the claim's share of them, a reject instead."""
    issued = stepup.require(storage, job, tuple(doc["step_up"]["reasons"]), settings)
    if issued is None:
        log.info("verification %s: no step-up, the claim had its share of challenges", job.request_id)
        return {**doc, "decision": "reject", "reason": "challenge_limit", "step_up": None}
    return {**doc, "step_up": issued}


def cleanup(storage: Storage, request_id: str, keep_probe: bool = False) -> None:
    """Delete a finished request's partials and probe embedding (biometric data is not kept).

    ``keep_probe``: ``VOICEID_PROBE_EMBEDDING_RETENTION_S`` asks to keep it; the retention sweep deletes it later.
    """
    for item in list(storage.list(contract.MATCH_STATE, prefix=f"{request_id}/")):
        if not (keep_probe and item.name == probe_blob(request_id)):
            storage.delete(contract.MATCH_STATE, item.name)


def write_error(storage: Storage, job: MatchJob, err: VoiceIdError) -> None:
    """The ``error`` result of a request that cannot finish: the sender is told, an operator can look."""
    doc = results.failure(job.kind, contract.IDENTIFY, job.blob, job.etag, err, status="error",
                          model_id=job.model_id, timings_ms={"total": results.ms_since(job.received_at)},
                          request_id=job.request_id)
    write_once(storage, job, doc)
    cleanup(storage, job.request_id)

