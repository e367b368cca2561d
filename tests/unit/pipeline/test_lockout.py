"""Lockout: its pure rule, and the state it keeps on (in-memory) storage."""

from __future__ import annotations

from shared.core.settings import Settings
from shared.pipeline.lockout import LockState

S = Settings(lockout_failures=3, lockout_window_s=60, lockout_s=600)


def test_failures_within_the_window_lock_and_old_ones_expire():
    state = LockState().after_failure("r1", 0, S).after_failure("r2", 10, S)
    assert state.locked_until == 0
    assert state.after_failure("r3", 20, S).locked_until == 620
    assert state.after_failure("r3", 65, S).locked_until == 0  # r1 fell out of the window


def test_the_same_request_counts_once():
    state = LockState().after_failure("r1", 0, S).after_failure("r1", 1, S).after_failure("r2", 2, S)
    assert len(state.failures) == 2 and state.locked_until == 0


def test_the_lock_state_on_storage_counts_each_request_once_and_audits_the_lock_once():
    from shared.core import contract
    from shared.pipeline import lockout
    from shared.results import audit
    from tests.helpers import racing_storage

    storage = racing_storage({(contract.GALLERY, contract.lock_blob("ann")): 2})  # two lost races on the way
    for request in ("r1", "r2", "r2", "r3"):
        lockout.note_outcome(storage, "ann", "Ann", request, accepted=False, settings=S)
    assert lockout.locked_until(storage, "ann", S) is not None
    assert [e["action"] for e in audit.read(storage)] == ["lockout"]
    lockout.note_outcome(storage, "bob", "Bob", "b1", accepted=False, settings=S)
    lockout.note_outcome(storage, "bob", "Bob", "b2", accepted=True, settings=S)  # an accept clears the count
    assert storage.read_json(contract.GALLERY, contract.lock_blob("bob")) == {"failures": {}, "locked_until": 0.0,
                                                                          "challenges": {}}
    assert lockout.locked_until(storage, "bob", S) is None
