"""Pure parts of the gallery and the re-shard: no storage."""

from __future__ import annotations

import numpy as np

from shared.gallery.shards import Shard, Voiceprint, shard_of
from shared.gallery.store import models_of
from shared.ops.reshard import _misplaced


def shard_with(*rows: tuple[str, str, list[float]]) -> Shard:
    shard = Shard.empty(2)
    for vp_id, key, vec in rows:
        shard, _ = shard.with_voiceprint(Voiceprint(voiceprint_id=vp_id, key=key, speaker=key,
                                                    embedding=np.asarray(vec, np.float32)))
    return shard


def test_a_voiceprint_in_two_shards_counts_once():
    a = shard_with(("v1", "ann", [1, 0]), ("v2", "ann", [0, 1]))
    b = shard_with(("v1", "ann", [1, 0]))  # the copy a re-shard makes before it removes the original
    keys, models = models_of([a, b], 2)
    assert keys == ["ann"] and np.allclose(models[0], np.array([1, 1]) / np.sqrt(2))


def test_without_removes_only_the_named_voiceprints():
    shard = shard_with(("v1", "ann", [1, 0]), ("v2", "bob", [0, 1]), ("v3", "ann", [1, 1]))
    left = shard.without({"v1", "v3"})
    assert [e["voiceprint_id"] for e in left.entries] == ["v2"] and np.allclose(left.matrix, [[0, 1]])


def test_misplaced_groups_voiceprints_by_their_new_shard():
    keys = [f"k{i}" for i in range(40)]
    shard = shard_with(*((f"v{i}", k, [1, 0]) for i, k in enumerate(keys)))
    groups = _misplaced(0, shard, 3)
    moved = {vp.key: target for target, vps in groups.items() for vp in vps}
    assert moved == {k: shard_of(k, 3) for k in keys if shard_of(k, 3) != 0}
    assert 0 not in groups and len(moved) < len(keys)


def test_shard_of_is_stable_and_in_range():
    assert shard_of("ann", 4) == shard_of("ann", 4)
    assert {shard_of(f"k{i}", 5) for i in range(200)} == set(range(5))
