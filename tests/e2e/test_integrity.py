"""Enrolment integrity on real speech: a file under the wrong name, and one voice under two names."""

from __future__ import annotations

from dataclasses import replace

import pytest

from shared.core import contract
from shared.core.records import BlobInput
from shared.pipeline.enroll import handle_enroll
from tests.helpers import DATA, assert_valid, enrol_clips

pytestmark = pytest.mark.e2e

SPLIT = DATA / "librispeech-split"


def readers() -> list[str]:
    return sorted(p.name for p in SPLIT.iterdir() if p.is_dir())


def enrol(client, blob, path) -> dict:
    return client.wait_result("enroll", blob, client.upload("enroll", blob, path), timeout_s=180)


def test_a_file_of_someone_else_is_flagged_but_stored(enrolled, client):
    first = enrol(client, "Mix Up/own.flac", enrol_clips("2609", 1)[0])
    assert first["integrity"]["status"] == "new_speaker"
    same = enrol(client, "Mix Up/own-2.flac", enrol_clips("2609", 2)[1])
    assert same["integrity"]["status"] == "ok", same["integrity"]
    other = enrol(client, "Mix Up/other.flac", SPLIT / readers()[10] / "a.flac")
    assert other["status"] == "ok", other
    assert other["integrity"]["status"] == "mismatch"
    assert other["integrity"]["score"] < other["integrity"]["threshold"]
    assert_valid(other)


def test_one_voice_under_a_second_name_is_a_possible_duplicate(enrolled, client):
    reader = readers()[11]
    enrol(client, "Dup One.flac", SPLIT / reader / "a.flac")
    doc = enrol(client, "Dup Two.flac", SPLIT / reader / "b.flac")
    assert doc["integrity"]["status"] == "new_speaker"
    assert [d["speaker"] for d in doc["integrity"]["possible_duplicates"]][:1] == ["Dup One"]
    assert_valid(doc)


def test_reject_mode_refuses_the_mismatch_and_stores_nothing(enrolled, client):
    settings = replace(client.settings, enroll_mismatch="reject")
    blob = "1998/not-1998.flac"
    data = (SPLIT / readers()[12] / "a.flac").read_bytes()
    etag = '"0x8DTEST"'  # called in-process, not uploaded: the host (flag mode) must not see this blob
    before = {r["speaker"]: r["voiceprints"] for r in client.speakers()}["1998"]
    doc = handle_enroll(BlobInput(container=contract.ENROLL, blob=blob, etag=etag, data=data), settings)
    assert (doc["status"], doc["error"]["code"]) == ("rejected", "enroll.mismatch"), doc
    assert doc["integrity"]["status"] == "mismatch"
    assert_valid(doc)
    assert {r["speaker"]: r["voiceprints"] for r in client.speakers()}["1998"] == before
