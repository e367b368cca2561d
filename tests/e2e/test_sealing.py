"""Voiceprints at rest are sealed by the application: a reader of the storage account alone cannot use them.

The session's shared gallery is checked as the host wrote it (sealed under the session key).
Migration and rotation run on a storage account of their own: a gallery written before keys
were set (plaintext) is sealed by ``voiceid rotate-key``, rotated to a second key, and a host
holding only the new key still identifies a speaker.
"""

from __future__ import annotations

import io
import json
import subprocess

import numpy as np
import pytest

from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.gallery.store import Gallery, stored_models
from shared.localhost.azurite import Azurite
from shared.localhost.process import HostProcess
from shared.ops.rotation import sealed_blobs
from shared.results import audit
from shared.storage import sealing
from tests.helpers import HOST_ENV, clips, eleven_voiceprints, start_azurite, voiceid

pytestmark = pytest.mark.e2e


def galleries(storage, keyring: sealing.Keyring) -> dict[str, list]:
    """Every shard of every model, opened with ``keyring``."""
    return {m: Gallery(storage, ModelInfo.from_id(m, dim=0), 4, keyring).load_all() for m in stored_models(storage)}


def test_the_hosts_voiceprints_are_sealed_and_useless_without_the_key(enrolled, client):
    blobs = [b for b in sealed_blobs(client.storage) if b[0] == contract.GALLERY]
    assert len(blobs) >= 2, "expected shards and statistics in the gallery"
    opened = galleries(client.storage, sealing.keyring())
    rows = [s.matrix[i] for shards in opened.values() for s in shards for i in range(len(s.entries))]
    assert len(rows) >= 10
    for container, name in blobs:
        raw = client.storage.read(container, name)[0]
        assert sealing.sealed_kid(raw) == "e2e-session", f"{container}/{name} is not sealed under the session key"
        with pytest.raises(ValueError):  # not a numpy archive to anyone without the key
            np.load(io.BytesIO(raw), allow_pickle=False)
        assert not any(row.astype(np.float32).tobytes()[:64] in raw for row in rows), f"a voiceprint in {name}"
        assert b"1688" not in raw and b"speaker" not in raw, f"gallery index readable in {container}/{name}"
    stranger = sealing.Keyring.parse(sealing.new_key_entry("other"))
    with pytest.raises(PermanentError) as err:
        galleries(client.storage, stranger)
    assert err.value.code == "seal.key_missing"


@pytest.fixture(scope="module")
def store(tmp_path_factory, kit):
    server = start_azurite(tmp_path_factory.mktemp("seal-azurite"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def plaintext_gallery(store) -> tuple[VoiceId, dict[str, list]]:
    """Eleven speakers written as a deployment from before VOICEID_VOICEPRINT_KEYS would have: in plaintext."""
    settings = Settings.from_env({"AzureWebJobsStorage": store.connection_string, **HOST_ENV})
    vid = VoiceId(settings)
    vid.storage.ensure()
    plain = sealing.Keyring()
    gallery = Gallery(vid.storage, get_embedder(settings).info, settings.shard_count, plain)
    gallery.add_many(eleven_voiceprints(settings))
    gallery.refresh_stats()
    return vid, galleries(vid.storage, plain)


def rotate_key(store: Azurite, keys: str, *args: str) -> subprocess.CompletedProcess:
    return voiceid(store, "rotate-key", *args, **{sealing.ENV: keys, "VOICEID_ACTOR": "ticket-seal-1"})


def same_gallery(a: dict[str, list], b: dict[str, list]) -> bool:
    return a.keys() == b.keys() and all(
        x.entries == y.entries and np.array_equal(x.matrix, y.matrix) for m in a for x, y in zip(a[m], b[m]))


def test_rotate_key_seals_plaintext_then_moves_to_a_new_key(plaintext_gallery, store, tmp_path):
    vid, before = plaintext_gallery
    k1, k2 = sealing.new_key_entry("k1"), sealing.new_key_entry("k2")
    total = len(sealed_blobs(vid.storage))
    assert total >= 3 and all(sealing.sealed_kid(vid.storage.read(c, n)[0]) is None for c, n in sealed_blobs(vid.storage))

    check = rotate_key(store, k1, "--check", "--json")
    assert check.returncode == 1, check.stderr  # plaintext blobs are pending
    assert json.loads(check.stdout)["found"] == {"plaintext": total}
    migrated = rotate_key(store, k1, "--json")
    assert migrated.returncode == 0, migrated.stderr
    assert json.loads(migrated.stdout)["resealed"] == total
    assert {sealing.sealed_kid(vid.storage.read(c, n)[0]) for c, n in sealed_blobs(vid.storage)} == {"k1"}

    rotated = rotate_key(store, f"{k2},{k1}", "--json")  # the new key first, the old one still listed
    assert rotated.returncode == 0, rotated.stderr
    assert json.loads(rotated.stdout)["found"] == {"k1": total}
    assert rotate_key(store, k2, "--check").returncode == 0  # nothing left under k1: k1 may be dropped
    for out in (check, migrated, rotated):
        assert k1.split(":")[1] not in out.stdout + out.stderr and k2.split(":")[1] not in out.stdout + out.stderr

    assert same_gallery(galleries(vid.storage, sealing.keyring(k2)), before)  # every voiceprint intact
    with pytest.raises(PermanentError) as err:
        galleries(vid.storage, sealing.keyring(k1))
    assert err.value.code == "seal.key_missing"
    events = [e for e in audit.read(vid.storage) if e["action"] == "rotate_key"]
    assert [e["kid"] for e in events] == ["k1", "k2"] and events[0]["actor"] == "ticket-seal-1"

    host = HostProcess(store.connection_string, tmp_path / "host.log", env={**HOST_ENV, sealing.ENV: k2}).start()
    try:
        probe = clips("1998")[-1]
        doc = vid.identify(probe, timeout_s=180)
    finally:
        assert host.stop() == 0
    assert doc["status"] == "ok" and doc["decision"] == "1998", doc
    assert k2.split(":")[1] not in host.log_text()
