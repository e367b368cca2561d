"""Match workers' shard cache against a real Azurite: one download per shard version, nothing stale."""

from __future__ import annotations

import numpy as np
import pytest

from shared.core import contract
from shared.core.models import ModelInfo
from shared.gallery.cache import ShardCache
from shared.gallery.shards import Voiceprint, shard_of
from shared.gallery.store import Gallery
from shared.scoring.normalization import l2
from shared.storage.azure import get_storage

pytestmark = pytest.mark.e2e

DIM = 16
SHARDS = 2


def voiceprint(key: str, rng: np.random.Generator) -> Voiceprint:
    return Voiceprint(voiceprint_id=f"vp-{key}-{rng.integers(1 << 30)}", key=key, speaker=key,
                      embedding=l2(rng.normal(size=DIM)).astype(np.float32))


@pytest.fixture()
def gallery(azurite, request) -> Gallery:
    storage = get_storage(azurite.connection_string)
    storage.ensure()
    model = ModelInfo(name=f"cache-test-{request.node.name[-20:].replace('_', '-')}", version="0", dim=DIM)
    g = Gallery(storage, model, SHARDS)
    rng = np.random.default_rng(0)
    g.add_many([voiceprint(f"s{i:02d}", rng) for i in range(12)])
    g.refresh_stats()
    yield g
    for item in storage.list(contract.GALLERY, prefix=f"{model.name}/"):  # other tests count every speaker
        storage.delete(contract.GALLERY, item.name)


def test_a_shard_is_downloaded_once_per_version(gallery, azurite):
    cache, where = ShardCache(max_mb=64), azurite.connection_string
    stats, etag = cache.stats(gallery, where)
    first = cache.shard(gallery, 0, stats, etag, where)
    again = cache.shard(gallery, 0, stats, etag, where)
    assert cache.downloads == 1 and again is first
    assert np.allclose(first.centred, stats.cohort.center(first.models))
    newcomer = next(f"n{i}" for i in range(100) if shard_of(f"n{i}", SHARDS) == 0)
    gallery.add(voiceprint(newcomer, np.random.default_rng(1)))
    changed = cache.shard(gallery, 0, stats, etag, where)
    assert cache.downloads == 2 and newcomer in changed.index  # the new voiceprint is seen at once
    cache.shard(gallery, 1, stats, etag, where)
    cache.shard(gallery, 1, stats, etag, where)
    assert cache.downloads == 3  # the unchanged shard was read once


def test_new_statistics_recentre_without_a_download(gallery, azurite):
    cache, where = ShardCache(max_mb=64), azurite.connection_string
    stats, etag = cache.stats(gallery, where)
    cache.shard(gallery, 0, stats, etag, where)
    elsewhere = next(f"n{i}" for i in range(100) if shard_of(f"n{i}", SHARDS) == 1)
    gallery.add(voiceprint(elsewhere, np.random.default_rng(2)))  # shard 0 itself is unchanged
    gallery.refresh_stats()
    new_stats, new_etag = cache.stats(gallery, where)
    assert new_etag != etag
    prepared = cache.shard(gallery, 0, new_stats, new_etag, where)
    assert np.allclose(prepared.centred, new_stats.cohort.center(prepared.models))
    assert prepared.stats_etag == new_etag and cache.downloads == 1


def test_the_cache_keeps_within_its_bound(gallery, azurite):
    cache, where = ShardCache(max_mb=0), azurite.connection_string
    stats, etag = cache.stats(gallery, where)
    cache.shard(gallery, 0, stats, etag, where)
    cache.shard(gallery, 0, stats, etag, where)
    assert cache.downloads == 2  # nothing kept with a zero bound
    assert gallery.storage.etag(contract.GALLERY, gallery.shard_blob(0)) is not None
