"""Liveness end to end, through the host with the real models: clones and replays never pass, live speech does.

A Tortoise clone of a voice enrolled from that voice's real recordings is never accepted on verify: under
the default ``VOICEID_CHALLENGE=risk`` it is asked for a challenge it cannot answer (the failed answer
counts against the claim's lockout), and with challenges off the detector refuses it; on enrol it is
held for an operator's review (nothing enrolled) and the operator's answer decides. A simulated replay is never accepted; live speech of an enrolled reader is
accepted with a ``live`` decision. Every result has
its ``liveness`` object and the audit log has every attack decision. The shipped detector was
trained on the kit's set, so these prove the wiring, not the accuracy on unseen attacks
(bench/liveness_backend.py measures that, family by family held out).
"""

from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from shared.cli import review as review_cli
from shared.core import contract
from shared.core.names import speaker_key
from shared.core.records import BlobInput
from shared.pipeline import lockout
from shared.pipeline.enroll import handle_enroll
from shared.pipeline.identify import handle_identify
from shared.privacy.erasure import erase
from shared.results import audit
from tests.helpers import DATA, assert_valid, clips

pytestmark = pytest.mark.e2e

SPOOF = DATA / "spoof"
VOICE = "tom"  # a Tortoise example voice: its real reference recordings and clips cloned from them
CLONES = sorted((SPOOF / "spoof" / "tortoise-tts" / "tortoise").glob(f"*_{VOICE}*.flac"))
REPLAYS = sorted((SPOOF / "replay" / "replay-sim").glob("*.flac"))


@pytest.fixture(scope="module")
def cloned_voice(enrolled, client):
    """The voice enrolled from its own recordings (in-process and flag-only: the setup, not the test)."""
    name = "Tom Clone Target"
    for i, path in enumerate(sorted((SPOOF / "bonafide" / "tortoise-voices" / VOICE).glob("*.flac"))):
        inp = BlobInput(container=contract.ENROLL, blob=f"{name}/ref-{i}.flac", etag=f'"0x8DREF{i}"',
                        data=path.read_bytes())
        doc = handle_enroll(inp, replace(client.settings, liveness="flag"))
        assert doc["status"] == "ok", doc
    yield name
    # its voiceprints point at blobs never uploaded (called in-process): erase them, or later tests that read
    # every enrolment's audio (voiceid reembed) would find them missing
    erase(client.storage, client.settings, name, actor="test")


def test_a_live_reader_is_accepted_and_the_result_says_live(enrolled, client):
    doc = client.verify(clips("1688")[-2], claim="1688")
    assert (doc["status"], doc["decision"]) == ("ok", "accept"), doc
    live = doc["liveness"]
    assert (live["decision"], live["policy"]) == ("live", "reject")
    assert live["score"] < live["threshold"] and live["model"].startswith("liveness")
    assert doc["timings_ms"]["liveness"] > 0
    assert_valid(doc)
    for doc in enrolled["1688"]:  # enrolments carry the object too
        assert doc["liveness"]["decision"] in ("live", "inconclusive")


def test_a_clone_of_an_enrolled_voice_is_never_accepted_on_verify(cloned_voice, client, tmp_path):
    """Under the default VOICEID_CHALLENGE=risk the detector does not decide alone: a clone whose voice matches is
    asked for a challenge, and a clone made in advance cannot answer it (the failed answer counts)."""
    assert CLONES, f"no Tortoise clones of {VOICE} in the kit"
    key = speaker_key(cloned_voice)
    doc = client.verify(CLONES[1], claim=cloned_voice)
    assert doc["status"] == "ok" and doc["decision"] in ("challenge", "reject"), doc
    assert doc["liveness"]["decision"] == "attack" and doc["liveness"]["score"] >= doc["liveness"]["threshold"]
    assert_valid(doc)
    assert doc["request_id"] not in lockout._read(client.storage, key)[0].failures or doc["decision"] == "reject"
    events = [e for e in audit.read(client.storage) if e.get("request_id") == doc["request_id"]]
    assert [(e["action"], e["outcome"], e["liveness"]) for e in events] == [("verify", doc["decision"], "attack")]
    if doc["decision"] == "challenge":
        assert "liveness.attack" in doc["step_up"]["reasons"]
        answer = client.verify(CLONES[4], claim=cloned_voice, challenge=doc["step_up"]["nonce"])
        assert (answer["status"], answer["error"]["code"]) == ("rejected", "challenge.mismatch"), answer
        doc = answer
    state, _ = lockout._read(client.storage, key)
    assert doc["request_id"] in state.failures  # the lockout counts the failed answer (or the reject)


def test_with_challenges_off_the_detector_refuses_a_clone_on_verify_and_it_counts(cloned_voice, client):
    """In-process (the host's settings are the defaults), not uploaded: the refusal is the trigger's own result."""
    blob = f"{cloned_voice}/clone-off.flac"
    settings = replace(client.settings, challenge="off")
    inp = BlobInput(container=contract.IDENTIFY, blob=blob, etag='"0x8DOFF"', data=CLONES[1].read_bytes())
    assert handle_identify(inp, settings) == []  # refused before any match job
    doc = client.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, blob))
    assert (doc["status"], doc["error"]["code"]) == ("rejected", "liveness.attack"), doc
    assert "not accepted" in doc["error"]["message"] and doc["error"]["hint"]
    assert_valid(doc)
    assert doc["request_id"] in lockout._read(client.storage, speaker_key(cloned_voice))[0].failures


def test_a_clone_is_not_enrolled_without_an_operator(cloned_voice, client, tmp_path, monkeypatch):
    """Below the strict point a clone is held for review (nothing enrolled); the operator's reject deletes it."""
    before = {r["speaker"]: r["voiceprints"] for r in client.speakers()}
    blob = f"{cloned_voice}/clone.flac"
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, CLONES[2]), timeout_s=180)
    assert_valid(doc)
    assert doc.get("voiceprint_id") is None
    assert {r["speaker"]: r["voiceprints"] for r in client.speakers()} == before
    assert doc["status"] == "review" and doc["liveness"]["decision"] == "attack" and not doc["liveness"]["strict"], doc
    held = [r for r in client.reviews() if r["id"] == doc["review"]["id"]]
    assert [r["blob"] for r in held] == [blob]
    monkeypatch.setattr(review_cli, "make_client", lambda: client)  # the operator listens first
    assert review_cli.cmd_fetch(argparse.Namespace(id=doc["review"]["id"], out=str(tmp_path / "held.flac"))) == 0
    assert (tmp_path / "held.flac").read_bytes() == CLONES[2].read_bytes()
    refused = client.review_reject(doc["review"]["id"])
    assert (refused["status"], refused["error"]["code"]) == ("rejected", "liveness.review_rejected"), refused
    assert_valid(refused)
    assert client.storage.read(contract.ENROLL, blob) is None  # the audio is gone
    assert client.storage.read_json(contract.RESULTS, contract.result_blob_name(contract.ENROLL, blob)) == refused
    assert doc["review"]["id"] not in [r["id"] for r in client.reviews()]
    events = [e for e in audit.read(client.storage) if e["action"] == "review"]
    assert [e["outcome"] for e in events][-1] == "rejected" and events[-1]["audio_deleted"] is True


def test_an_operator_approves_a_held_enrolment(cloned_voice, client):
    """The approval writes the held blob again and the trigger enrols it, naming the operator (in-process upload
    of a clone under its own name: the mechanism, not advice to approve clones)."""
    name = "Held For Review"
    blob = f"{name}/held.flac"
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, CLONES[4]), timeout_s=180)
    assert doc["status"] == "review", doc
    try:
        done = client.review_approve(doc["review"]["id"], timeout_s=180)
        assert done["status"] == "ok" and done["speaker"] == name and done["reviewed_by"], done
        assert done["liveness"]["decision"] == "attack"  # the detector's word stays on record
        assert_valid(done)
        assert doc["review"]["id"] not in [r["id"] for r in client.reviews()]
        assert any(r["speaker"] == name for r in client.speakers())
        outcomes = [e["outcome"] for e in audit.read(client.storage) if e["action"] == "review"]
        assert "approved" in outcomes
    finally:
        erase(client.storage, client.settings, name, actor="test")


def test_a_simulated_replay_is_never_accepted(enrolled, client):
    assert REPLAYS, "no replay simulations in the kit"
    doc = client.verify(REPLAYS[0], claim="1688")
    assert doc["status"] == "ok" and doc["decision"] in ("challenge", "reject"), doc
    assert doc["liveness"]["decision"] == "attack"
    assert_valid(doc)


def test_flag_mode_reports_the_attack_and_goes_on(cloned_voice, client):
    settings = replace(client.settings, liveness="flag")
    inp = BlobInput(container=contract.ENROLL, blob=f"{cloned_voice}/flagged.flac", etag='"0x8DFLAG"',
                    data=CLONES[3].read_bytes())
    doc = handle_enroll(inp, settings)
    assert doc["status"] == "ok" and doc["liveness"]["decision"] == "attack" and doc["liveness"]["policy"] == "flag"
    assert_valid(doc)
    off = handle_enroll(replace(inp, blob=f"{cloned_voice}/off.flac"), replace(settings, liveness="off"))
    assert off["status"] == "ok" and off["liveness"] is None and off["timings_ms"]["liveness"] == 0
