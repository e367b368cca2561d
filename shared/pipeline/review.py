"""Operator review of an enrolment the liveness detector called an attack.

Why a review and not a challenge: enrolment in this product is not a conversation. Files arrive
from folder uploads, bulk-ingestion scripts and recorded calls, with nobody on the line to read
digits; and a live answer would prove the answer live, not the files being enrolled. The detector
also calls honest customers from channels it never heard attacks (docs/security.md). So below the
strict point an ``attack`` holds the file for a person: nothing is enrolled, the result says
``status: "review"`` with the review's id, and an operator listens and answers
(``voiceid review approve|reject ID``, ``POST /api/reviews/ID/approve|reject``):

* ``approve``: the approval (and the operator) is written into the review, and the held blob is
  written again with the same bytes, so the enrol trigger runs on it as on any upload; it finds the
  approval of that blob and content and enrols it, the detector's decision kept in the result, the
  operator in ``reviewed_by`` and in the audit log;
* ``reject``: the uploaded audio is deleted (that version only) and the result says
  ``liveness.review_rejected``.

Above the strict point (:func:`shared.liveness.calibration.strict_from`) the detector refuses alone,
as before. A review is ``gallery/reviews/<id>.json``, one per enrol blob name (the id is a hash of it:
a newer upload of the same name replaces it); it holds the blob name, ETag and content hash and the
liveness figures, not audio or an embedding. The audio stays where it was uploaded, so backup,
erasure (which deletes the speaker's reviews with their audio, shared/privacy/erasure.py) and the
enrol container's access rules cover it.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.records import BlobInput
from shared.results import audit
from shared.results import documents as results
from shared.storage.base import ConcurrencyConflict, Storage

if TYPE_CHECKING:  # the HTTP API imports this module and loads no model (torch)
    from shared.liveness.detector import Liveness

log = logging.getLogger(__name__)
PREFIX = contract.REVIEWS


@dataclass(frozen=True)
class Review:
    """One enrolment held for an operator."""

    id: str  # a hash of the enrol blob's name
    blob: str  # the enrol blob's name in the enroll container
    etag: str  # the version held
    sha256: str  # its content: an approval enrols these bytes only
    speaker: str
    liveness: dict
    created_at: str
    approved_by: str | None = None  # set by approve(); the enrol trigger then enrols it

    def public(self) -> dict:
        return asdict(self)


def review_id(blob: str) -> str:
    return hashlib.sha256(f"{contract.ENROLL}/{blob}".encode()).hexdigest()[:24]


def blob_name(rid: str) -> str:
    return f"{PREFIX}{rid}.json"


def due(live: Liveness | None) -> bool:
    """An ``attack`` under ``reject`` that did not reach the strict point goes to review."""
    return live is not None and live.decision == "attack" and live.policy == "reject" and not live.strict


def hold(storage: Storage, inp: BlobInput, speaker: str, live: Liveness) -> Review:
    """Store the review of this upload (a redelivery keeps the first record; a new upload replaces it)."""
    found = get(storage, review_id(inp.blob))
    review = found if found is not None and found.etag == inp.etag else Review(
        id=review_id(inp.blob), blob=inp.blob, etag=inp.etag, sha256=inp.sha256, speaker=speaker,
        liveness=live.to_json(), created_at=results.now_iso())
    storage.write_json(contract.GALLERY, blob_name(review.id), review.public())
    log.warning("enrolment %s held for operator review %s: liveness %.2f >= %.2f", inp.request_id, review.id,
                live.score, live.threshold)
    return review


def approved_by(storage: Storage, inp: BlobInput) -> str | None:
    """The operator who approved this very content under this blob name, if one did."""
    found = get(storage, review_id(inp.blob))
    return found.approved_by if found is not None and found.approved_by and found.sha256 == inp.sha256 else None


def close(storage: Storage, blob: str) -> None:
    storage.delete(contract.GALLERY, blob_name(review_id(blob)))


def get(storage: Storage, rid: str) -> Review | None:
    if not rid or not rid.isalnum():
        return None
    doc = storage.read_json(contract.GALLERY, blob_name(rid))
    return Review(**doc) if doc else None


def pending(storage: Storage) -> list[Review]:
    """Every held enrolment not yet answered, oldest first."""
    found = [get(storage, i.name[len(PREFIX):-len(".json")]) for i in storage.list(contract.GALLERY, PREFIX)]
    return sorted((r for r in found if r is not None and not r.approved_by), key=lambda r: r.created_at)


def _require(storage: Storage, rid: str) -> Review:
    review = get(storage, rid)
    if review is None or review.approved_by:
        raise PermanentError(f"no enrolment is waiting for review under {rid!r}", code="review.not_found",
                             hint="List the open reviews with `voiceid review list` (or GET /api/reviews); a review "
                                  "answered or erased is gone.")
    return review


def approve(storage: Storage, rid: str, operator: str) -> dict:
    """Approve: write the approval, then the held bytes again (the enrol trigger enrols them); returns where the
    result will be (``blob``, ``etag`` of the new version)."""
    review = _require(storage, rid)
    got = storage.read(contract.ENROLL, review.blob)
    if got is None or got[1] != review.etag:
        close(storage, review.blob)
        raise PermanentError(f"{contract.ENROLL}/{review.blob} was deleted or replaced since it was held",
                             code="review.stale", hint="Nothing to decide: a newer upload is enrolled (or held) on "
                                                       "its own. The review was closed.")
    storage.write_json(contract.GALLERY, blob_name(review.id), {**review.public(), "approved_by": operator})
    audit.record(storage, "review", actor=operator, outcome="approved", speaker=review.speaker,
                 blob=f"{contract.ENROLL}/{review.blob}", request_id=review.id,
                 liveness=review.liveness.get("decision"))
    try:
        etag = storage.write(contract.ENROLL, review.blob, got[0], if_match=review.etag)
    except ConcurrencyConflict as exc:  # replaced between the read and the write
        close(storage, review.blob)
        raise PermanentError(f"{contract.ENROLL}/{review.blob} was replaced while it was approved",
                             code="review.stale", hint="The newer upload is enrolled (or held) on its own.") from exc
    log.info("review %s approved: %s/%s written again for enrolment", review.id, contract.ENROLL, review.blob)
    return {"review": review.id, "container": contract.ENROLL, "blob": review.blob, "etag": etag,
            "approved_by": operator}


def reject(storage: Storage, rid: str, operator: str) -> dict:
    """Delete the held file (that version) and write its ``rejected`` result; returns the result."""
    review = _require(storage, rid)
    try:
        deleted = storage.delete(contract.ENROLL, review.blob, if_match=review.etag)
    except ConcurrencyConflict:
        deleted = False  # replaced since: the newer upload is its own enrolment
    err = PermanentError("an operator reviewed this recording and refused it as a presentation attack; it was "
                         "deleted and not enrolled", code="liveness.review_rejected",
                         hint="Enrol the customer from a recording made live (in branch, or a call the bank "
                              "recorded itself).", details={"liveness": review.liveness})
    doc = results.failure("enroll", contract.ENROLL, review.blob, review.etag, err, status="rejected",
                          timings_ms={"total": 0.0}, request_id=review.id, speaker=review.speaker,
                          reviewed_by=operator)
    audit.record(storage, "review", actor=operator, outcome="rejected", speaker=review.speaker,
                 blob=f"{contract.ENROLL}/{review.blob}", request_id=review.id, audio_deleted=deleted)
    results.write(storage, contract.ENROLL, review.blob, doc)
    close(storage, review.blob)
    return doc
