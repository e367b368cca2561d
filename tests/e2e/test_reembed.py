"""Changing the model: re-embed the gallery with Resemblyzer and identify through the host's match workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import pytest

from shared import contract
from shared.embedding import get_embedder
from shared.identify import handle_identify
from shared.localhost.functions import encode_message
from shared.pipeline import BlobInput
from shared.reembed import reembed
from tests.conftest import clips
from tests.e2e.conftest import FOLDER_SPEAKERS
from tests.schema_check import assert_valid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def ge2e(client):
    return replace(client.settings, model="resemblyzer", model_source="")


def by_model(client) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in client.speakers():
        out.setdefault(row["model_id"], {})[row["speaker"]] = row["voiceprints"]
    return out


def test_reembed_carries_every_voiceprint_over_and_resumes(enrolled, client, ge2e):
    ecapa_id = get_embedder(client.settings).info.id
    ge2e_id = get_embedder(ge2e).info.id
    before = by_model(client)[ecapa_id]
    report = reembed(client.storage, ge2e, progress=False)
    assert (report.source, report.target, report.complete) == (ecapa_id, ge2e_id, True), report
    assert report.reembedded + report.already == report.voiceprints == sum(before.values())
    after = by_model(client)
    assert after[ge2e_id] == before  # same speakers, same voiceprint counts, display names kept
    assert after[ecapa_id] == before  # the source is left alone without --delete-source
    again = reembed(client.storage, ge2e, progress=False)
    assert (again.reembedded, again.already) == (0, report.voiceprints)  # resumable: nothing twice
    stats = client.storage.read(contract.GALLERY, ge2e_id.replace("@", "/") + "/stats.npz")
    assert stats is not None  # the new model has its own calibration


def test_the_cli_dry_run_reports_without_changing(enrolled, client, ge2e):
    env = {**os.environ, "AzureWebJobsStorage": client.settings.storage_connection,
           "VOICEID_SHARD_COUNT": str(client.settings.shard_count)}
    done = subprocess.run([sys.executable, "-m", "shared.cli", "reembed", "--to", "resemblyzer", "--dry-run", "--json"],
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["voiceprints"] == report["already"] > 0 and report["reembedded"] == 0


def test_match_workers_score_a_ge2e_probe_against_the_ge2e_gallery(enrolled, client, ge2e):
    reembed(client.storage, ge2e, progress=False)  # a no-op when the test above ran
    speaker = FOLDER_SPEAKERS[1]
    probe = clips(speaker)[-1]  # not one of the enrolment clips
    blob = f"ge2e-{probe.name}"
    etag = '"0x8DGE2E"'  # embedded in-process with GE2E; the host (ECAPA) never sees an upload
    jobs = handle_identify(BlobInput(container=contract.IDENTIFY, blob=blob, etag=etag,
                                     data=probe.read_bytes()), ge2e)
    assert jobs and all(json.loads(j)["model_id"] == get_embedder(ge2e).info.id for j in jobs)
    for job in jobs:
        client.storage.send(contract.MATCH_QUEUE, encode_message(job, "base64"))
    doc = client.wait_result(contract.IDENTIFY, blob, etag, timeout_s=120)
    assert doc["status"] == "ok", doc
    assert doc["model_id"] == get_embedder(ge2e).info.id
    assert doc["decision"] == speaker, (doc["candidates"], doc["threshold"], doc["calibration"])
    assert_valid(doc)
