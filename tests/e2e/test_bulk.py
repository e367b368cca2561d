"""`voiceid enroll DIR` as a scheduled job runs it: dry run, report, re-runs that skip, resume after Ctrl-C."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time

import pytest

from shared.privacy import erasure
from tests.helpers import enrol_clips, voiceid

READERS = ("2609", "3331")


@pytest.fixture
def make_voices(tmp_path, client, host):
    """Two speaker folders ``<prefix> 2609`` and ``<prefix> 3331`` of two real clips each, one text file and one
    empty .wav. Each test takes its own prefix: an erasure's tombstone has one-second resolution, so a speaker
    erased by one test and enrolled again by the next within that second would be discarded as erased in flight."""
    made = []

    def make(prefix: str):
        root = tmp_path / prefix
        for reader in READERS:
            (root / f"{prefix} {reader}").mkdir(parents=True)
            for clip in enrol_clips(reader, 2):
                shutil.copy(clip, root / f"{prefix} {reader}" / clip.name)
            made.append(f"{prefix} {reader}")
        (root / f"{prefix} 2609" / "notes.wav").write_text("not audio\n" * 200)
        (root / f"{prefix} 3331" / "empty.wav").write_bytes(b"")
        return root

    yield make
    for name in made:
        erasure.erase(client.storage, client.settings, name, actor="test")


def report_of(run) -> dict:
    return json.loads(run.stdout)


def test_dry_run_changes_nothing_then_reruns_skip_what_is_enrolled(azurite, client, make_voices):
    voices = make_voices("Bulk")
    dry = voiceid(azurite, "enroll", str(voices), "--dry-run", "--report", "-")
    assert dry.returncode == 0, dry.stderr
    assert report_of(dry)["counts"] == {"would_enroll": 6} and report_of(dry)["dry_run"] is True
    assert not [b for b in client.storage.list("enroll") if b.name.startswith("Bulk ")]

    first = voiceid(azurite, "enroll", str(voices), "--report", "-")
    assert first.returncode == 1, first.stderr  # two files rejected
    rep = report_of(first)
    assert rep["counts"] == {"enrolled": 4, "rejected": 2} and rep["ok"] is False
    codes = {os.path.basename(i["file"]): i["code"] for i in rep["items"] if i["outcome"] == "rejected"}
    assert codes == {"notes.wav": "audio.not_audio", "empty.wav": "audio.empty"}
    assert all(i["hint"] for i in rep["items"] if i["outcome"] == "rejected")
    assert "4 enrolled, 2 rejected" in first.stderr

    (voices / "Bulk 2609" / "notes.wav").unlink()
    (voices / "Bulk 3331" / "empty.wav").unlink()
    clip = next((voices / "Bulk 3331").iterdir())
    clip.rename(clip.with_name("renamed.flac"))  # same audio under another name: still skipped
    shutil.copy(enrol_clips("3331", 3)[2], voices / "Bulk 3331" / "new.flac")
    again = voiceid(azurite, "enroll", str(voices), "--report", str(voices.parent / "r.json"))
    assert again.returncode == 0, again.stdout + again.stderr
    rep = json.loads((voices.parent / "r.json").read_text())
    assert rep["counts"] == {"skipped": 4, "enrolled": 1}
    assert "1 enrolled, 4 skipped" in again.stdout
    assert [os.path.basename(i["file"]) for i in rep["items"] if i["outcome"] == "enrolled"] == ["new.flac"]
    counts = {r["speaker"]: r["voiceprints"] for r in client.speakers()}
    assert counts["Bulk 2609"] == 2 and counts["Bulk 3331"] == 3


def cut_after_first_result(azurite, client, voices, prefix: str) -> int | None:
    """Start ``voiceid enroll``, Ctrl-C it once the first result exists; its exit status, or None when the run
    had already finished every file by then (the race was lost: the cut never happened)."""
    run = voiceid(azurite, "enroll", str(voices), wait=False)
    deadline = time.time() + 120
    while time.time() < deadline and not client.storage.list("results", f"enroll/{prefix} "):
        time.sleep(0.1)  # cut it once the first file is enrolled, before the last one is
    run.send_signal(signal.SIGINT)
    code = run.wait(60)
    if code == 0 and len(client.storage.list("results", f"enroll/{prefix} ")) == 4:
        return None
    return code


def test_a_run_cut_by_ctrl_c_is_finished_by_the_next(azurite, client, make_voices):
    for attempt in range(3):  # a fast host may enrol all four files before the cut lands: then try afresh
        prefix = f"Resume{attempt or ''}"
        voices = make_voices(prefix)
        (voices / f"{prefix} 2609" / "notes.wav").unlink()
        (voices / f"{prefix} 3331" / "empty.wav").unlink()
        code = cut_after_first_result(azurite, client, voices, prefix)
        if code is not None:
            break
    assert code == 130
    done = len(client.storage.list("results", f"enroll/{prefix} "))
    assert 1 <= done <= 4
    rerun = voiceid(azurite, "enroll", str(voices), "--report", "-")
    assert rerun.returncode == 0, rerun.stderr
    rep = report_of(rerun)
    assert rep["counts"].get("skipped", 0) >= 1 and sum(rep["counts"].values()) == 4
    assert rep["counts"].get("skipped", 0) + rep["counts"].get("enrolled", 0) == 4
    counts = {r["speaker"]: r["voiceprints"] for r in client.speakers()}
    assert counts[f"{prefix} 2609"] == 2 and counts[f"{prefix} 3331"] == 2  # each file once, none twice
