"""Poisoned inputs on the in-memory storage: an error result once, and a replay that never overwrites a new upload."""

from __future__ import annotations

import json

from shared.core import contract
from shared.pipeline.poison import SUPERSEDED, PoisonItem, handle_blob_poison, replay
from shared.results import audit
from tests.helpers import assert_valid, memory_storage, racing_storage


def poison_message(etag: str, blob: str = "ann/a.flac") -> str:
    return json.dumps({"FunctionId": "Host.Functions.enroll_trigger", "BlobType": "BlockBlob",
                       "ContainerName": "enroll", "BlobName": blob, "ETag": etag})


def test_a_poisoned_blob_gets_one_error_result_for_its_version():
    storage = memory_storage()
    etag = storage.write(contract.ENROLL, "ann/a.flac", b"audio")
    handle_blob_poison(poison_message(etag), storage)
    handle_blob_poison(poison_message(etag), storage)  # delivered twice: still one result, audited once
    doc = storage.read_json(contract.RESULTS, contract.result_blob_name(contract.ENROLL, "ann/a.flac"))
    assert (doc["status"], doc["error"]["code"], doc["etag"]) == ("error", "system.retries_exhausted", etag)
    assert_valid(doc)
    assert [e["action"] for e in audit.read(storage)] == ["enroll"]
    handle_blob_poison("not json", storage)  # dropped with a log line, nothing raised


def test_replay_rewrites_the_blob_and_leaves_a_newer_upload_alone():
    blob = (contract.ENROLL, "ann/a.flac")
    storage = racing_storage({blob: 1})  # someone uploads the file again right after replay reads it
    first = storage.write(*blob, b"audio")
    items = [PoisonItem("audit", *blob, "system.retries_exhausted"), PoisonItem("audit", "enroll", "gone.flac", "x")]
    outcome = replay(storage, items)
    assert outcome == {"enroll/ann/a.flac": SUPERSEDED,
                       "enroll/gone.flac": "blob gone (deleted or past retention): upload it again"}
    newer = storage.etag(*blob)
    assert newer != first and replay(storage, items[:1]) == {"enroll/ann/a.flac": "replayed"}
    assert storage.etag(*blob) != newer  # a new ETag: the trigger delivers it again
