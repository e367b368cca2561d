"""Erasure is real: after `voiceid delete`, no voiceprint, audio, result or embedding of the speaker is left.

The sweep reads every blob of every container and peeks every queue of the account. The
name may remain only where docs/security.md says (tombstone, audit log, identify/ uploads
and their receipts, results/identify/); no array anywhere may hold one of the speaker's
voiceprints or their speaker model.
"""

from __future__ import annotations

import base64
import io
import json
import threading

import numpy as np
import pytest

from shared.core import contract
from shared.core.names import speaker_key
from shared.core.records import BlobInput
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.gallery.store import stored_models
from shared.pipeline.enroll import handle_enroll
from shared.privacy import erasure
from shared.results import audit
from shared.storage import sealing
from tests.helpers import HOST_ENV, clips, enrol_clips, voiceid

pytestmark = pytest.mark.e2e
SPEAKER = "Erase Me 2609"
SOURCE = "2609"
ALLOWED = ("gallery/" + contract.TOMBSTONES, "audit/", "identify/", "results/identify/")


def their_vectors(client, key: str) -> np.ndarray:
    """The speaker's voiceprints and their speaker model (normalised mean), from every model's gallery."""
    from shared.core.models import ModelInfo
    from shared.gallery.store import Gallery

    rows = []
    for model_id in stored_models(client.storage):
        gallery = Gallery(client.storage, ModelInfo.from_id(model_id, dim=0), 4)
        for n in gallery.shard_numbers():
            shard = gallery.load(n)
            rows += [shard.matrix[i] for i, e in enumerate(shard.entries) if e["key"] == key]
    assert rows, "the speaker has no voiceprint to erase"
    mean = np.mean(rows, axis=0)
    return np.vstack(rows + [mean / np.linalg.norm(mean)])


def arrays_of(name: str, data: bytes) -> list[np.ndarray]:
    """Every float matrix in an .npz/.npy blob (a stats blob's centred models are put back on their mean)."""
    if name.endswith(".npy"):
        return [np.atleast_2d(np.load(io.BytesIO(data), allow_pickle=False))]
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        out = [np.atleast_2d(npz[k]) for k in npz.files if npz[k].dtype.kind == "f"]
        if "mean" in npz.files and "models" in npz.files and len(npz["models"]):
            out.append(npz["models"] + npz["mean"])
    return out


def text_of(name: str, data: bytes) -> str:
    if name.endswith(".npz"):
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return " ".join(str(npz[k]) for k in npz.files if npz[k].dtype.kind == "U")
    return data.decode("utf-8", "replace")


def sweep(client, key: str, vectors: np.ndarray) -> list[str]:
    """Every place the speaker's name or embedding remains, outside the allowed ones."""
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    found = []
    for container in client.storage.blobs.list_containers():
        for item in client.storage.list(container.name):
            where = f"{container.name}/{item.name}"
            got = client.storage.read(container.name, item.name)
            data = got[0] if got else b""
            data = sealing.keyring().open(data, where) if sealing.is_sealed(data) else data
            for arr in arrays_of(item.name, data) if item.name.endswith((".npz", ".npy")) else []:
                if arr.ndim == 2 and arr.shape[1] == unit.shape[1] and len(arr):
                    rows = arr / np.maximum(np.linalg.norm(arr, axis=1, keepdims=True), 1e-12)
                    if np.max(rows @ unit.T) > 0.9999:
                        found.append(f"embedding in {where}")
            allowed = where.startswith(ALLOWED) or (container.name == contract.HOSTS and "/identify/" in item.name)
            if not allowed and (key in where.casefold() or key in text_of(item.name, data).casefold()):
                found.append(f"name in {where}")
    for queue in client.storage.queues.list_queues():
        for msg in client.storage.queues.get_queue_client(queue.name).peek_messages(max_messages=32):
            body = msg.content
            try:
                body = base64.b64decode(body, validate=True).decode("utf-8")
            except ValueError:
                pass
            if key in body.casefold():
                found.append(f"name in queue {queue.name}")
    return found


@pytest.fixture(scope="module")
def erased(enrolled, client, azurite):
    """The speaker enrolled by folder and by a file in another spelling, verified and identified, then erased."""
    pairs = [(f"{SPEAKER}/{p.name}", p) for p in enrol_clips(SOURCE, 2)]
    pairs.append((f"{SPEAKER.upper()}.flac", enrol_clips(SOURCE, 3)[2]))
    for blob, path in pairs:
        assert client.wait_result("enroll", blob, client.upload("enroll", blob, path))["status"] == "ok"
    assert client.verify(clips(SOURCE)[-1], claim=SPEAKER)["decision"] == "accept"
    assert client.identify(clips(SOURCE)[-1])["decision"] == SPEAKER
    vectors = their_vectors(client, speaker_key(SPEAKER))
    run = voiceid(azurite, "delete", SPEAKER.lower(), "--yes", "--json", VOICEID_ACTOR="ticket-4711")
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout), vectors


def test_delete_reports_what_it_removed(erased):
    report, _ = erased
    assert report["found"] and report["voiceprints"] == 3 and report["enroll_blobs"] == 3
    assert report["results"] == 3 and report["receipts"] >= 3


def test_nothing_of_the_speaker_remains_outside_the_allowed_places(erased, client):
    _, vectors = erased
    assert sweep(client, speaker_key(SPEAKER), vectors) == []


def test_identify_never_returns_them_again(erased, client):
    doc = client.identify(clips(SOURCE)[-2])
    assert doc["status"] == "ok" and doc["decision"] != SPEAKER
    assert SPEAKER not in [c["speaker"] for c in doc["candidates"]]
    verify = client.verify(clips(SOURCE)[-1], claim=SPEAKER)
    assert (verify["decision"], verify["reason"]) == ("reject", "not_enrolled")


def test_the_deletion_is_audited_with_who_asked(erased, client):
    events = [e for e in audit.read(client.storage) if e["action"] == "delete"]
    mine = [e for e in events if e["speaker"] == SPEAKER.lower()]
    assert mine and mine[-1]["actor"] == "ticket-4711" and mine[-1]["voiceprints"] == 3
    assert all("embedding" not in json.dumps(e) for e in events)


def test_deleting_twice_is_fine(erased, azurite):
    run = voiceid(azurite, "delete", SPEAKER, "--yes")
    assert run.returncode == 0, run.stderr
    assert "nothing enrolled" in run.stdout


def test_an_enrolment_uploaded_before_the_erasure_is_discarded(erased, client):
    """A late delivery of an erased upload (its blob is gone) stores nothing and writes no result."""
    settings = Settings.from_env({"AzureWebJobsStorage": client.settings.storage_connection, **HOST_ENV})
    blob = f"{SPEAKER}/late.flac"
    doc = handle_enroll(BlobInput("enroll", blob, '"0x8DEADBEEF"', clips(SOURCE)[0].read_bytes()), settings)
    assert doc["status"] == "discarded"
    assert client.storage.read_json(contract.RESULTS, f"enroll/{blob}.json") is None
    assert speaker_key(SPEAKER) not in {speaker_key(r["speaker"]) for r in client.speakers()}


def test_an_erasure_during_an_enrolment_in_flight_wins(enrolled, client, monkeypatch):
    """Erased while the enrolment was embedding: the voiceprint it then stores is removed again."""
    speaker = "Race 2609"
    settings = Settings.from_env({"AzureWebJobsStorage": client.settings.storage_connection, **HOST_ENV})
    get_embedder(settings)  # loaded first, so the enrolment reaches its pause well within the 2 s below
    monkeypatch.setenv("VOICEID_FAULT_PAUSE", "enroll.embedded=4")
    inp = BlobInput("enroll", f"{speaker}/a.flac", '"0x8DEADBEEF"', enrol_clips(SOURCE, 1)[0].read_bytes())
    out: dict = {}
    worker = threading.Thread(target=lambda: out.update(doc=handle_enroll(inp, settings)))
    worker.start()
    worker.join(timeout=2.0)  # the model is loaded and the clip embedded before the pause ends
    erasure.erase(client.storage, settings, speaker, actor="test")
    worker.join(timeout=120)
    assert (out["doc"]["status"], out["doc"]["checked"]) == ("discarded", "after")
    assert speaker_key(speaker) not in {speaker_key(r["speaker"]) for r in client.speakers()}


def test_a_new_upload_after_the_erasure_enrols_them_again_on_purpose(erased, client, azurite):
    blob = f"{SPEAKER}/again.flac"
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, enrol_clips(SOURCE, 1)[0]))
    assert doc["status"] == "ok" and doc["speaker"] == SPEAKER
    assert client.verify(clips(SOURCE)[-1], claim=SPEAKER)["decision"] == "accept"
    assert voiceid(azurite, "delete", SPEAKER, "--yes").returncode == 0


def test_the_sweep_finds_a_speaker_who_was_not_erased(enrolled, client):
    """The control: the same sweep, for a speaker still enrolled, finds their voiceprints, results and audio."""
    found = sweep(client, "1688", their_vectors(client, "1688"))
    assert any(f.startswith("embedding in gallery/") for f in found)
    assert any(f.startswith("name in enroll/1688/") for f in found)
    assert any(f.startswith("name in results/enroll/1688/") for f in found)
    assert any(f.startswith(f"name in {contract.HOSTS}/") for f in found)


def test_the_same_audio_under_two_names_gives_two_results_and_one_voiceprint(enrolled, client):
    clip = enrol_clips("3080", 2)[1]
    first = client.enroll("Twin 3080", clip)
    second = client.wait_result("enroll", "Twin 3080/copy.flac",
                                client.upload("enroll", "Twin 3080/copy.flac", clip))
    assert (first["status"], second["status"]) == ("ok", "ok")
    assert second["voiceprint_id"] == first["voiceprint_id"]
    assert second["duplicate_of"] == first["blob"]
    rows = [r for r in client.speakers() if r["speaker"] == "Twin 3080"]
    assert [r["voiceprints"] for r in rows] == [1]
    erasure.erase(client.storage, client.settings, "Twin 3080", actor="test")
