"""The fraud watchlist end to end: the CLI lists a case from real speech, the running pipeline screens every input.

Real Azurite, the real local host, the real ECAPA model, kit speech. The listed voice is a
LibriSpeech reader no other test uses (its second half is the fraudster calling again); the
customer is another unused reader. The case is removed at the end, so the session's other
tests never meet it.
"""

from __future__ import annotations

import json

import pytest

from shared.core import contract
from shared.gallery.watchlist import watchlist_gallery, watchlist_models
from shared.results import audit
from shared.storage import sealing
from tests.helpers import SPLIT, assert_valid, voiceid

pytestmark = pytest.mark.e2e
CASE = "FR-E2E-0042"
READERS = sorted(p.name for p in SPLIT.iterdir() if p.is_dir()) if SPLIT.is_dir() else []


@pytest.fixture(scope="module")
def listed(enrolled, client, azurite):
    """The case, added with the CLI by a named operator; removed (and checked gone) afterwards."""
    fraudster = SPLIT / READERS[45] / "a.flac"
    done = voiceid(azurite, "watchlist", "add", CASE, str(fraudster), VOICEID_ACTOR="case-worker-7")
    assert done.returncode == 0, done.stderr
    yield READERS[45]
    gone = voiceid(azurite, "watchlist", "remove", CASE, "--yes", "--json", VOICEID_ACTOR="case-worker-7")
    assert gone.returncode == 0, gone.stderr
    report = json.loads(gone.stdout)
    assert report["voiceprints"] == len(report["models"]) >= 1  # one per model it was carried to
    assert json.loads(voiceid(azurite, "watchlist", "list", "--json").stdout) == []


def enrol(client, blob, path) -> dict:
    return client.wait_result("enroll", blob, client.upload("enroll", blob, path), timeout_s=180)


def test_the_case_is_stored_sealed_under_its_model_and_listed(listed, client, azurite):
    doc = client.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.WATCHLIST, f"{CASE}/a.flac"))
    assert_valid(doc)
    assert doc["status"] == "ok" and doc["case"] == CASE and doc["liveness"]["decision"] != "attack"
    rows = json.loads(voiceid(azurite, "watchlist", "list", "--json").stdout)
    assert [(r["case"], r["voiceprints"], r["model_id"]) for r in rows] == [(CASE, 1, doc["model_id"])]
    assert watchlist_models(client.storage) == [doc["model_id"]]
    from shared.core.models import ModelInfo

    blob = watchlist_gallery(client.storage, ModelInfo.from_id(doc["model_id"], dim=0)).shard_blob(0)
    raw = client.storage.read(contract.GALLERY, blob)[0]
    assert sealing.is_sealed(raw) and CASE.encode() not in raw  # the case id is inside the sealed index only
    events = [e for e in audit.read(client.storage) if e["action"].startswith("watchlist")]
    assert ("watchlist_upload", "case-worker-7", CASE) in {(e["action"], e["actor"], e["speaker"]) for e in events}
    assert ("watchlist", "ok", CASE) in {(e["action"], e.get("status"), e["speaker"]) for e in events}


def test_an_enrolment_in_a_listed_voice_is_refused_and_nothing_is_stored(listed, client):
    doc = enrol(client, "Mallory Fresh/call.flac", SPLIT / listed / "b.flac")
    assert_valid(doc)
    assert doc["status"] == "rejected" and doc["error"]["code"] == "enroll.watchlist", doc
    assert [h["case"] for h in doc["watchlist"]] == [CASE] and doc["watchlist"][0]["score"] >= 4.0
    assert "mallory fresh" not in {s["speaker"].casefold() for s in client.speakers()}
    event = [e for e in audit.read(client.storage) if e.get("blob") == "enroll/Mallory Fresh/call.flac"][-1]
    assert event["watchlist"] == [CASE] and event["code"] == "enroll.watchlist"


def test_identify_reports_the_case_and_verify_refuses_a_listed_voice_claiming_a_customer(listed, client):
    customer = READERS[47]  # (46 has under 3 s of speech in a.flac)
    own = enrol(client, "Wendy Customer/a.flac", SPLIT / customer / "a.flac")
    assert own["status"] == "ok" and own["watchlist"] == [], own  # screened, no match: an empty list
    found = client.identify(SPLIT / listed / "b.flac")
    assert_valid(found)
    assert found["status"] == "ok" and [h["case"] for h in found["watchlist"]] == [CASE]
    claim = client.verify(SPLIT / listed / "b.flac", "Wendy Customer")
    assert_valid(claim)
    assert claim["status"] == "rejected" and claim["error"]["code"] == "verify.watchlist"
    assert [h["case"] for h in claim["watchlist"]] == [CASE]
    genuine = client.verify(SPLIT / customer / "b.flac", "Wendy Customer")
    # not refused: accepted, or (VOICEID_CHALLENGE=risk) asked for a challenge when the detector doubts the clip
    assert genuine["decision"] in ("accept", "challenge") and genuine["watchlist"] == [], genuine
    assert genuine["decision"] == "accept" or "score.grey_band" not in genuine["step_up"]["reasons"], genuine
    from shared.privacy.erasure import erase

    erase(client.storage, client.settings, "Wendy Customer", actor="test")


def test_a_model_change_carries_the_watchlist_over(listed, client):
    from dataclasses import replace

    from shared.embedding.embedder import get_embedder
    from shared.gallery.watchlist import cases
    from shared.ops.reembed import reembed

    fused = replace(client.settings, model="fusion", model_source="")
    report = reembed(client.storage, fused, get_embedder(client.settings).info.id, progress=False)
    assert report.complete and report.watchlist == 1, report
    fused_id = get_embedder(fused).info.id
    assert [(r["case"], r["voiceprints"]) for r in cases(client.storage) if r["model_id"] == fused_id] == [(CASE, 1)]
