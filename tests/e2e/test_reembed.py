"""Changing the model: re-embed the gallery with fusion (ECAPA + GE2E) and identify through the host's match workers.

Fusion contains both other real models, and its scoring centres each part on its own
(``FUSED_PARTS``), so this also proves that match workers, which never load a model, score it right.
"""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from shared.core import contract
from shared.core.records import BlobInput
from shared.embedding.embedder import get_embedder
from shared.localhost.functions import encode_message
from shared.ops.reembed import reembed
from shared.pipeline.enroll import handle_enroll
from shared.pipeline.identify import handle_identify
from tests.helpers import FOLDER_SPEAKERS, assert_valid, clips, voiceid

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def fused(client):
    return replace(client.settings, model="fusion", model_source="")


def by_model(client) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for row in client.speakers():
        out.setdefault(row["model_id"], {})[row["speaker"]] = row["voiceprints"]
    return out


def test_before_reembed_the_new_model_refuses_instead_of_losing_the_gallery(enrolled, client, fused):
    """VOICEID_MODEL changed, gallery not carried over: an error result naming the fix, not "unknown" for everyone
    (in-process with fusion; the host keeps ECAPA). After reembed the same probe is matched (the last test)."""
    assert get_embedder(fused).info.id not in by_model(client)  # this module is the first to build fusion's gallery
    probe = clips(FOLDER_SPEAKERS[1])[-1]
    blob = f"before-reembed-{probe.name}"
    jobs = handle_identify(BlobInput(container=contract.IDENTIFY, blob=blob, etag='"0x8DPRE"',
                                     data=probe.read_bytes()), fused)
    assert jobs == []  # nothing fanned out
    doc = client.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, blob))
    assert (doc["status"], doc["error"]["code"]) == ("error", "gallery.other_model"), doc
    assert "voiceid reembed --to fusion" in doc["error"]["hint"]
    assert get_embedder(client.settings).info.id in doc["stored_models"]
    assert_valid(doc)
    enrol = handle_enroll(BlobInput(container=contract.ENROLL, blob="Not Started/x.flac", etag='"0x8DPRE2"',
                                    data=probe.read_bytes()), fused)
    assert (enrol["status"], enrol["error"]["code"]) == ("error", "gallery.other_model")  # no second gallery begun
    assert get_embedder(fused).info.id not in by_model(client)


def test_reembed_carries_every_voiceprint_over_and_resumes(enrolled, client, fused):
    ecapa_id = get_embedder(client.settings).info.id
    fused_id = get_embedder(fused).info.id
    before = by_model(client)[ecapa_id]
    report = reembed(client.storage, fused, progress=False)
    assert (report.source, report.target, report.complete) == (ecapa_id, fused_id, True), report
    assert report.reembedded + report.already == report.voiceprints == sum(before.values())
    after = by_model(client)
    assert after[fused_id] == before  # same speakers, same voiceprint counts, display names kept
    assert after[ecapa_id] == before  # the source is left alone without --delete-source
    again = reembed(client.storage, fused, progress=False)
    assert (again.reembedded, again.already) == (0, report.voiceprints)  # resumable: nothing twice
    stats = client.storage.read(contract.GALLERY, fused_id.replace("@", "/") + "/stats.npz")
    assert stats is not None  # the new model has its own calibration


def test_the_cli_dry_run_reports_without_changing(enrolled, client, fused):
    done = voiceid(client.settings.storage_connection, "reembed", "--to", "fusion", "--dry-run", "--json",
                   timeout=300, VOICEID_SHARD_COUNT=str(client.settings.shard_count))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["voiceprints"] == report["already"] > 0 and report["reembedded"] == 0


def test_match_workers_score_a_fused_probe_against_the_fused_gallery(enrolled, client, fused):
    reembed(client.storage, fused, progress=False)  # a no-op when the test above ran
    speaker = FOLDER_SPEAKERS[1]
    probe = clips(speaker)[-1]  # not one of the enrolment clips
    blob = f"fused-{probe.name}"
    etag = '"0x8DFUSED"'  # embedded in-process with fusion; the host (ECAPA) never sees an upload
    jobs = handle_identify(BlobInput(container=contract.IDENTIFY, blob=blob, etag=etag,
                                     data=probe.read_bytes()), fused)
    assert jobs and all(json.loads(j)["model_id"] == get_embedder(fused).info.id for j in jobs)
    for job in jobs:
        client.storage.send(contract.MATCH_QUEUE, encode_message(job, "base64"))
    doc = client.wait_result(contract.IDENTIFY, blob, etag, timeout_s=120)
    assert doc["status"] == "ok", doc
    assert doc["model_id"] == get_embedder(fused).info.id
    assert doc["decision"] == speaker, (doc["candidates"], doc["threshold"], doc["calibration"])
    assert_valid(doc)
