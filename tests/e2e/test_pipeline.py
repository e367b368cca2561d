"""The product as a user meets it: upload to containers, read result documents."""

from __future__ import annotations

import random

import pytest

from shared.core import contract
from shared.scoring.calibration import identify_threshold
from tests.helpers import FILE_SPEAKER, FOLDER_SPEAKERS, SINGLE, assert_valid, clips

pytestmark = pytest.mark.e2e


def test_folder_enrolment_adds_one_voiceprint_per_file(enrolled, client):
    for speaker in FOLDER_SPEAKERS:
        docs = enrolled[speaker]
        assert len(docs) == 3
        for doc in docs:
            assert doc["status"] == "ok", doc
            assert doc["blob"].startswith(f"enroll/{speaker}/")
            assert_valid(doc)
        assert len({d["voiceprint_id"] for d in docs}) == 3
    listed = {row["speaker"]: row["voiceprints"] for row in client.speakers()}
    assert all(listed[s] == 3 for s in FOLDER_SPEAKERS), listed


def test_single_file_enrolment_is_named_after_the_file(enrolled, client):
    [doc] = enrolled[FILE_SPEAKER]
    assert (doc["status"], doc["speaker"], doc["blob"]) == ("ok", FILE_SPEAKER, f"enroll/{FILE_SPEAKER}.flac")
    assert_valid(doc)
    assert {row["speaker"]: row["voiceprints"] for row in client.speakers()}[FILE_SPEAKER] == 1


@pytest.mark.parametrize("speaker", [*FOLDER_SPEAKERS, FILE_SPEAKER])
def test_identify_a_held_back_clip_of_an_enrolled_speaker(enrolled, client, speaker):
    doc = client.identify(clips(speaker)[-1])
    assert doc["status"] == "ok", doc
    assert doc["kind"] == "identify"
    assert doc["decision"] == speaker, (doc["candidates"], doc["threshold"], doc["calibration"])
    scores = [c["score"] for c in doc["candidates"]]
    assert scores == sorted(scores, reverse=True)
    assert doc["candidates"][0]["speaker"] == speaker
    assert set(doc["candidates"][0]) == {"speaker", "score", "cosine"}
    speakers = len(client.speakers())
    assert doc["calibration"]["speakers"] == speakers
    assert doc["threshold"] == pytest.approx(identify_threshold(0.01, speakers), abs=1e-4)  # 1 % over the gallery
    assert scores[0] >= doc["threshold"], doc
    assert doc["voiceprints_scored"] == sum(row["voiceprints"] for row in client.speakers())
    assert_valid(doc)


def test_identify_a_speaker_never_enrolled_says_unknown(enrolled, client):
    stranger = sorted(p for p in SINGLE.iterdir() if p.is_dir())[0]
    doc = client.identify(next(stranger.glob("*.flac")))
    assert doc["status"] == "ok", doc
    assert doc["decision"] == "unknown"
    assert doc["candidates"] and doc["candidates"][0]["score"] < doc["threshold"]
    assert_valid(doc)


def test_verify_a_true_claim_is_accepted(enrolled, client):
    doc = client.verify(clips("1688")[-2], claim="1688")
    assert (doc["status"], doc["kind"], doc["claimed"], doc["decision"]) == ("ok", "verify", "1688", "accept")
    assert doc["score"] >= doc["threshold"]
    assert_valid(doc)


def test_verify_a_false_claim_is_rejected(enrolled, client):
    doc = client.verify(clips("1998")[-2], claim="1688")
    assert (doc["status"], doc["decision"]) == ("ok", "reject")
    assert doc["score"] < doc["threshold"]
    assert_valid(doc)


def test_verify_a_claim_for_a_name_nobody_enrolled_is_rejected_with_reason(enrolled, client):
    doc = client.verify(clips("1688")[-2], claim="Nobody Here")
    assert (doc["status"], doc["decision"], doc["reason"], doc["score"]) == ("ok", "reject", "not_enrolled", None)
    assert_valid(doc)


@pytest.mark.parametrize("container", ["identify", "enroll"])
def test_non_audio_gets_a_rejected_result_and_the_host_keeps_running(client, host, tmp_path, container):
    junk = tmp_path / "junk.wav"
    junk.write_bytes(random.Random(20261124).randbytes(4096))  # fixed: some random bytes look like an MP3 frame
    blob = f"junk-{container}/junk.wav"
    doc = client.wait_result(container, blob, client.upload(container, blob, junk), timeout_s=120)
    assert doc["status"] == "rejected"
    assert doc["error"]["code"] == "audio.not_audio"
    assert doc["error"]["hint"]
    assert_valid(doc)
    assert host.alive()
    assert "audio.not_audio" in host.log_text()


def test_reuploading_a_blob_replaces_its_result(enrolled, client, tmp_path):
    blob = "same-name.flac"
    first = client.wait_result("identify", blob, client.upload("identify", blob, clips("1688")[-1]))
    second = client.wait_result("identify", blob, client.upload("identify", blob, clips("2033")[-1]))
    assert (first["decision"], second["decision"]) == ("1688", "2033")
    stored = client.storage.read_json(contract.RESULTS, contract.result_blob_name("identify", blob))
    assert stored["etag"] == second["etag"] != first["etag"]


def test_enrolment_by_unmappable_name_is_rejected_with_a_code(client, tmp_path):
    blob = "a/b/too-deep.flac"
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, clips("1688")[0]))
    assert (doc["status"], doc["error"]["code"]) == ("rejected", "name.too_deep")
    assert_valid(doc)


def test_a_call_over_a_phone_line_is_classed_narrow_band_and_the_app_enrolments_wide(enrolled, client, tmp_path):
    """The band every input is classed in (docs/accuracy.md, "A gallery of mixed channels") reaches the results."""
    from tests.media import make

    for docs in enrolled.values():
        for doc in docs:
            assert doc["audio"]["band"] == "wide" and doc["audio"]["high_band_db"] > -55, doc["audio"]
    call = make("wav-mulaw-8k", clips("1688")[-2], tmp_path)
    doc = client.verify(call, claim="1688")
    assert doc["status"] == "ok", doc
    assert doc["audio"]["band"] == "narrow" and doc["audio"]["input"]["sample_rate"] == 8000
    assert doc["decision"] == "accept", (doc["score"], doc["threshold"])
    assert doc["calibration"]["bands"]["wide"] >= 10  # the app enrolments
    assert "band_fits" not in doc["calibration"]  # too few phone enrolments for a fit of their own: the pooled one
    assert_valid(doc)
