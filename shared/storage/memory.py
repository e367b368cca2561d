"""The storage contract in one process's memory: fast tests of the logic that sits on storage.

:class:`MemoryStorage` keeps :mod:`shared.storage.base`'s rules (ETags, conditional writes,
append blobs, containers that must exist, one-second ``last_modified``, queues with
visibility timeouts, pop receipts and dequeue counts) so that fan-in, lockout, erasure,
retention, rotation and re-shard get unit tests that run in milliseconds. The end-to-end
tests still run on a real Azurite: this adds tests, it replaces none. ``clock`` (seconds
since the epoch) may be a test's own, to age blobs or end a lease without sleeping.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone

from shared.core.errors import TransientError
from shared.storage.base import BlobItem, ConcurrencyConflict, Message, Storage


@dataclass(frozen=True)
class _Blob:
    data: bytes
    etag: str
    modified: float
    content_type: str
    append: bool = False


@dataclass
class _Queued:
    id: str
    content: str
    visible_at: float
    dequeue_count: int = 0
    pop_receipt: str = ""


@dataclass
class _Queue:
    messages: list[_Queued] = field(default_factory=list)


class MemoryStorage(Storage):
    """Containers and queues in dictionaries; thread-safe, like the real clients."""

    def __init__(self, clock: Callable[[], float] = time.time):
        self.clock = clock
        self.containers: dict[str, dict[str, _Blob]] = {}
        self.queues: dict[str, _Queue] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)

    def _etag(self) -> str:
        return f'"0x{0x8D000000000000 + next(self._counter):X}"'

    def _container(self, name: str) -> dict[str, _Blob]:
        if name not in self.containers:
            raise TransientError(f"container {name!r} does not exist", code="storage.missing_container",
                                 hint="Run 'voiceid init' (or the host) to create the containers.")
        return self.containers[name]

    def ensure_container(self, name: str) -> None:
        with self._lock:
            self.containers.setdefault(name, {})

    def ensure_queue(self, name: str) -> None:
        with self._lock:
            self.queues.setdefault(name, _Queue())

    def _blob(self, container: str, name: str) -> _Blob | None:
        return self.containers.get(container, {}).get(name)

    def read(self, container: str, name: str) -> tuple[bytes, str] | None:
        with self._lock:
            blob = self._blob(container, name)
            return None if blob is None else (blob.data, blob.etag)

    def etag(self, container: str, name: str) -> str | None:
        with self._lock:
            blob = self._blob(container, name)
            return None if blob is None else blob.etag

    def last_modified(self, container: str, name: str) -> datetime | None:
        with self._lock:
            blob = self._blob(container, name)
        return None if blob is None else _seconds(blob.modified)

    def append(self, container: str, name: str, data: bytes) -> None:
        with self._lock:
            blobs = self._container(container)
            old = blobs.get(name)
            if old is not None and not old.append:
                raise ConcurrencyConflict(f"{container}/{name} is not an append blob")
            blobs[name] = _Blob((old.data if old else b"") + data, self._etag(), self.clock(),
                                "application/x-ndjson", append=True)

    def write(self, container: str, name: str, data: bytes, *, content_type: str = "application/octet-stream",
              if_match: str | None = None, if_none_match: bool = False) -> str:
        with self._lock:
            blobs = self._container(container)
            self._check(blobs.get(name), if_match, if_none_match, f"{container}/{name}")
            blob = _Blob(bytes(data), self._etag(), self.clock(), content_type)
            blobs[name] = blob
            return blob.etag

    @staticmethod
    def _check(current: _Blob | None, if_match: str | None, if_none_match: bool, where: str) -> None:
        if if_match and (current is None or current.etag != if_match):
            raise ConcurrencyConflict(f"{where} is not at ETag {if_match}")
        if not if_match and if_none_match and current is not None:
            raise ConcurrencyConflict(f"{where} exists already")

    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        with self._lock:
            blobs = self.containers.get(container, {})
            current = blobs.get(name)
            if current is None:
                return False
            self._check(current, if_match, False, f"{container}/{name}")
            del blobs[name]
            return True

    def list(self, container: str, prefix: str | None = None) -> list[BlobItem]:
        with self._lock:
            blobs = dict(self.containers.get(container, {}))
        return [BlobItem(name=n, etag=b.etag, size=len(b.data), modified=_seconds(b.modified))
                for n, b in sorted(blobs.items()) if prefix is None or n.startswith(prefix)]

    def _queue(self, name: str) -> _Queue:
        if name not in self.queues:
            raise TransientError(f"queue {name!r} does not exist", code="storage.missing_queue",
                                 hint="Run 'voiceid init' (or the host) to create the queues.")
        return self.queues[name]

    def send(self, queue: str, text: str) -> None:
        with self._lock:
            self._queue(queue).messages.append(_Queued(id=f"m{next(self._counter)}", content=text,
                                                       visible_at=self.clock()))

    def receive(self, queue: str, max_messages: int = 32, visibility_timeout: int = 30) -> list[Message]:
        now, out = self.clock(), []
        with self._lock:
            for msg in self._queue(queue).messages:
                if len(out) >= max_messages:
                    break
                if msg.visible_at <= now:
                    msg.dequeue_count += 1
                    msg.pop_receipt = f"r{next(self._counter)}"
                    msg.visible_at = now + visibility_timeout
                    out.append(Message(msg.id, msg.content, msg.pop_receipt, msg.dequeue_count))
        return out

    def _leased(self, queue: str, message: Message) -> _Queued:
        found = next((m for m in self._queue(queue).messages if m.id == message.id), None)
        if found is None or found.pop_receipt != message.pop_receipt:
            raise ConcurrencyConflict(f"message {message.id} of {queue} is no longer leased with that receipt")
        return found

    def queue_length(self, queue: str) -> int:
        with self._lock:
            return len(self._queue(queue).messages)

    def delete_message(self, queue: str, message: Message) -> None:
        with self._lock:
            self._queue(queue).messages.remove(self._leased(queue, message))

    def release(self, queue: str, message: Message, visibility_timeout: int = 0) -> None:
        with self._lock:
            found = self._leased(queue, message)
            found.visible_at = self.clock() + visibility_timeout
            found.pop_receipt = f"r{next(self._counter)}"

    def peek(self, queue: str) -> list[Message]:
        """Every message of ``queue``, visible or not, without leasing any (for assertions)."""
        with self._lock:
            return [Message(m.id, m.content, m.pop_receipt, m.dequeue_count) for m in self._queue(queue).messages]

    def age(self, container: str, name: str, seconds: float) -> None:
        """Make a blob look ``seconds`` older (retention tests)."""
        with self._lock:
            blob = self._container(container)[name]
            self.containers[container][name] = replace(blob, modified=blob.modified - seconds)


def _seconds(epoch: float) -> datetime:
    """A time as the service reports it: whole seconds, UTC."""
    return datetime.fromtimestamp(int(epoch), timezone.utc)
