"""Concurrent enrolments into one shard against a real Azurite: ETag-conditional writes lose nothing."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from shared.core import contract
from shared.core.models import ModelInfo
from shared.gallery.shards import Voiceprint, shard_of
from shared.gallery.store import Gallery
from shared.scoring.normalization import l2
from shared.storage.azure import get_storage

pytestmark = pytest.mark.e2e

DIM, SHARDS, WRITERS, EACH = 16, 2, 8, 5


def test_eight_parallel_enrolments_into_one_shard_lose_no_voiceprint(azurite):
    storage = get_storage(azurite.connection_string)
    storage.ensure()
    model = ModelInfo(name="parallel-writes", version="0", dim=DIM)
    keys = [k for k in (f"p{i:03d}" for i in range(400)) if shard_of(k, SHARDS) == 0][:WRITERS * EACH]
    rng = np.random.default_rng(0)
    vps = [Voiceprint(voiceprint_id=f"vp-{k}", key=k, speaker=k, embedding=l2(rng.normal(size=DIM)).astype(np.float32))
           for k in keys]

    def writer(w: int) -> None:
        gallery = Gallery(storage, model, SHARDS)  # one per enrolment, as in the enroll trigger
        for vp in vps[w::WRITERS]:
            gallery.add(vp)

    try:
        with ThreadPoolExecutor(WRITERS) as pool:
            list(pool.map(writer, range(WRITERS)))
        shard = Gallery(storage, model, SHARDS).load(0)
        assert sorted(e["voiceprint_id"] for e in shard.entries) == sorted(vp.voiceprint_id for vp in vps)
        assert len(shard.matrix) == len(vps) == WRITERS * EACH
    finally:
        for item in storage.list(contract.GALLERY, prefix=f"{model.name}/"):
            storage.delete(contract.GALLERY, item.name)
