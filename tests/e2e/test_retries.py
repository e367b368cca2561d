"""A failure that lasts: the host retries, then poisons, and the sender still gets an error result."""

from __future__ import annotations

import json
import time

import pytest
from azure.core.exceptions import ResourceExistsError

from shared.core import contract
from tests.helpers import assert_valid, clips, voiceid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def poisoned(client, host) -> tuple[str, str, dict]:
    """A verify upload that fails on every retry (its probe cannot be stored: match-state is gone), then the
    cause is fixed (match-state is back). Returns the blob, the ETag uploaded and its error result."""
    client.storage.blobs.delete_container(contract.MATCH_STATE)
    try:
        blob = "retries/probe.flac"  # a claim: verify
        etag = client.upload("identify", blob, clips("1688")[-1])
        doc = client.wait_result("identify", blob, etag, timeout_s=180)
    finally:
        for _ in range(50):
            try:
                client.storage.blobs.create_container(contract.MATCH_STATE)
                break
            except ResourceExistsError:
                break
            except Exception:  # still being deleted
                time.sleep(0.2)
    return blob, etag, doc


def test_a_blob_failing_every_retry_gets_an_error_result_and_a_poison_message(client, host, poisoned):
    blob, etag, doc = poisoned
    assert (doc["kind"], doc["status"], doc["error"]["code"]) == ("verify", "error", "system.retries_exhausted")
    assert doc["etag"] == etag and doc["blob"] == f"identify/{blob}"  # the poison message carried Azure's fields
    assert "host log" in doc["error"]["hint"]
    assert_valid(doc)
    log = host.log_text()
    assert log.count("(Failed, try") >= 5 and "Functions.identify_trigger" in log
    assert "moved to webjobs-blobtrigger-poison after 5 failures" in log
    assert host.alive()


def test_an_operator_lists_and_replays_the_poisoned_blob(client, host, azurite, poisoned):
    """After the cause is fixed (match-state is back), `voiceid poison replay` runs the blob again."""
    blob, _, _ = poisoned
    listed = voiceid(azurite, "poison", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    items = [i for i in json.loads(listed.stdout) if i["blob"] == blob]
    assert items and items[0]["code"] == "system.retries_exhausted"
    replayed = voiceid(azurite, "poison", "replay", "--json")
    assert json.loads(replayed.stdout)[f"identify/{blob}"] == "replayed"
    etag = client.storage.etag("identify", blob)
    doc = client.wait_result("identify", blob, etag, timeout_s=60)
    assert doc["status"] == "ok" and doc["kind"] == "verify"
    again = json.loads(voiceid(azurite, "poison", "list", "--json").stdout)
    assert not [i for i in again if i["blob"] == blob]
