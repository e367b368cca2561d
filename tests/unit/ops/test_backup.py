"""Backup and restore on the in-memory storage: a sealed, verifiable export; erased speakers stay erased."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.settings import Settings
from shared.gallery.shards import Voiceprint, voiceprint_id
from shared.gallery.store import Gallery
from shared.gallery.watchlist import cases, watchlist_gallery
from shared.ops.backup import backup, compare_audit, read_manifest, restore
from shared.privacy.erasure import erase
from shared.results import audit
from shared.storage.sealing import keyring
from tests.helpers import memory_storage, unit_vectors

MODEL = ModelInfo(name="test-model", version="0123456789ab", dim=16)
SPEAKERS = [f"cust-{i:04d}" for i in range(12)]


def settings() -> Settings:
    return replace(Settings.from_env(), shard_count=2)


def vp(name: str, vec: np.ndarray, container: str = contract.ENROLL) -> Voiceprint:
    return Voiceprint(voiceprint_id=voiceprint_id(container, f"{name}/a.wav"), key=name.casefold(), speaker=name, embedding=vec,
                      blob=f"{container}/{name}/a.wav", created_at="2026-12-01T10:00:00.000Z")


@pytest.fixture
def source():
    """A gallery of 12 customers (audio, statistics), one watchlist case, one erased speaker, some audit events."""
    storage = memory_storage()
    vecs = unit_vectors(len(SPEAKERS) + 1, MODEL.dim, seed=3)
    gallery = Gallery(storage, MODEL, 2)
    gallery.add_many([vp(s, vecs[i]) for i, s in enumerate(SPEAKERS)])
    gallery.refresh_stats()
    for s in SPEAKERS:
        storage.write(contract.ENROLL, f"{s}/a.wav", b"RIFF " + s.encode())
    watchlist_gallery(storage, MODEL).add(vp("FR-0001", vecs[-1], contract.WATCHLIST))
    storage.write(contract.WATCHLIST, "FR-0001/a.wav", b"RIFF fraud")
    erase(storage, settings(), "long-gone", actor="test")
    audit.record(storage, "enroll", actor="blob-trigger", outcome="ok", speaker=SPEAKERS[0])
    return storage


def speakers_of(storage) -> set[str]:
    gallery = Gallery(storage, MODEL, 2)
    return {e["speaker"] for n in gallery.shard_numbers() for e in gallery.load(n).entries}


def test_a_backup_restores_into_an_empty_account_with_every_voiceprint_and_tombstone(source, tmp_path):
    ring = keyring()
    made = backup(source, ring, tmp_path / "b1", with_audio=True)
    assert made.voiceprints == {MODEL.id: 12, f"watchlist:{MODEL.id}": 1} and made.tombstones == 1
    assert made.sealed_manifest and made.audit_blobs >= 1
    target = memory_storage()
    done = restore(target, ring, tmp_path / "b1")
    assert done.checked and done.voiceprints == made.voiceprints and done.dropped == 0
    assert speakers_of(target) == set(SPEAKERS)
    assert [c["case"] for c in cases(target)] == ["FR-0001"]
    assert target.read(contract.GALLERY, contract.tombstone_blob("long-gone")) is not None
    assert target.read(contract.GALLERY, Gallery(target, MODEL, 2).stats_blob()) is not None
    assert target.read(contract.ENROLL, f"{SPEAKERS[3]}/a.wav")[0] == f"RIFF {SPEAKERS[3]}".encode()
    assert done.audio == 13


def test_the_backup_folder_holds_no_voiceprint_or_name_in_the_clear(source, tmp_path):
    backup(source, keyring(), tmp_path / "b", with_audio=True)
    for f in (tmp_path / "b").rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            assert not any(s.encode() in data for s in (*SPEAKERS, "FR-0001")), f
    manifest = json.loads((tmp_path / "b" / "manifest.json").read_text())
    assert {e["sealed_by"] for e in manifest["entries"]} == {"store", "backup"}
    audio = [e for e in manifest["entries"] if e["container"] in (contract.ENROLL, contract.WATCHLIST)]
    assert len(audio) == 13 and all("name" not in e and e["name_sealed"] for e in audio)


def test_a_changed_file_or_manifest_is_refused(source, tmp_path):
    ring = keyring()
    backup(source, ring, tmp_path / "b")
    shard = next((tmp_path / "b" / "blobs" / "gallery").rglob("shard-0000.npz"))
    original = shard.read_bytes()
    shard.write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    with pytest.raises(PermanentError) as err:
        restore(memory_storage(), ring, tmp_path / "b")
    assert err.value.code == "backup.damaged"
    shard.write_bytes(original)
    manifest = tmp_path / "b" / "manifest.json"
    doc = json.loads(manifest.read_text())
    doc["tombstones"] = {}  # try to bring an erased speaker back by hiding the erasure
    manifest.write_text(json.dumps(doc))
    with pytest.raises(PermanentError) as err:
        read_manifest(tmp_path / "b", ring)
    assert err.value.code == "backup.damaged" and "altered" in err.value.message


def test_a_speaker_erased_after_the_backup_is_never_restored(source, tmp_path):
    ring = keyring()
    backup(source, ring, tmp_path / "before", with_audio=True)
    erase(source, settings(), SPEAKERS[5], actor="test")  # after the first backup
    backup(source, ring, tmp_path / "after")
    target = memory_storage()
    done = restore(target, ring, tmp_path / "before", erasures_from=[tmp_path / "after"])
    assert SPEAKERS[5] not in speakers_of(target) and len(speakers_of(target)) == 11
    assert done.dropped == 1 and done.erased_speakers == 1 and done.audio_dropped == 1
    assert done.rebuilt_stats == [MODEL.id]  # the statistics held the erased speaker's model
    assert target.read(contract.ENROLL, f"{SPEAKERS[5]}/a.wav") is None
    assert target.read(contract.GALLERY, contract.tombstone_blob(SPEAKERS[5].casefold())) is not None


def test_tombstones_already_in_the_target_are_honoured_and_anything_else_there_is_refused(source, tmp_path):
    ring = keyring()
    backup(source, ring, tmp_path / "b")
    target = memory_storage()
    erase(target, settings(), SPEAKERS[2], actor="test")  # only a tombstone: the account counts as empty
    done = restore(target, ring, tmp_path / "b")
    assert SPEAKERS[2] not in speakers_of(target) and done.dropped == 1
    with pytest.raises(PermanentError) as err:
        restore(target, ring, tmp_path / "b")  # now it holds a gallery
    assert err.value.code == "backup.target_not_empty"
    with pytest.raises(PermanentError) as err:
        backup(source, ring, tmp_path / "b")
    assert err.value.code == "backup.folder_not_empty"


def test_the_audit_heads_show_a_log_that_lost_events(source, tmp_path):
    ring = keyring()
    backup(source, ring, tmp_path / "b")
    manifest, sealed = read_manifest(tmp_path / "b", ring)
    assert sealed and compare_audit(manifest, source) == []
    audit.record(source, "identify", actor="blob-trigger", outcome="unknown")  # the log grew: still fine
    assert compare_audit(manifest, source) == []
    name = manifest["audit_heads"][0]["name"]
    source.write(contract.AUDIT, name, b"")  # a log emptied behind our back
    assert compare_audit(manifest, source) == [f"{name}: shorter or changed since the backup"]
