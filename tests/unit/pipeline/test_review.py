"""Operator review of enrolments the detector called attacks, on the in-memory storage (same contract as Azure)."""

from __future__ import annotations

import time

import pytest

from shared.api.http import ApiRequest
from shared.api.routes import handle
from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.liveness.detector import Liveness
from shared.pipeline import review
from shared.privacy.erasure import erase
from shared.results import audit
from tests.helpers import assert_valid, memory_storage

ATTACK = Liveness(score=2.5, decision="attack", model="liveness-v1@abc", threshold=1.7, policy="reject")


def upload(storage, blob: str, data: bytes = b"RIFF-some-audio") -> BlobInput:
    etag = storage.write(contract.ENROLL, blob, data)
    return BlobInput(contract.ENROLL, blob, etag, data)


@pytest.mark.parametrize("live, held", [
    (ATTACK, True),
    (Liveness(2.5, "attack", "m", 1.7, "reject", strict=True), False),  # refused outright instead
    (Liveness(2.5, "attack", "m", 1.7, "flag"), False),  # flag enrols and reports
    (Liveness(1.0, "inconclusive", "m", 1.7, "reject"), False),
    (Liveness(0.1, "live", "m", 1.7, "reject"), False),
    (None, False),  # VOICEID_LIVENESS=off
])
def test_only_an_attack_below_the_strict_point_under_reject_is_held(live, held):
    assert review.due(live) is held


def test_hold_is_idempotent_and_lists_oldest_first():
    storage = memory_storage()
    first = review.hold(storage, upload(storage, "Ann/a.wav"), "Ann", ATTACK)
    again = review.hold(storage, BlobInput(contract.ENROLL, "Ann/a.wav", first.etag, b"RIFF-some-audio"), "Ann", ATTACK)
    assert again == first  # a redelivery keeps the record
    time.sleep(0.002)  # created_at has milliseconds
    review.hold(storage, upload(storage, "Bob/b.wav"), "Bob", ATTACK)
    assert [r.speaker for r in review.pending(storage)] == ["Ann", "Bob"]
    assert first.liveness["strict"] is False and first.sha256 and "audio" not in first.public()


def test_approve_writes_the_blob_again_and_the_trigger_finds_the_approval():
    storage = memory_storage()
    inp = upload(storage, "Ann/a.wav")
    held = review.hold(storage, inp, "Ann", ATTACK)
    assert review.approved_by(storage, inp) is None
    done = review.approve(storage, held.id, "ops-ann")
    assert done["etag"] != inp.etag and done["blob"] == "Ann/a.wav"
    data, etag = storage.read(contract.ENROLL, "Ann/a.wav")
    assert (data, etag) == (inp.data, done["etag"])  # the same bytes, a new version: the trigger runs on it
    assert review.approved_by(storage, BlobInput(contract.ENROLL, "Ann/a.wav", etag, data)) == "ops-ann"
    assert review.approved_by(storage, BlobInput(contract.ENROLL, "Ann/a.wav", "x", b"other bytes")) is None
    assert review.pending(storage) == []  # answered
    with pytest.raises(PermanentError) as err:
        review.approve(storage, held.id, "ops-ann")
    assert err.value.code == "review.not_found"
    assert [e["outcome"] for e in audit.read(storage) if e["action"] == "review"] == ["approved"]


def test_reject_deletes_the_audio_and_writes_a_valid_rejected_result():
    storage = memory_storage()
    inp = upload(storage, "Ann/a.wav")
    held = review.hold(storage, inp, "Ann", ATTACK)
    doc = review.reject(storage, held.id, "ops-bob")
    assert (doc["status"], doc["error"]["code"], doc["reviewed_by"]) == ("rejected", "liveness.review_rejected",
                                                                         "ops-bob")
    assert_valid(doc)
    assert storage.read(contract.ENROLL, "Ann/a.wav") is None
    assert storage.read_json(contract.RESULTS, contract.result_blob_name(contract.ENROLL, "Ann/a.wav")) == doc
    assert review.pending(storage) == []
    event = [e for e in audit.read(storage) if e["action"] == "review"][-1]
    assert (event["outcome"], event["actor"], event["audio_deleted"]) == ("rejected", "ops-bob", True)


def test_a_replaced_upload_makes_the_review_stale():
    storage = memory_storage()
    held = review.hold(storage, upload(storage, "Ann/a.wav"), "Ann", ATTACK)
    upload(storage, "Ann/a.wav", b"a newer recording")  # its own enrolment
    with pytest.raises(PermanentError) as err:
        review.approve(storage, held.id, "ops")
    assert err.value.code == "review.stale" and review.get(storage, held.id) is None
    assert storage.read(contract.ENROLL, "Ann/a.wav")[0] == b"a newer recording"


def test_erasure_deletes_the_speakers_reviews_only():
    storage = memory_storage()
    review.hold(storage, upload(storage, "Ann/a.wav"), "Ann", ATTACK)
    review.hold(storage, upload(storage, "Bob/b.wav"), "Bob", ATTACK)
    erase(storage, Settings(), "Ann", actor="test")
    assert [r.speaker for r in review.pending(storage)] == ["Bob"]


def test_the_api_lists_and_answers_reviews():
    storage = memory_storage()
    held = review.hold(storage, upload(storage, "Ann/a.wav"), "Ann", ATTACK)
    listed = handle(ApiRequest("GET", "reviews", base_url="http://h/api"), storage, Settings())
    assert listed.status == 200 and [r["id"] for r in listed.doc["reviews"]] == [held.id]
    assert listed.headers["Cache-Control"] == "no-store"
    bad = handle(ApiRequest("POST", f"reviews/{held.id}/maybe", base_url="http://h/api"), storage, Settings())
    assert bad.status == 404
    ok = handle(ApiRequest("POST", f"reviews/{held.id}/approve", headers={"x-voiceid-actor": "ann"},
                           base_url="http://h/api"), storage, Settings())
    assert ok.status == 202 and ok.doc["approved_by"] == "http-api:ann" and ok.headers["Location"] == ok.doc["result"]
    gone = handle(ApiRequest("POST", f"reviews/{held.id}/reject", base_url="http://h/api"), storage, Settings())
    assert gone.status == 404 and gone.doc["error"]["code"] == "review.not_found"
