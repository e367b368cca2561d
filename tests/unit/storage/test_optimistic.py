"""The one read-modify-write loop: retries lost races, gives up with a transient error, writes only when asked."""

from __future__ import annotations

import pytest

from shared.core.errors import TransientError
from shared.storage import optimistic
from shared.storage.base import ConcurrencyConflict


def run(conflicts: int, attempts: int = 5):
    writes, waits = [], []

    def write(value, **conditions):
        writes.append((value, conditions))
        if len(writes) <= conflicts:
            raise ConcurrencyConflict("someone else wrote")

    result = optimistic.update(lambda: (len(writes), '"e1"' if writes else None),
                               lambda n: optimistic.store(f"v{n}", f"done after {n}"), write,
                               what="the blob", code="test.contention", attempts=attempts, sleep=waits.append)
    return result, writes, waits


def test_a_lost_race_is_read_again_and_retried_with_growing_waits():
    result, writes, waits = run(conflicts=3)
    assert result == "done after 3" and [v for v, _ in writes] == ["v0", "v1", "v2", "v3"]
    assert writes[0][1] == {"if_none_match": True} and writes[1][1] == {"if_match": '"e1"'}
    assert len(waits) == 3 and all(0 <= w <= optimistic.MAX_WAIT_S for w in waits)


def test_running_out_of_attempts_is_one_transient_error():
    with pytest.raises(TransientError) as err:
        run(conflicts=99, attempts=4)
    assert err.value.code == "test.contention" and "4 write attempts" in err.value.message


def test_keep_writes_nothing():
    calls = []
    out = optimistic.update(lambda: ("x", '"e"'), lambda v: optimistic.keep(v + "!"), lambda *a, **k: calls.append(a),
                            what="w", code="c")
    assert out == "x!" and calls == []


def test_waits_grow_exponentially_up_to_the_cap():
    bounds = [optimistic.FIRST_WAIT_S * 2 ** a for a in range(3)]
    for attempt, bound in enumerate(bounds):
        assert all(optimistic.backoff(attempt) <= bound for _ in range(50))
    assert max(optimistic.backoff(30) for _ in range(200)) <= optimistic.MAX_WAIT_S
