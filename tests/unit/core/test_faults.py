"""Fault injection points for the fault tests."""

from __future__ import annotations

from shared.core.faults import pauses


def test_fault_pauses_parse(monkeypatch):
    monkeypatch.setenv("VOICEID_FAULT_PAUSE", "match.scored=8, enroll.embedded=2.5")
    assert pauses() == {"match.scored": 8.0, "enroll.embedded": 2.5}
