"""Lockout: a claimed identity that keeps failing verification is locked for a while.

A voice cannot be brute-forced by retrying recordings (or synthetic variations of one)
until one passes: after ``VOICEID_LOCKOUT_FAILURES`` rejected verifications of one
claimed speaker within ``VOICEID_LOCKOUT_WINDOW_S``, further verifications of that claim
are refused for ``VOICEID_LOCKOUT_S`` without being scored (``verify.locked``), and a
``lockout`` audit event is written. An accepted verification clears the count.

State lives in ``gallery/lockouts/<key hash>.json`` (no name), updated with
ETag-conditional writes, so concurrent workers count every failure.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TypeVar

from shared.core import contract
from shared.core.settings import Settings
from shared.results import audit
from shared.storage import optimistic
from shared.storage.base import Storage

R = TypeVar("R")


@dataclass(frozen=True)
class LockState:
    """Recent failures (request id -> Unix time) and the end of the current lock (0: not locked).

    Keyed by request so that a retried or duplicated fan-in counts one failure once.
    """

    failures: dict[str, float] = field(default_factory=dict)
    locked_until: float = 0.0
    challenges: dict[str, float] = field(default_factory=dict)  # step-ups issued (request id -> Unix time)

    def after_failure(self, request_id: str, now: float, settings: Settings) -> LockState:
        recent = {r: t for r, t in self.failures.items() if now - t < settings.lockout_window_s}
        recent[request_id] = self.failures.get(request_id, now)
        if len(recent) >= settings.lockout_failures:
            return LockState(failures={}, locked_until=now + settings.lockout_s, challenges=self.challenges)
        return LockState(failures=recent, locked_until=self.locked_until, challenges=self.challenges)

    def after_challenge(self, request_id: str, now: float, settings: Settings) -> LockState | None:
        """The state with this request's step-up counted, or None when the claim has had its share in the window."""
        recent = {r: t for r, t in self.challenges.items() if now - t < settings.lockout_window_s}
        if request_id not in recent and len(recent) >= settings.challenge_max:
            return None
        return LockState(failures=self.failures, locked_until=self.locked_until,
                         challenges={**recent, request_id: recent.get(request_id, now)})


def _read(storage: Storage, key: str) -> tuple[LockState, str | None]:
    got = storage.read(contract.GALLERY, contract.lock_blob(key))
    if got is None:
        return LockState(), None
    doc = json.loads(got[0])
    return LockState(failures=dict(doc.get("failures", {})), locked_until=doc.get("locked_until", 0.0),
                     challenges=dict(doc.get("challenges", {}))), got[1]


def _update(storage: Storage, key: str, change: Callable[[LockState], optimistic.Change[R]]) -> R:
    """Read the claim's state, apply ``change``, write it back conditionally (retried on a lost race)."""
    def write(new: LockState, **conditions) -> None:
        storage.write_json(contract.GALLERY, contract.lock_blob(key), asdict(new), **conditions)

    return optimistic.update(lambda: _read(storage, key), change, write, what="the lockout state",
                             code="lockout.contention")


def locked_until(storage: Storage, key: str, settings: Settings, now: float | None = None) -> float | None:
    """When the lock on this claim ends, or None when verifications of it may go ahead."""
    if settings.lockout_failures <= 0:
        return None
    state, _ = _read(storage, key)
    return state.locked_until if state.locked_until > (time.time() if now is None else now) else None


def note_outcome(storage: Storage, key: str, speaker: str, request_id: str, accepted: bool,
                 settings: Settings) -> LockState | None:
    """Count a rejected verification (or clear the count on an accept); audits a lock as it engages.

    Called before the result is written, so a crash in between counts the failure on retry
    rather than losing it; the request id makes the second count a no-op.
    """
    if settings.lockout_failures <= 0:
        return None
    def change(state: LockState) -> optimistic.Change[tuple[LockState, LockState]]:
        if (accepted and not state.failures) or (not accepted and request_id in state.failures):
            return optimistic.keep((state, state))
        new = LockState(challenges=state.challenges) if accepted else state.after_failure(request_id, time.time(),
                                                                                          settings)
        return optimistic.keep((state, state)) if new == state else optimistic.store(new, (state, new))

    before, after = _update(storage, key, change)
    if after.locked_until > before.locked_until:  # this call engaged the lock
        audit.record(storage, "lockout", actor="match-worker", outcome="locked", speaker=speaker,
                     until=after.locked_until, failures=settings.lockout_failures,
                     window_s=settings.lockout_window_s)
    return after


def note_challenge(storage: Storage, key: str, request_id: str, settings: Settings) -> bool:
    """Count a step-up challenge for the claim; False when ``VOICEID_CHALLENGE_MAX`` were issued in the window.

    Keyed by request, so a redelivered fan-in counts its challenge once. Not a failure: the lock is untouched.
    """

    def change(state: LockState) -> optimistic.Change[bool]:
        new = state.after_challenge(request_id, time.time(), settings)
        if new is None:
            return optimistic.keep(False)
        return optimistic.keep(True) if new == state else optimistic.store(new, True)

    return _update(storage, key, change)
