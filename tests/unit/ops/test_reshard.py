"""Re-shard: which voiceprints move, and a whole re-shard on (in-memory) storage."""

from __future__ import annotations

from shared.gallery.shards import Voiceprint, shard_of
from shared.ops.reshard import _misplaced
from tests.helpers import shard_with


def test_misplaced_groups_voiceprints_by_their_new_shard():
    keys = [f"k{i}" for i in range(40)]
    shard = shard_with(*((f"v{i}", k, [1, 0]) for i, k in enumerate(keys)))
    groups = _misplaced(0, shard, 3)
    moved = {vp.key: target for target, vps in groups.items() for vp in vps}
    assert moved == {k: shard_of(k, 3) for k in keys if shard_of(k, 3) != 0}
    assert 0 not in groups and len(moved) < len(keys)


def test_a_reshard_on_storage_moves_every_voiceprint_once_and_drops_old_shards():
    from shared.core.keys import new_key_entry
    from shared.core.models import ModelInfo
    from shared.gallery.store import Gallery
    from shared.ops.reshard import reshard
    from shared.storage.sealing import keyring
    from tests.helpers import memory_storage, unit_vectors

    ring, model = keyring(new_key_entry("unit")), ModelInfo("test-model", "v1", 4)
    storage = memory_storage()
    gallery = Gallery(storage, model, 2, ring)
    vectors = unit_vectors(30, 4)
    gallery.add_many([Voiceprint(voiceprint_id=f"v{i}", key=f"s{i % 15}", speaker=f"S{i % 15}", embedding=vectors[i])
                      for i in range(30)])
    for to in (3, 1):
        report = reshard(storage, model.id, to, grace_s=0, progress=False, keyring=ring)
        fresh = Gallery(storage, model, 99, ring)  # the setting no longer matters: the stored layout does
        assert fresh.shard_count == to and fresh.shard_numbers() == list(range(to))
        entries = [(n, e) for n in range(to) for e in fresh.load(n).entries]
        assert sorted(e["voiceprint_id"] for _, e in entries) == sorted(f"v{i}" for i in range(30))
        assert all(shard_of(e["key"], to) == n for n, e in entries)
    assert report.deleted_shards == [1, 2] and report.voiceprints == 30
