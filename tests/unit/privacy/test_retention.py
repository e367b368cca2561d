"""Retention: which blobs are due, and the sweep on (in-memory) storage."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.privacy.retention import UNFINISHED_GRACE_S, due_probes
from shared.storage.base import BlobItem


def item(age_s: float, now: float = 1e9) -> BlobItem:
    return BlobItem(name=f"p{age_s}", etag='"x"', size=1, modified=datetime.fromtimestamp(now - age_s, timezone.utc))


def test_probes_go_after_retention_once_they_have_a_result():
    items = [item(10), item(100), item(100 + UNFINISHED_GRACE_S + 1)]
    assert [i.name for i in due_probes(items, 1e9, 50, lambda i: True)] == ["p100", items[2].name]
    assert [i.name for i in due_probes(items, 1e9, 50, lambda i: False)] == [items[2].name]  # no result: a day more
    assert due_probes(items, 1e9, 0, lambda i: True) == []  # 0 keeps everything


def test_the_sweep_deletes_what_is_past_retention_and_keeps_work_in_flight():
    from shared.core import contract
    from shared.core.settings import Settings
    from shared.privacy.retention import IN_FLIGHT_S, RECEIPT_MIN_AGE_S, sweep
    from tests.helpers import Clock, memory_storage

    day, clock = 86400.0, Clock()
    storage = memory_storage(clock)
    settings = Settings(probe_audio_retention_s=day, result_retention_s=2 * day)
    ages = {"done-old.wav": 1.5 * day, "pending-old.wav": 1.5 * day, "pending-ancient.wav": 3 * day, "new.wav": 60}
    for name, age in ages.items():
        etag = storage.write(contract.IDENTIFY, name, b"audio")
        if name.startswith(("done", "new")):
            storage.write_json(contract.RESULTS, contract.result_blob_name(contract.IDENTIFY, name), {"etag": etag})
        storage.age(contract.IDENTIFY, name, age)
    storage.write_json(contract.RESULTS, "identify/expired.wav.json", {"etag": '"x"'})
    storage.age(contract.RESULTS, "identify/expired.wav.json", 3 * day)
    storage.write_json(contract.RESULTS, "enroll/ann/a.flac.json", {})  # enrolment results live with the voiceprint
    storage.age(contract.RESULTS, "enroll/ann/a.flac.json", 30 * day)
    for name, age in (("stuck/probe.npy", IN_FLIGHT_S + 5), ("live/probe.npy", 5)):
        storage.write(contract.MATCH_STATE, name, b"p")
        storage.age(contract.MATCH_STATE, name, age)
    for blob in ("gone.wav", "new.wav"):
        storage.write(contract.HOSTS, f"blobreceipts/h/f/e/identify/{blob}", b"")
        storage.age(contract.HOSTS, f"blobreceipts/h/f/e/identify/{blob}", RECEIPT_MIN_AGE_S + 5)
    report = sweep(storage, settings, now=clock())
    assert (report.probe_audio, report.results, report.match_state, report.receipts) == (2, 1, 1, 1)
    assert [i.name for i in storage.list(contract.IDENTIFY)] == ["new.wav", "pending-old.wav"]
    assert storage.read(contract.RESULTS, "enroll/ann/a.flac.json") is not None
    assert [i.name for i in storage.list(contract.MATCH_STATE)] == ["live/probe.npy"]
    assert [i.name for i in storage.list(contract.HOSTS)] == ["blobreceipts/h/f/e/identify/new.wav"]
    assert sweep(storage, settings, now=clock()) == type(report)()  # idempotent: nothing left to do
