"""A failure that lasts: the host retries, then poisons, and the sender still gets an error result."""

from __future__ import annotations

import json
import time

import pytest
from azure.core.exceptions import ResourceExistsError

from shared.core import contract
from tests.helpers import clips
from tests.helpers import assert_valid

pytestmark = pytest.mark.e2e


@pytest.fixture
def without_match_state(client):
    """Remove the container where probes are stored, so every identify attempt fails (transiently)."""
    client.storage.blobs.delete_container(contract.MATCH_STATE)
    yield
    for _ in range(50):
        try:
            client.storage.blobs.create_container(contract.MATCH_STATE)
            return
        except ResourceExistsError:
            return
        except Exception:  # still being deleted
            time.sleep(0.2)


def test_a_blob_failing_every_retry_gets_an_error_result_and_a_poison_message(client, host, without_match_state):
    blob = "retries/probe.flac"  # a claim: verify
    etag = client.upload("identify", blob, clips("1688")[-1])
    doc = client.wait_result("identify", blob, etag, timeout_s=180)
    assert (doc["kind"], doc["status"], doc["error"]["code"]) == ("verify", "error", "system.retries_exhausted")
    assert doc["etag"] == etag  # the poison message carried Azure's ContainerName, BlobName and ETag
    assert "host log" in doc["error"]["hint"]
    assert_valid(doc)
    log = host.log_text()
    assert log.count("(Failed, try") >= 5 and "Functions.identify_trigger" in log
    assert "moved to webjobs-blobtrigger-poison after 5 failures" in log
    assert host.alive()



def test_an_operator_lists_and_replays_the_poisoned_blob(client, host, azurite):
    """After the cause is fixed (match-state is back), `voiceid poison replay` runs the blob again."""
    from tests.e2e.test_cli import voiceid

    listed = voiceid(azurite, "poison", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    items = [i for i in json.loads(listed.stdout) if i["blob"] == "retries/probe.flac"]
    assert items and items[0]["code"] == "system.retries_exhausted"
    replayed = voiceid(azurite, "poison", "replay", "--json")
    assert json.loads(replayed.stdout)["identify/retries/probe.flac"] == "replayed"
    etag = client.storage.etag("identify", "retries/probe.flac")
    doc = client.wait_result("identify", "retries/probe.flac", etag, timeout_s=60)
    assert doc["status"] == "ok" and doc["kind"] == "verify"
    again = json.loads(voiceid(azurite, "poison", "list", "--json").stdout)
    assert not [i for i in again if i["blob"] == "retries/probe.flac"]
