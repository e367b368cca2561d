"""The gallery's shard format: pure, no storage."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np

from shared.gallery.shards import shard_of, voiceprint_id
from shared.gallery.store import models_of
from tests.helpers import shard_with


def test_a_voiceprint_in_two_shards_counts_once():
    a = shard_with(("v1", "ann", [1, 0]), ("v2", "ann", [0, 1]))
    b = shard_with(("v1", "ann", [1, 0]))  # the copy a re-shard makes before it removes the original
    keys, models = models_of([a, b], 2)
    assert keys == ["ann"] and np.allclose(models[0], np.array([1, 1]) / np.sqrt(2))


def test_without_removes_only_the_named_voiceprints():
    shard = shard_with(("v1", "ann", [1, 0]), ("v2", "bob", [0, 1]), ("v3", "ann", [1, 1]))
    left = shard.without({"v1", "v3"})
    assert [e["voiceprint_id"] for e in left.entries] == ["v2"] and np.allclose(left.matrix, [[0, 1]])


PINNED = [("ann", 4, 2), ("ann lee", 16, 15), ("cust-000123", 7, 3), ("élodie", 4, 1), ("1688", 4, 3), ("ann", 1024, 46)]


def test_shard_of_keeps_its_pinned_values():
    """Every stored gallery depends on these: a change of the hash moves every speaker to another shard."""
    assert [shard_of(key, n) for key, n, _ in PINNED] == [want for _, _, want in PINNED]
    assert voiceprint_id("enroll", "ann/a.flac") == "3fe78c6d261cdfbdaec6"
    assert {shard_of(f"k{i}", 5) for i in range(200)} == set(range(5))


def test_shard_of_is_the_same_in_every_process():
    """Not Python's per-process salted hash(): other hash seeds give the same shards."""
    code = ("from shared.gallery.shards import shard_of; "
            f"print([shard_of(k, n) for k, n, _ in {[(k, n, w) for k, n, w in PINNED]!r}])")
    for seed in ("1", "2"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                             env={**os.environ, "PYTHONHASHSEED": seed}).stdout
        assert out.strip() == str([want for _, _, want in PINNED])
