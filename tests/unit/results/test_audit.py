"""The audit log: what an event holds and where it goes."""

from __future__ import annotations

from datetime import datetime, timezone

from shared.results.audit import blob_name, from_result


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
    assert from_result(verify)[1]["liveness"] is None  # no liveness object (refused before the check)


def test_every_liveness_decision_is_on_record():
    attack = {"kind": "enroll", "status": "rejected", "blob": "enroll/Ann/x.wav", "speaker": None,
              "liveness": {"score": 2.9, "decision": "attack", "model": "liveness@1", "threshold": 1.7,
                           "policy": "reject"}, "error": {"code": "liveness.attack"}}
    action, fields = from_result(attack)
    assert (action, fields["code"], fields["liveness"]) == ("enroll", "liveness.attack", "attack")
    flagged = {"kind": "identify", "status": "ok", "blob": "identify/x.wav", "decision": "unknown",
               "liveness": {**attack["liveness"], "policy": "flag"}, "error": None}
    assert from_result(flagged)[1]["liveness"] == "attack"


def test_audit_blobs_are_hourly():
    assert blob_name(datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc)) == "2026/11/24/09.jsonl"
    assert blob_name(datetime(2026, 11, 24, 9, 5, tzinfo=timezone.utc), 2) == "2026/11/24/09-2.jsonl"
