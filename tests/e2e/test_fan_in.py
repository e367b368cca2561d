"""Fan-in under duplicate delivery: a match job delivered twice still yields one correct result."""

from __future__ import annotations

import time

import pytest

from shared.core import contract
from shared.core.records import BlobInput
from shared.localhost.functions import encode_message
from tests.helpers import clips

pytestmark = pytest.mark.e2e


def state_left(client, request_id: str) -> list[str]:
    return [i.name for i in client.storage.list(contract.MATCH_STATE, prefix=f"{request_id}/")]


def wait_until(predicate, timeout_s: float = 120.0) -> None:
    deadline = time.time() + timeout_s
    while not predicate():
        assert time.time() < deadline, "condition not reached in time"
        time.sleep(0.2)


def queue_empty(client) -> bool:
    props = client.storage.queues.get_queue_client(contract.MATCH_QUEUE).get_queue_properties()
    return props.approximate_message_count == 0


def make_jobs(client, blob: str, etag: str, path) -> tuple[str, list[str]]:
    """What the identify trigger emits for this blob version (the real pipeline, model included)."""
    from shared.pipeline.identify import handle_identify

    inp = BlobInput(container="identify", blob=blob, etag=etag, data=path.read_bytes())
    return inp.request_id, handle_identify(inp, client.settings)


def test_each_job_delivered_twice_concurrently_gives_one_correct_result(enrolled, client):
    # A blob version that the host never sees as an upload: the test plays the identify trigger.
    blob, etag = "dup-concurrent.flac", '"0xTEST1"'
    request_id, jobs = make_jobs(client, blob, etag, clips("1998")[-1])
    assert len(jobs) == client.settings.shard_count
    for job in jobs + jobs:  # every shard's job twice, all on the queue at once
        client.storage.send(contract.MATCH_QUEUE, encode_message(job, "base64"))
    doc = client.wait_result("identify", blob, etag)
    assert (doc["status"], doc["decision"], doc["request_id"]) == ("ok", "1998", request_id)
    wait_until(lambda: queue_empty(client) and not state_left(client, request_id))
    final = client.storage.read_json(contract.RESULTS, contract.result_blob_name("identify", blob))
    assert (final["status"], final["decision"], final["request_id"]) == ("ok", "1998", request_id)
    assert [i.name for i in client.storage.list(contract.RESULTS, prefix="identify/dup-concurrent")] == [
        "identify/dup-concurrent.flac.json"]


def test_a_job_delivered_again_after_the_result_does_not_rewrite_it(enrolled, client):
    path = clips("2033")[-1]
    blob = "dup-late.flac"
    etag = client.upload("identify", blob, path)
    doc = client.wait_result("identify", blob, etag)
    assert doc["decision"] == "2033"
    name = contract.result_blob_name("identify", blob)
    result_etag = client.storage.etag(contract.RESULTS, name)
    request_id, jobs = make_jobs(client, blob, etag, path)  # same blob version -> same request
    assert request_id == doc["request_id"]
    for job in jobs:
        client.storage.send(contract.MATCH_QUEUE, encode_message(job, "base64"))
    wait_until(lambda: queue_empty(client) and not state_left(client, request_id))
    assert client.storage.etag(contract.RESULTS, name) == result_etag  # the result was not written again
