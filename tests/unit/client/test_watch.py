"""voiceid watch: fixed-width lines."""

from __future__ import annotations

from shared.client.watch import COLUMNS, header, line, row


def test_watch_lines_keep_their_columns():
    doc = {"kind": "verify", "status": "ok", "decision": "accept", "claimed": "Ann " * 20, "score": 3.14159,
           "blob": "identify/Ann/x.wav", "created_at": "2026-11-24T10:00:00Z"}
    head, text = header().splitlines()[0], row(doc)
    assert text.index("verify") == head.index("kind")
    assert text.index("accept") == head.index("decision")
    assert "…" in text and text.index("3.142") == head.index("score")  # a long name is cut, not shifted
    assert len(line(["x"] * len(COLUMNS)).split()) == len(COLUMNS)
