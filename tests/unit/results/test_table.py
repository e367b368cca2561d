from shared.results.table import format_table, result_row


def test_columns_align():
    text = format_table(("a", "bb"), [("xxx", 1), ("y", None)])
    lines = text.splitlines()
    assert lines[0] == "a    bb"
    assert lines[1] == "---  --"
    assert lines[2] == "xxx  1"
    assert lines[3] == "y"


def test_rows_show_errors_by_code():
    doc = {"blob": "identify/x", "kind": "identify", "status": "rejected",
           "error": {"code": "audio.not_audio", "message": "m", "hint": "h"}}
    assert result_row(doc)[2:4] == ["rejected", "audio.not_audio"]


def test_unknown_shows_the_nearest_speaker_as_such():
    doc = {"blob": "identify/x", "kind": "identify", "status": "ok", "decision": "unknown",
           "candidates": [{"speaker": "Ann", "score": 0.2}]}
    assert result_row(doc)[3:] == ["unknown", "(nearest: Ann)", "0.200"]
