"""Pure parts of bulk enrolment, watch and report."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from shared.client.bulk import Item, Report, outcome, plan
from shared.cli.evaluate import det_sample
from shared.core.names import speaker_key
from shared.ops.report import ReportData, outcome_of, render
from shared.client.watch import COLUMNS, header, line, row


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


def test_watch_lines_keep_their_columns():
    doc = {"kind": "verify", "status": "ok", "decision": "accept", "claimed": "Ann " * 20, "score": 3.14159,
           "blob": "identify/Ann/x.wav", "created_at": "2026-11-24T10:00:00Z"}
    head, text = header().splitlines()[0], row(doc)
    assert text.index("verify") == head.index("kind")
    assert text.index("accept") == head.index("decision")
    assert "…" in text and text.index("3.142") == head.index("score")  # a long name is cut, not shifted
    assert len(line(["x"] * len(COLUMNS)).split()) == len(COLUMNS)


def test_det_sample_keeps_the_ends_and_at_most_the_asked_points():
    far, frr = np.linspace(100, 0, 5000), np.linspace(0, 100, 5000)
    got = det_sample(far, frr, points=300)
    assert len(got["far"]) == 300 and got["far"][0] == 100 and got["far"][-1] == 0
    assert det_sample(far[:10], frr[:10])["far"] == [round(float(v), 4) for v in far[:10]]


def test_report_renders_escaped_counts_without_scripts():
    docs = [{"kind": "identify", "status": "ok", "decision": "<b>Ann</b>", "candidates": [{"speaker": "<b>Ann</b>",
                                                                                       "score": 4.0}],
             "threshold": 3.0, "blob": "identify/x.wav", "created_at": "2026-11-24T10:00:00Z"},
            {"kind": "identify", "status": "rejected", "error": {"code": "audio.empty"}, "blob": "identify/y.wav",
             "created_at": "2026-11-24T10:01:00Z"}]
    data = ReportData(generated_at="now", account="acct", results=docs,
                      models=[{"model_id": "m@1", "speakers": 3, "voiceprints": 7, "shards": 4, "net_speech_h": 0.1}])
    page = render(data)
    assert "<b>Ann</b>" not in page and "&lt;b&gt;Ann&lt;/b&gt;" in page
    assert re.search(r'data-k="speakers">3<', page) and re.search(r'data-k="voiceprints">7<', page)
    assert '<tr data-k="decision:identify:identified">' in page and "decision:identify:rejected" in page
    assert "<script" not in page and "none yet: run" in page  # no evaluation kept yet
    assert [outcome_of(d) for d in docs] == ["identified", "rejected"]
