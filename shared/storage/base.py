"""The storage contract every part of the product is written against, whatever serves it.

:class:`Storage` is what the pipeline needs of Blob and Queue storage, and nothing else:
ETag-versioned blobs with conditional writes, append blobs, and queues whose messages are
leased (visibility timeout) and counted (dequeue count). Two implementations keep it:
:class:`shared.storage.azure.AzureStorage` (Azure Storage and Azurite) and
:class:`shared.storage.memory.MemoryStorage` (one process, for fast tests, in the manner of
dramatiq's stub broker). The rules both follow:

- a missing blob reads as ``None``; deleting one returns ``False``;
- a write with ``if_match`` succeeds only while the blob still has that ETag, one with
  ``if_none_match`` only while it does not exist; a lost race raises :class:`ConcurrencyConflict`;
- writing into a container that does not exist raises :class:`~shared.core.errors.TransientError`
  (``storage.missing_container``); so does anything the service may get over;
- ``last_modified`` has the service's one-second resolution;
- a received message is invisible for its visibility timeout and counts one more delivery;
  deleting or releasing it needs the pop receipt of that delivery (a stale one raises
  :class:`ConcurrencyConflict`: another consumer has it now).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from shared.core import contract


class ConcurrencyConflict(Exception):
    """An ETag-conditional write lost a race (or a message's lease moved on); re-read and try again."""


@dataclass(frozen=True)
class BlobItem:
    """A listed blob: enough to decide whether it needs work."""

    name: str
    etag: str
    size: int
    modified: datetime | None = None


@dataclass(frozen=True)
class Message:
    """One delivery of a queue message: its body, and the receipt that deletes or releases it."""

    id: str
    content: str
    pop_receipt: str
    dequeue_count: int = 1


def quoted_etag(etag: str) -> str:
    """ETags in their HTTP form, ``"0x8D..."``: listings and downloads spell them differently."""
    return etag if etag.startswith('"') else f'"{etag}"'


class Storage(ABC):
    """Blob and queue operations the product needs (see the module docstring for the rules)."""

    def ensure(self) -> None:
        """Create the contract's containers and queues if they are missing (idempotent)."""
        for name in contract.CONTAINERS + (contract.HOSTS,):
            self.ensure_container(name)
        for name in contract.QUEUES:
            self.ensure_queue(name)

    @abstractmethod
    def ensure_container(self, name: str) -> None:
        """Create the container unless it exists."""

    @abstractmethod
    def ensure_queue(self, name: str) -> None:
        """Create the queue unless it exists."""

    @abstractmethod
    def read(self, container: str, name: str) -> tuple[bytes, str] | None:
        """The blob's bytes and ETag, or None when it does not exist."""

    @abstractmethod
    def etag(self, container: str, name: str) -> str | None:
        """The blob's current ETag, or None when it does not exist."""

    @abstractmethod
    def last_modified(self, container: str, name: str) -> datetime | None:
        """When the blob was last written, by the service's clock; None when it does not exist."""

    @abstractmethod
    def append(self, container: str, name: str, data: bytes) -> None:
        """Append ``data`` to an append blob, creating it first if needed; each append is atomic."""

    @abstractmethod
    def write(self, container: str, name: str, data: bytes, *, content_type: str = "application/octet-stream",
              if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write a blob and return its new ETag (conditions: see the module docstring)."""

    @abstractmethod
    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        """Delete a blob; False when it was already gone. ``if_match`` deletes only the version read."""

    @abstractmethod
    def list(self, container: str, prefix: str | None = None) -> list[BlobItem]:
        """Blobs of ``container`` under ``prefix``, in name order."""

    @abstractmethod
    def send(self, queue: str, text: str) -> None:
        """Put one message (already encoded as the queue's consumers expect) on ``queue``."""

    @abstractmethod
    def receive(self, queue: str, max_messages: int = 32, visibility_timeout: int = 30) -> list[Message]:
        """Lease up to ``max_messages`` visible messages for ``visibility_timeout`` seconds."""

    @abstractmethod
    def queue_length(self, queue: str) -> int:
        """About how many messages ``queue`` holds, leased or not (Azure's approximate count; telemetry)."""

    @abstractmethod
    def delete_message(self, queue: str, message: Message) -> None:
        """Delete a received message (its lease must still be the one received)."""

    @abstractmethod
    def release(self, queue: str, message: Message, visibility_timeout: int = 0) -> None:
        """Make a received message visible again after ``visibility_timeout`` seconds."""

    def write_json(self, container: str, name: str, doc: dict, **conditions) -> str:
        """Write ``doc`` as UTF-8 JSON (see :meth:`write` for the conditions)."""
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
        return self.write(container, name, data, content_type="application/json", **conditions)

    def read_json(self, container: str, name: str) -> dict | None:
        """A JSON blob as a dict, or None when it does not exist."""
        got = self.read(container, name)
        return None if got is None else json.loads(got[0])

    def drain(self, queue: str, take: Callable[[Message], bool], hold_s: int = 30) -> int:
        """Visit every visible message of ``queue`` once; delete those ``take`` returns True for.

        Messages are leased for ``hold_s`` while visited and the others are made visible
        again at once, so a consumer may see them a little later but never loses them.
        Returns how many were taken.
        """
        taken, keep = 0, []
        while True:
            batch = self.receive(queue, max_messages=32, visibility_timeout=hold_s)
            if not batch:
                break
            for msg in batch:
                if take(msg):
                    self.delete_message(queue, msg)
                    taken += 1
                else:
                    keep.append(msg)
        for msg in keep:
            self.release(queue, msg, visibility_timeout=0)
        return taken
