"""Backup and restore against real Azurite accounts, through the CLI: every voiceprint comes back, sealed."""

from __future__ import annotations

import json

import pytest

from tests.helpers import start_azurite, voiceid

pytestmark = pytest.mark.e2e


def speakers(storage) -> list[dict]:
    done = voiceid(storage, "speakers", "--json")
    assert done.returncode == 0, done.stderr
    return sorted(json.loads(done.stdout), key=lambda r: (r["model_id"], r["speaker"]))


def test_backup_then_restore_into_a_new_account_keeps_every_speaker(enrolled, azurite, tmp_path):
    made = voiceid(azurite, "backup", str(tmp_path / "b"), "--json")
    assert made.returncode == 0, made.stderr
    report = json.loads(made.stdout)
    assert report["sealed_manifest"] and report["files"] > 0 and sum(report["voiceprints"].values()) >= 16
    checked = voiceid(azurite, "backup", str(tmp_path / "b"), "--verify", "--audit")
    assert checked.returncode == 0 and "seal checked" in checked.stdout, checked.stderr
    fresh = start_azurite(tmp_path / "azurite-2")
    try:
        done = voiceid(fresh, "restore", str(tmp_path / "b"), "--json")
        assert done.returncode == 0, done.stderr
        restored = json.loads(done.stdout)
        assert restored["checked"] and restored["voiceprints"] == report["voiceprints"]
        assert speakers(fresh) == speakers(azurite)
        again = voiceid(fresh, "restore", str(tmp_path / "b"))
        assert again.returncode == 2 and "not empty" in again.stderr  # never on top of a gallery
    finally:
        fresh.stop()
