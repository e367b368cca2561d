"""Erasure on the in-memory storage: every copy of one speaker goes, nobody else's, and a tombstone stays."""

from __future__ import annotations

from shared.core import contract
from shared.core.keys import new_key_entry
from shared.core.models import ModelInfo
from shared.core.names import speaker_key
from shared.core.records import Candidate, MatchJob, ShardPartial
from shared.core.settings import Settings
from shared.gallery.shards import Voiceprint, voiceprint_id
from shared.gallery.store import Gallery
from shared.gallery.tombstones import erased_in_flight
from shared.privacy.erasure import erase
from shared.results import audit
from shared.storage.sealing import keyring
from tests.helpers import Clock, memory_storage, unit_vectors

KEYS = new_key_entry("unit")
SETTINGS = Settings(voiceprint_keys=KEYS, shard_count=2)
MODEL = ModelInfo("test-model", "v1", 8)
ENROLMENTS = [("Ann Lee", "Ann Lee/a.flac"), ("ann  lee", "ann  lee/b.flac"), ("Ann Lee", "Ann Lee.wav"),
              ("Bob", "Bob/c.flac")]


def populated(clock: Clock):
    storage = memory_storage(clock)
    gallery = Gallery(storage, MODEL, 2, keyring(KEYS))
    for (speaker, blob), vector in zip(ENROLMENTS, unit_vectors(len(ENROLMENTS), 8)):
        etag = storage.write(contract.ENROLL, blob, b"audio of " + speaker.encode())
        gallery.add(Voiceprint(voiceprint_id=voiceprint_id(contract.ENROLL, blob), key=speaker_key(speaker),
                               speaker=speaker, embedding=vector, blob=f"enroll/{blob}", etag=etag))
        storage.write_json(contract.RESULTS, contract.result_blob_name(contract.ENROLL, blob), {"speaker": speaker})
        storage.write(contract.HOSTS, f"blobreceipts/host/enroll/{etag}/enroll/{blob}", b"")
    partial = ShardPartial(request_id="req", shard=0, candidates=(Candidate("Ann Lee", 5.0, "ann lee"),), scored=3,
                           match_ms=1.0)
    storage.write(contract.MATCH_STATE, "req/partial-0000.json", partial.to_json().encode())
    storage.write(contract.MATCH_STATE, "req/probe.npy", b"probe")
    storage.write(contract.MATCH_STATE, "other/probe.npy", b"probe of another request")
    job = MatchJob(request_id="v", kind="verify", blob="ann lee/x.wav", etag='"e"', shard=0, shards=(0,),
                   model_id=MODEL.id, probe="v/probe.npy", claimed="ANN LEE")
    storage.send(contract.MATCH_QUEUE + contract.POISON_SUFFIX, job.to_json())
    storage.send(contract.MATCH_QUEUE + contract.POISON_SUFFIX, "not a job")
    storage.write_json(contract.GALLERY, contract.lock_blob("ann lee"), {"failures": {}, "locked_until": 0.0})
    return storage, gallery


def test_every_copy_of_the_speaker_goes_and_nobody_elses():
    clock = Clock()
    storage, gallery = populated(clock)
    report = erase(storage, SETTINGS, " ann LEE ", actor="unit-test")
    assert report.found and report.counts() == {"voiceprints": 3, "enroll_blobs": 3, "results": 3, "receipts": 3,
                                                "match_state": 2, "queue_messages": 1}
    assert [s["speaker"] for s in gallery.speakers()] == ["Bob"]
    assert [i.name for i in storage.list(contract.ENROLL)] == ["Bob/c.flac"]
    assert [i.name for i in storage.list(contract.RESULTS)] == ["enroll/Bob/c.flac.json"]
    assert [i.name for i in storage.list(contract.MATCH_STATE)] == ["other/probe.npy"]
    assert [m.content for m in storage.peek(contract.MATCH_QUEUE + contract.POISON_SUFFIX)] == ["not a job"]
    assert storage.read(contract.GALLERY, contract.lock_blob("ann lee")) is None
    assert storage.read(contract.GALLERY, contract.tombstone_blob("ann lee")) is not None
    names = " ".join(i.name for c in contract.CONTAINERS for i in storage.list(c))
    assert "ann" not in names.casefold().replace("tombstones/", "")  # the tombstone is a hash, no name
    delete = [e for e in audit.read(storage) if e["action"] == "delete"]
    assert len(delete) == 1 and delete[0]["actor"] == "unit-test" and delete[0]["voiceprints"] == 3
    assert erase(storage, SETTINGS, "Ann Lee", actor="unit-test").found is False  # twice is fine


def test_an_upload_before_the_erasure_is_discarded_one_after_it_enrols_again():
    clock = Clock()
    storage, _ = populated(clock)
    storage.write(contract.ENROLL, "Ann Lee/in-flight.flac", b"uploaded before")
    clock.advance(1)
    erase(storage, SETTINGS, "Ann Lee", actor="unit-test")
    assert erased_in_flight(storage, "ann lee", contract.ENROLL, "Ann Lee/in-flight.flac")  # deleted by it, too
    clock.advance(1)
    storage.write(contract.ENROLL, "Ann Lee/new.flac", b"uploaded after")
    assert not erased_in_flight(storage, "ann lee", contract.ENROLL, "Ann Lee/new.flac")
    assert not erased_in_flight(storage, "bob", contract.ENROLL, "Bob/c.flac")  # never erased


def test_a_discarded_upload_of_the_erased_second_loses_its_audio_but_a_newer_version_stays():
    """An upload written after the erasure listed the audio, in the tombstone's second, is discarded with its audio."""
    from shared.core.records import BlobInput
    from shared.pipeline.enroll import discard

    clock = Clock()
    storage, _ = populated(clock)
    erase(storage, SETTINGS, "Ann Lee", actor="unit-test")
    etag = storage.write(contract.ENROLL, "Ann Lee/tie.flac", b"audio in the erasure's second")
    assert erased_in_flight(storage, "ann lee", contract.ENROLL, "Ann Lee/tie.flac")
    doc = discard(storage, BlobInput("enroll", "Ann Lee/tie.flac", etag, b""), "before")
    assert doc["status"] == "discarded"
    assert storage.read(contract.ENROLL, "Ann Lee/tie.flac") is None
    assert [e["audio_deleted"] for e in audit.read(storage) if e["action"] == "discard"] == [True]

    old = storage.write(contract.ENROLL, "Ann Lee/again.flac", b"first version")
    storage.write(contract.ENROLL, "Ann Lee/again.flac", b"a newer upload of the same name")
    discard(storage, BlobInput("enroll", "Ann Lee/again.flac", old, b""), "before")
    assert storage.read(contract.ENROLL, "Ann Lee/again.flac")[0] == b"a newer upload of the same name"
