"""Pure rules of lockout, retention, audit and the timer schedule."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from shared.results.audit import blob_name, from_result
from shared.core.faults import pauses
from shared.localhost.timer_listener import matches, parse_schedule
from shared.pipeline.lockout import LockState
from shared.privacy.retention import UNFINISHED_GRACE_S, due_probes
from shared.core.settings import Settings
from shared.storage.base import BlobItem

S = Settings(lockout_failures=3, lockout_window_s=60, lockout_s=600)


def test_failures_within_the_window_lock_and_old_ones_expire():
    state = LockState().after_failure("r1", 0, S).after_failure("r2", 10, S)
    assert state.locked_until == 0
    assert state.after_failure("r3", 20, S).locked_until == 620
    assert state.after_failure("r3", 65, S).locked_until == 0  # r1 fell out of the window


def test_the_same_request_counts_once():
    state = LockState().after_failure("r1", 0, S).after_failure("r1", 1, S).after_failure("r2", 2, S)
    assert len(state.failures) == 2 and state.locked_until == 0


def item(age_s: float, now: float = 1e9) -> BlobItem:
    return BlobItem(name=f"p{age_s}", etag='"x"', size=1, modified=datetime.fromtimestamp(now - age_s, timezone.utc))


def test_probes_go_after_retention_once_they_have_a_result():
    items = [item(10), item(100), item(100 + UNFINISHED_GRACE_S + 1)]
    assert [i.name for i in due_probes(items, 1e9, 50, lambda i: True)] == ["p100", items[2].name]
    assert [i.name for i in due_probes(items, 1e9, 50, lambda i: False)] == [items[2].name]  # no result: a day more
    assert due_probes(items, 1e9, 0, lambda i: True) == []  # 0 keeps everything


def test_audit_of_results_names_decisions_not_scores_of_others():
    ident = {"kind": "identify", "status": "ok", "blob": "identify/x.wav", "decision": "Ann",
             "candidates": [{"speaker": "Ann", "score": 3.1}, {"speaker": "Bob", "score": 1.0}], "error": None}
    action, fields = from_result(ident)
    assert (action, fields["outcome"], fields["speaker"]) == ("identify", "match", "Ann")
    assert "Bob" not in str(fields)
    unknown = {**ident, "decision": "unknown"}
    assert from_result(unknown)[1]["speaker"] is None
    verify = {"kind": "verify", "status": "rejected", "blob": "identify/Ann/x.wav", "claimed": "Ann",
              "error": {"code": "verify.locked"}}
    assert from_result(verify)[1]["code"] == "verify.locked"


def test_audit_blobs_are_hourly():
    assert blob_name(datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc)) == "2026/11/24/09.jsonl"
    assert blob_name(datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc), 2) == "2026/11/24/09-2.jsonl"


@pytest.mark.parametrize("expr, at, fires", [
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 20, 0), True),
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 21, 0), False),
    ("0 */10 * * * *", datetime(2026, 1, 1, 3, 20, 1), False),
    ("30 5 2 * * 0", datetime(2026, 11, 22, 2, 5, 30), True),  # a Sunday
    ("30 5 2 * * 1-5", datetime(2026, 11, 22, 2, 5, 30), False),
    ("0 0 9-17/4 * * *", datetime(2026, 1, 1, 13, 0, 0), True),
])
def test_ncrontab_schedules(expr, at, fires):
    assert matches(parse_schedule(expr), at) is fires


def test_a_bad_schedule_says_what_is_wrong():
    with pytest.raises(ValueError, match="six fields"):
        parse_schedule("*/5 * * * *")
    with pytest.raises(ValueError, match="outside"):
        parse_schedule("0 61 * * * *")


def test_fault_pauses_parse(monkeypatch):
    monkeypatch.setenv("VOICEID_FAULT_PAUSE", "match.scored=8, enroll.embedded=2.5")
    assert pauses() == {"match.scored": 8.0, "enroll.embedded": 2.5}
