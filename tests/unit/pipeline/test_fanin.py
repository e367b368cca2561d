"""Fan-in on the in-memory storage: one result per request, however partials arrive or repeat."""

from __future__ import annotations

import time

from shared.core import contract
from shared.core.records import Candidate, MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.pipeline import fanin
from shared.results import audit
from tests.helpers import assert_valid, memory_storage

SETTINGS = Settings(top_k=3, lockout_failures=2)
AUDIO = {"duration_s": 4.0, "net_speech_s": 3.2, "clipping_ratio": 0.0, "snr_db": 30.0, "channel": "mix",
         "input": {"container": "wav", "codec": "pcm_s16le", "sample_rate": 16000, "channels": 1}}


def start(storage, blob: str, shards=(0, 1), claimed: str | None = None, request_id: str = "req1") -> MatchJob:
    etag = storage.write(contract.IDENTIFY, blob, b"probe audio")
    storage.write(contract.MATCH_STATE, contract.probe_blob(request_id), b"probe vector")
    return MatchJob(request_id=request_id, kind="verify" if claimed else "identify", blob=blob, etag=etag, shard=0,
                    shards=tuple(shards), model_id="test@1", probe=contract.probe_blob(request_id), claimed=claimed,
                    received_at=time.time(), audio=AUDIO, timings_ms={"decode": 1.0, "vad": 1.0, "embed": 1.0})


def add_partial(storage, job: MatchJob, shard: int, *candidates: Candidate, speakers: int = 40) -> None:
    partial = ShardPartial(request_id=job.request_id, shard=shard, candidates=candidates, scored=10, match_ms=1.0,
                           calibration={"speakers": speakers, "cold_start": False})
    storage.write(contract.MATCH_STATE, f"{contract.partial_prefix(job.request_id)}{shard:04d}.json",
                  partial.to_json().encode())


def result(storage, job: MatchJob) -> dict | None:
    return storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, job.blob))


def test_the_result_waits_for_every_shard_then_merges_them_and_cleans_up():
    storage = memory_storage()
    job = start(storage, "call.wav", shards=(0, 1, 2))
    add_partial(storage, job, 0, Candidate("Ann", 9.0, "ann", 0.7), Candidate("Bob", 1.0, "bob", 0.2))
    add_partial(storage, job, 1, Candidate("Cy", 4.0, "cy", 0.5))
    assert fanin.try_finish(storage, job, SETTINGS) is False and result(storage, job) is None
    add_partial(storage, job, 2, Candidate("Di", 0.5, "di", 0.1))
    assert fanin.try_finish(storage, job, SETTINGS) is True
    doc = result(storage, job)
    assert_valid(doc)
    assert doc["decision"] == "Ann" and [c["speaker"] for c in doc["candidates"]] == ["Ann", "Cy", "Bob"]
    assert storage.list(contract.MATCH_STATE) == []  # partials and the probe embedding are gone


def test_a_late_duplicate_changes_nothing_and_is_cleaned_up():
    storage = memory_storage()
    job = start(storage, "call.wav", shards=(0,))
    add_partial(storage, job, 0, Candidate("Ann", 9.0, "ann", 0.7))
    assert fanin.try_finish(storage, job, SETTINGS) is True
    first = storage.etag(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, job.blob))
    add_partial(storage, job, 0, Candidate("Ann", 9.0, "ann", 0.7))  # a redelivered job wrote its partial again
    assert fanin.try_finish(storage, job, SETTINGS) is False
    assert storage.etag(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, job.blob)) == first
    assert storage.list(contract.MATCH_STATE) == []
    assert [e["action"] for e in audit.read(storage)] == ["identify"]  # audited once
    assert fanin.write_once(storage, job, {"kind": "identify"}) is False  # the request already has its result


def test_a_request_of_a_replaced_upload_writes_no_result():
    storage = memory_storage()
    job = start(storage, "call.wav", shards=(0,))
    storage.write(contract.IDENTIFY, "call.wav", b"another recording")  # re-uploaded: a new request will answer
    add_partial(storage, job, 0, Candidate("Ann", 9.0, "ann", 0.7))
    assert fanin.try_finish(storage, job, SETTINGS) is False
    assert result(storage, job) is None and storage.list(contract.MATCH_STATE) == []


def test_verify_accepts_at_the_threshold_and_rejects_below_and_when_not_enrolled():
    storage = memory_storage()
    accept = start(storage, "ann/a.wav", shards=(0,), claimed="Ann", request_id="a")
    add_partial(storage, accept, 0, Candidate("Ann", 2.0, "ann", 0.6))  # threshold of a 1 % FAR: -log10(0.01)
    fanin.try_finish(storage, accept, SETTINGS)
    missing = start(storage, "zed/b.wav", shards=(0,), claimed="Zed", request_id="b")
    add_partial(storage, missing, 0)
    fanin.try_finish(storage, missing, SETTINGS)
    assert (result(storage, accept)["decision"], result(storage, accept)["score"]) == ("accept", 2.0)
    doc = result(storage, missing)
    assert (doc["decision"], doc["score"], doc["reason"]) == ("reject", None, "not_enrolled")
    assert_valid(doc)


def test_failed_verifications_lock_the_claim():
    storage = memory_storage()
    for n in range(2):
        job = start(storage, f"ann/{n}.wav", shards=(0,), claimed="Ann", request_id=f"r{n}")
        add_partial(storage, job, 0, Candidate("Ann", 0.5, "ann", 0.1))
        fanin.try_finish(storage, job, SETTINGS)
    events = audit.read(storage)
    assert [e["action"] for e in events].count("lockout") == 1
    from shared.pipeline import lockout

    assert lockout.locked_until(storage, "ann", SETTINGS) is not None
