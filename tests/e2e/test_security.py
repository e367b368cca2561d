"""Verification lockout and retention, against the running host."""

from __future__ import annotations

import time

import pytest

from shared.core import contract
from shared.core.settings import Settings
from shared.privacy.retention import sweep
from shared.results import audit
from tests.helpers import FILLERS, HOST_ENV, clips

pytestmark = pytest.mark.e2e


def test_repeated_failed_verifications_lock_the_claim(enrolled, client):
    """Five rejected claims (the default) lock the claim: the next one is refused unscored, even a true one."""
    claim = f"reader-{FILLERS[0]}"
    impostor = clips("2033")
    decisions = [client.verify(impostor[i % len(impostor)], claim=claim)["decision"] for i in range(5)]
    assert decisions == ["reject"] * 5
    locked = client.verify(impostor[0], claim=claim)
    assert (locked["status"], locked["error"]["code"]) == ("rejected", "verify.locked")
    assert "locked until" in locked["error"]["message"]
    events = [e for e in audit.read(client.storage) if e["action"] == "lockout" and e["speaker"] == claim]
    assert len(events) == 1 and events[0]["outcome"] == "locked"
    other = client.verify(clips("1998")[-1], claim="1998")  # other claims are not affected
    assert other["decision"] == "accept"


def test_retention_deletes_old_probe_audio_results_and_orphan_receipts(enrolled, client):
    doc = client.identify(clips("1688")[-1])
    blob = doc["blob"].split("/", 1)[1]
    assert client.storage.etag(contract.IDENTIFY, blob) is not None
    settings = Settings.from_env({"AzureWebJobsStorage": client.settings.storage_connection, **HOST_ENV,
                                  "VOICEID_PROBE_AUDIO_RETENTION_S": "60", "VOICEID_RESULT_RETENTION_S": "60"})
    report = sweep(client.storage, settings, now=time.time() + 3600)  # an hour later
    assert report.probe_audio >= 1 and report.results >= 1 and report.receipts >= 1
    assert client.storage.etag(contract.IDENTIFY, blob) is None
    assert client.storage.read_json(contract.RESULTS, f"identify/{blob}.json") is None
    receipts = [i.name for i in client.storage.list(contract.HOSTS, "blobreceipts/") if i.name.endswith(blob)]
    assert receipts == []


def test_retention_keeps_what_is_young(enrolled, client):
    settings = Settings.from_env({"AzureWebJobsStorage": client.settings.storage_connection, **HOST_ENV})
    before = {i.name for i in client.storage.list(contract.IDENTIFY)}
    report = sweep(client.storage, settings)  # defaults: 30 days
    assert (report.probe_audio, report.results) == (0, 0)
    assert {i.name for i in client.storage.list(contract.IDENTIFY)} == before
