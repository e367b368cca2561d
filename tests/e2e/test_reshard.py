"""Re-sharding against a real Azurite: nothing lost, everything in its new shard, identification unchanged."""

from __future__ import annotations

import json
import threading
import time

import numpy as np
import pytest

from shared.core import contract
from shared.core.models import ModelInfo
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.gallery.shards import Voiceprint, shard_of
from shared.gallery.store import Gallery, models_of
from shared.ops.reshard import reshard
from shared.privacy.erasure import erase
from shared.scoring.normalization import l2
from shared.storage.azure import get_storage
from tests.helpers import FOLDER_SPEAKERS, HOST_ENV, clips, voiceid

pytestmark = pytest.mark.e2e

DIM = 16


def voiceprints(prefix: str, speakers: int, per_speaker: int, seed: int) -> list[Voiceprint]:
    rng = np.random.default_rng(seed)
    return [Voiceprint(voiceprint_id=f"{prefix}-{s}-{v}", key=f"{prefix}{s:03d}", speaker=f"{prefix}{s:03d}",
                       embedding=l2(rng.normal(size=DIM)).astype(np.float32))
            for s in range(speakers) for v in range(per_speaker)]


@pytest.fixture()
def gallery(azurite, request):
    storage = get_storage(azurite.connection_string)
    storage.ensure()
    model = ModelInfo(name=f"reshard-{request.node.name[-24:].replace('_', '-')}", version="0", dim=DIM)
    g = Gallery(storage, model, 2)
    g.add_many(voiceprints("s", 40, 2, seed=0))
    yield g
    for item in storage.list(contract.GALLERY, prefix=f"{model.name}/"):
        storage.delete(contract.GALLERY, item.name)


def placement(g: Gallery) -> dict[str, int]:
    """voiceprint id -> the shard blob it is stored in (an id stored twice fails the test)."""
    where: dict[str, int] = {}
    for n in g.shard_numbers():
        for e in g.load(n).entries:
            assert e["voiceprint_id"] not in where, f"{e['voiceprint_id']} is in shards {where[e['voiceprint_id']]} and {n}"
            where[e["voiceprint_id"]] = n
            assert shard_of(e["key"], g.shard_count) == n, f"{e['key']} is misplaced in shard {n}"
    return where


def test_growing_and_shrinking_keeps_every_voiceprint_in_its_new_shard(gallery):
    ids = set(placement(gallery))
    keys_before, models_before = models_of(gallery.load_all(), DIM)
    grown = reshard(gallery.storage, gallery.model.id, 5, grace_s=0, progress=False)
    assert (grown.before, grown.after, grown.voiceprints) == (2, 5, 80) and grown.moved == grown.misplaced > 0
    fresh = Gallery(gallery.storage, gallery.model, 2)  # the setting says 2; the stored layout wins
    assert fresh.shard_count == 5 and set(placement(fresh)) == ids and fresh.shard_numbers() == [0, 1, 2, 3, 4]
    shrunk = reshard(gallery.storage, gallery.model.id, 3, grace_s=0, progress=False)
    fresh = Gallery(gallery.storage, gallery.model, 2)
    assert sorted(shrunk.deleted_shards) == [3, 4] and fresh.shard_numbers() == [0, 1, 2]
    assert set(placement(fresh)) == ids
    keys_after, models_after = models_of(fresh.load_all(), DIM)
    assert keys_after == keys_before and np.allclose(models_after, models_before)
    again = reshard(gallery.storage, gallery.model.id, 3, grace_s=0, progress=False)
    assert (again.misplaced, again.moved, again.deleted_shards) == (0, 0, [])  # idempotent


def test_enrolments_during_a_reshard_are_not_lost(gallery):
    ids = set(placement(gallery))
    arriving = voiceprints("late", 30, 1, seed=1)
    stop = threading.Event()

    def enrol():
        for vp in arriving:  # each enrolment reads the layout as it stands, like the enroll trigger
            Gallery(gallery.storage, gallery.model, 2).add(vp)
        stop.set()

    worker = threading.Thread(target=enrol)
    worker.start()
    reshard(gallery.storage, gallery.model.id, 4, grace_s=0.5, progress=False)
    worker.join(timeout=120)
    assert stop.is_set()
    reshard(gallery.storage, gallery.model.id, 4, grace_s=0, progress=False)  # the documented follow-up run
    assert set(placement(Gallery(gallery.storage, gallery.model, 2))) == ids | {vp.voiceprint_id for vp in arriving}


def test_an_erasure_during_a_reshard_is_not_reported_as_lost(gallery, azurite):
    """The verify step skips voiceprints of a speaker erased after the re-shard started (and only those)."""
    ids = set(placement(gallery))
    erased_ids = {i for i in ids if i.startswith("s-5-")}
    settings = Settings.from_env({"AzureWebJobsStorage": azurite.connection_string, **HOST_ENV})

    def erase_after_the_switch():
        while Gallery(gallery.storage, gallery.model, 2).shard_count != 4:
            time.sleep(0.05)
        erase(gallery.storage, settings, "s005", actor="test")  # lands in the grace period, before verify

    worker = threading.Thread(target=erase_after_the_switch)
    worker.start()
    report = reshard(gallery.storage, gallery.model.id, 4, grace_s=1.5, progress=False)
    worker.join(timeout=60)
    assert report.voiceprints == 80 and len(erased_ids) == 2
    assert set(placement(Gallery(gallery.storage, gallery.model, 2))) == ids - erased_ids


def test_the_cli_dry_run_changes_nothing(gallery, azurite):
    done = voiceid(azurite, "reshard", "--to", "7", "--model", gallery.model.id, "--dry-run", "--json", timeout=120)
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert (report["before"], report["after"], report["voiceprints"]) == (2, 7, 80) and report["misplaced"] > 0
    assert Gallery(gallery.storage, gallery.model, 7).shard_count == 2 and placement(gallery)


def test_identification_through_the_host_after_a_reshard(enrolled, client):
    model_id = get_embedder(client.settings).info.id
    speaker = FOLDER_SPEAKERS[0]
    stored = sum(r["voiceprints"] for r in client.speakers() if r["model_id"] == model_id)
    try:
        reshard(client.storage, model_id, 3, grace_s=0, progress=False)
        doc = client.identify(clips(speaker)[-1], timeout_s=120)
        assert doc["status"] == "ok" and doc["decision"] == speaker, doc
        assert doc["voiceprints_scored"] == stored  # the three new shards together hold every voiceprint
    finally:
        reshard(client.storage, model_id, client.settings.shard_count, grace_s=0, progress=False)
    assert Gallery(client.storage, ModelInfo.from_id(model_id, 0), 1).shard_count == client.settings.shard_count
