"""The voiceid CLI as scripts use it: exit codes, --json, the three shapes of `enroll PATH`."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.helpers import clips, enrol_clips, voiceid

pytestmark = pytest.mark.e2e


def test_identify_json_prints_the_result_document_and_exits_0(azurite, enrolled):
    run = voiceid(azurite, "identify", str(clips("2033")[-1]), "--json")
    assert run.returncode == 0, run.stderr
    doc = json.loads(run.stdout)
    assert (doc["kind"], doc["decision"]) == ("identify", "2033")
    assert doc["blob"].endswith(clips("2033")[-1].name)  # unique blob name keeps the file's name


def test_identify_with_claim_prints_a_verify_table(azurite, enrolled):
    run = voiceid(azurite, "identify", str(clips("1998")[-1]), "--claim", "1998")
    assert run.returncode == 0, run.stderr
    assert "verify" in run.stdout and "accept" in run.stdout


def test_identify_of_junk_exits_1_with_the_hint(azurite, host, tmp_path):
    junk = tmp_path / "notes.txt"
    junk.write_text("this is not audio\n" * 50)
    run = voiceid(azurite, "identify", str(junk))
    assert run.returncode == 1
    assert "audio.not_audio" in run.stdout
    assert "Upload" in run.stderr  # the hint says what to do next


def test_enroll_a_speaker_folder_with_a_bad_file_exits_1(azurite, host, tmp_path):
    folder = tmp_path / "Zoë O'Brien"
    folder.mkdir()
    for clip in enrol_clips("3005", 2):
        shutil.copy(clip, folder / clip.name)
    (folder / "empty.wav").write_bytes(b"")
    run = voiceid(azurite, "enroll", str(folder))
    assert run.returncode == 1
    lines = run.stdout.splitlines()
    assert sum("enrolled" in line and "Zoë O'Brien" in line for line in lines) == 2
    assert any("empty.wav" in line and "audio.empty" in line for line in lines)


def test_enroll_one_file_with_name_and_no_wait(azurite, host):
    run = voiceid(azurite, "enroll", str(enrol_clips("3080", 1)[0]), "--name", "Ann Lee", "--no-wait")
    assert run.returncode == 0, run.stderr
    assert "1 uploaded; results will appear under results/enroll/" in run.stdout


def test_help_teaches_with_examples(azurite):
    run = voiceid(azurite, "--help")
    assert run.returncode == 0
    assert "examples:" in run.stdout and "voiceid identify call.wav --claim" in run.stdout
