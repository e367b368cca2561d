"""Read, change, write if nobody else wrote in between: the one optimistic-concurrency loop.

Shards, result documents, lockout state and re-sealed blobs are all updated the same way:
read the blob and its ETag, decide the new content, write it conditionally (``if_match`` the
ETag read, or ``if_none_match`` when there was no blob), and start again from the read when
another writer won. Waits between attempts grow exponentially with full jitter, so writers
that collided spread out instead of colliding again. Running out of attempts is a
:class:`~shared.core.errors.TransientError`: the host retries the whole function later.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from shared.core.errors import TransientError
from shared.storage.base import ConcurrencyConflict

T = TypeVar("T")
R = TypeVar("R")
ATTEMPTS = 30
FIRST_WAIT_S = 0.01
MAX_WAIT_S = 0.5
_KEEP = object()


@dataclass(frozen=True)
class Change(Generic[R]):
    """What one attempt decided: the value to store (or none) and what :func:`update` returns."""

    result: R
    value: Any = _KEEP

    @property
    def writes(self) -> bool:
        return self.value is not _KEEP


def keep(result: R) -> Change[R]:
    """Leave the blob as it is and return ``result``."""
    return Change(result)


def store(value: Any, result: R) -> Change[R]:
    """Write ``value`` (if the blob is still as read) and return ``result``."""
    return Change(result, value)


def conditions(etag: str | None) -> dict:
    """The write conditions that make a write land only on the version read."""
    return {"if_match": etag} if etag is not None else {"if_none_match": True}


def backoff(attempt: int) -> float:
    """Seconds to wait after the ``attempt``-th lost race (0-based): exponential, full jitter."""
    return random.uniform(0, min(MAX_WAIT_S, FIRST_WAIT_S * 2 ** attempt))


def update(read: Callable[[], tuple[T, str | None]], change: Callable[[T], Change[R]],
           write: Callable[..., object], *, what: str, code: str, hint: str | None = None,
           attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep) -> R:
    """Run ``read`` -> ``change`` -> ``write(value, **conditions)`` until a write lands or none is needed.

    ``read`` returns the current value and its ETag (None: no blob); ``change`` returns
    :func:`keep` or :func:`store`; ``write`` must pass the conditions on to the storage write,
    which raises :class:`ConcurrencyConflict` when the blob changed since the read.
    """
    for attempt in range(attempts):
        current, etag = read()
        decided = change(current)
        if not decided.writes:
            return decided.result
        try:
            write(decided.value, **conditions(etag))
            return decided.result
        except ConcurrencyConflict:
            sleep(backoff(attempt))
    raise TransientError(f"{what} kept changing during {attempts} write attempts", code=code, hint=hint)
