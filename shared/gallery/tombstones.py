"""Tombstones: an erased speaker stays erased, even against an enrolment already in flight.

``voiceid delete`` (:mod:`shared.privacy.erasure`) writes ``gallery/tombstones/<key hash>.json``
first. An enrolment of that speaker whose blob was written *before* the tombstone is then
discarded (no voiceprint, no result); an upload written *after* it is a deliberate new
enrolment and goes through. Blob times have one-second resolution and a tie counts as erased.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.core import contract
from shared.storage.base import Storage


@dataclass(frozen=True)
class Tombstone:
    """A speaker erased at ``erased_at`` (the service's clock)."""

    erased_at: datetime


def tombstone(storage: Storage, key: str) -> Tombstone | None:
    when = storage.last_modified(contract.GALLERY, contract.tombstone_blob(key))
    return None if when is None else Tombstone(erased_at=when)


def erased_in_flight(storage: Storage, key: str, container: str, blob: str) -> bool:
    """Is this enrolment of an erased speaker, uploaded before the erasure (or deleted by it)?

    False when there is no tombstone, or the blob was written after it (enrolled again on purpose).
    """
    stone = tombstone(storage, key)
    if stone is None:
        return False
    written = storage.last_modified(container, blob)
    return written is None or written <= stone.erased_at
