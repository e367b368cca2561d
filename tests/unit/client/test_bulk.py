"""Bulk enrolment: the plan (what to skip) and the report."""

from __future__ import annotations

from pathlib import Path

from shared.client.bulk import Item, Report, outcome, plan
from shared.core.names import speaker_key


def test_plan_skips_audio_already_enrolled_for_that_speaker_only():
    pairs = [("Ann/a.flac", Path("a")), ("Bob/a.flac", Path("b")), ("unknown/x.wav", Path("c")),
             ("Ann/new.flac", Path("d"))]
    hashes = {Path("a"): "h1", Path("b"): "h1", Path("c"): "h3", Path("d"): "h4"}
    items = plan(pairs, hashes, {(speaker_key("ann"), "h1")})
    assert [i.outcome for i in items] == ["skipped", "", "rejected", ""]  # Bob's copy of Ann's audio is new
    assert items[2].code == "name.reserved" and items[2].hint


def test_outcome_and_report_counts():
    item = Item("f", "enroll/Ann/f")
    assert outcome(item, {"status": "ok"}).outcome == "enrolled"
    bad = outcome(item, {"status": "rejected", "error": {"code": "audio.empty", "message": "m", "hint": "h"}})
    assert (bad.outcome, bad.code, bad.hint) == ("rejected", "audio.empty", "h")
    assert outcome(item, None).outcome == "pending"
    report = Report([outcome(item, {"status": "ok"}), bad, Item("g", "enroll/Ann/g", outcome="skipped")])
    assert report.counts() == {"enrolled": 1, "rejected": 1, "skipped": 1}
    assert report.to_dict()["ok"] is False and report.failed == [bad]


def test_an_enrolment_held_for_review_is_reported_and_fails_the_run():
    item = Item("f", "enroll/Ann/f")
    held = outcome(item, {"status": "review", "error": None, "review": {"id": "abc123", "reasons": ["liveness.attack"]}})
    assert (held.outcome, held.code) == ("review", "liveness.attack")
    assert "abc123" in held.message and "voiceid review approve|reject abc123" in held.hint
    report = Report([held, outcome(item, {"status": "ok"})])
    assert report.failed == [held] and report.to_dict()["ok"] is False
