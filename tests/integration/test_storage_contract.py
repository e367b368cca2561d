"""The storage contract (shared/storage/base.py), checked on both implementations with the same tests.

``memory`` is the in-process stub the logic's unit tests run on; ``azurite`` is the real Azure
Storage emulator the end-to-end tests use. A rule that holds on one and not the other fails here.
"""

from __future__ import annotations

import pytest

from shared.core import contract
from shared.core.errors import TransientError
from shared.storage.azure import AzureStorage
from shared.storage.base import ConcurrencyConflict, Storage
from shared.storage.memory import MemoryStorage
from tests.helpers import start_azurite


@pytest.fixture(scope="module")
def azurite_storage(tmp_path_factory):
    server = start_azurite(tmp_path_factory.mktemp("contract-azurite"))
    yield AzureStorage(server.connection_string)
    server.stop()


@pytest.fixture(params=["memory", "azurite"])
def store(request) -> Storage:
    storage = MemoryStorage() if request.param == "memory" else request.getfixturevalue("azurite_storage")
    storage.ensure()
    for item in storage.list(contract.GALLERY, "contract/"):
        storage.delete(contract.GALLERY, item.name)
    storage.drain(contract.MATCH_QUEUE, lambda m: True)
    return storage


def test_blobs_read_write_and_conditions(store):
    assert store.read(contract.GALLERY, "contract/a") is None
    assert store.etag(contract.GALLERY, "contract/a") is None
    first = store.write(contract.GALLERY, "contract/a", b"one", if_none_match=True)
    assert store.read(contract.GALLERY, "contract/a") == (b"one", first) and store.etag(contract.GALLERY, "contract/a") == first
    assert first.startswith('"') and first.endswith('"')
    with pytest.raises(ConcurrencyConflict):
        store.write(contract.GALLERY, "contract/a", b"two", if_none_match=True)
    second = store.write(contract.GALLERY, "contract/a", b"two", if_match=first)
    assert second != first
    with pytest.raises(ConcurrencyConflict):
        store.write(contract.GALLERY, "contract/a", b"three", if_match=first)  # stale ETag
    assert store.read(contract.GALLERY, "contract/a") == (b"two", second)
    assert store.last_modified(contract.GALLERY, "contract/a").microsecond == 0  # whole seconds, as Azure
    with pytest.raises(ConcurrencyConflict):
        store.delete(contract.GALLERY, "contract/a", if_match=first)
    assert store.delete(contract.GALLERY, "contract/a", if_match=second) is True
    assert store.delete(contract.GALLERY, "contract/a") is False
    assert store.last_modified(contract.GALLERY, "contract/a") is None


def test_listing_json_and_append_blobs(store):
    for name in ("contract/b/2", "contract/b/1", "contract/c"):
        store.write_json(contract.GALLERY, name, {"name": name})
    items = store.list(contract.GALLERY, "contract/b/")
    assert [i.name for i in items] == ["contract/b/1", "contract/b/2"]
    assert items[0].etag == store.etag(contract.GALLERY, "contract/b/1") and items[0].size > 0
    assert items[0].modified is not None and items[0].modified.tzinfo is not None
    assert store.read_json(contract.GALLERY, "contract/c") == {"name": "contract/c"}
    assert store.read_json(contract.GALLERY, "contract/none") is None
    store.append(contract.GALLERY, "contract/log", b"a\n")
    store.append(contract.GALLERY, "contract/log", b"b\n")
    assert store.read(contract.GALLERY, "contract/log")[0] == b"a\nb\n"


def test_a_missing_container_is_a_transient_error(store):
    with pytest.raises(TransientError) as err:
        store.write("no-such-container", "x", b"x")
    assert err.value.code == "storage.missing_container"
    assert store.read("no-such-container", "x") is None


def test_queue_leases_dequeue_counts_and_receipts(store):
    store.send(contract.MATCH_QUEUE, "job-1")
    store.send(contract.MATCH_QUEUE, "job-2")
    got = store.receive(contract.MATCH_QUEUE, max_messages=1, visibility_timeout=30)
    assert [(m.content, m.dequeue_count) for m in got] == [("job-1", 1)]
    rest = store.receive(contract.MATCH_QUEUE, max_messages=32, visibility_timeout=30)
    assert [m.content for m in rest] == ["job-2"]  # job-1 is leased: invisible
    assert store.receive(contract.MATCH_QUEUE, visibility_timeout=30) == []
    store.release(contract.MATCH_QUEUE, got[0], visibility_timeout=0)
    again = store.receive(contract.MATCH_QUEUE, visibility_timeout=30)
    assert [(m.content, m.dequeue_count) for m in again] == [("job-1", 2)]  # delivered a second time
    with pytest.raises(ConcurrencyConflict):
        store.delete_message(contract.MATCH_QUEUE, got[0])  # the first delivery's receipt is stale
    store.delete_message(contract.MATCH_QUEUE, again[0])
    store.release(contract.MATCH_QUEUE, rest[0], visibility_timeout=0)
    assert store.drain(contract.MATCH_QUEUE, lambda m: m.content == "job-2") == 1
    assert store.receive(contract.MATCH_QUEUE) == []
