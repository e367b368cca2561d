"""The HTML report: escaped, counted, no scripts."""

from __future__ import annotations

import re

from shared.ops.report import ReportData, outcome_of, render


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
