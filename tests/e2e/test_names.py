"""Blob names as people and tools write them: odd but ordinary names work; unmappable ones get a code."""

from __future__ import annotations

import unicodedata

import pytest

from tests.helpers import assert_valid, clips, enrol_clips

pytestmark = pytest.mark.e2e

ODD_BUT_FINE = [  # (blob under enroll/, speaker shown, kit speaker whose speech it is)
    ("Zoë O'Brien (test)!/clip 50% \"take\" 1.FLAC", "Zoë O'Brien (test)!", "3331"),
    ("No Extension/clip", "No Extension", "367"),
    ("Émile Zola 100%.WAV", "Émile Zola 100%", "533"),
]


@pytest.fixture(scope="module")
def odd_enrolments(client):
    docs = {}
    for blob, _, source in ODD_BUT_FINE:
        path = enrol_clips(source, 1)[0]
        docs[blob] = client.wait_result("enroll", blob, client.upload("enroll", blob, path))
    return docs


@pytest.mark.parametrize(("blob", "speaker", "source"), ODD_BUT_FINE)
def test_odd_names_simply_work(odd_enrolments, blob, speaker, source):
    doc = odd_enrolments[blob]
    assert (doc["status"], doc["speaker"]) == ("ok", speaker), doc
    assert doc["blob"] == f"enroll/{blob}"
    assert_valid(doc)


def test_a_claim_matches_by_the_documented_rule(odd_enrolments, client):
    # different case, extra spaces, and the NFD spelling of "ë": still the same speaker
    claim = unicodedata.normalize("NFD", "zoë  o'brien (TEST)!")
    doc = client.verify(clips("3331")[-1], claim=claim)
    assert (doc["status"], doc["decision"], doc["claimed"]) == ("ok", "accept", "Zoë O'Brien (test)!"), doc


def test_identify_finds_a_speaker_enrolled_by_an_odd_single_file_name(odd_enrolments, client):
    assert client.identify(clips("533")[-1])["decision"] == "Émile Zola 100%"


@pytest.mark.parametrize(("blob", "code"), [
    (" /clip.flac", "name.empty_speaker"),
    ("Unknown/clip.flac", "name.reserved"),
    ("x" * 200 + "/clip.flac", "name.too_long"),
    ("a/b/clip.flac", "name.too_deep"),
])
def test_unmappable_enrol_names_are_rejected_with_a_code(client, blob, code):
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, clips("3331")[1]))
    assert (doc["status"], doc["error"]["code"]) == ("rejected", code)
    assert_valid(doc)


def test_a_claim_for_the_reserved_name_is_rejected(client):
    blob = "unknown/probe.flac"
    doc = client.wait_result("identify", blob, client.upload("identify", blob, clips("3331")[1]))
    assert (doc["kind"], doc["status"], doc["error"]["code"]) == ("verify", "rejected", "name.reserved")


def test_a_later_enrolment_spelled_differently_keeps_the_first_name(odd_enrolments, client):
    blob = "ZOË   O'BRIEN (TEST)!/second take.flac"
    doc = client.wait_result("enroll", blob, client.upload("enroll", blob, enrol_clips("3331", 2)[1]))
    assert (doc["status"], doc["speaker"]) == ("ok", "Zoë O'Brien (test)!"), doc
    rows = {r["speaker"]: r["voiceprints"] for r in client.speakers()}
    assert rows["Zoë O'Brien (test)!"] == 2
    assert not any(name.startswith("ZOË") for name in rows)
