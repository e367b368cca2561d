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


def test_watchlist_results_and_matches_show_in_the_table():
    from shared.results.table import result_row

    listed = {"kind": "watchlist", "status": "ok", "blob": "watchlist/FR-1/call.wav", "case": "FR-1"}
    assert result_row(listed) == ["watchlist/FR-1/call.wav", "watchlist", "ok", "listed", "FR-1", ""]
    refused = {"kind": "enroll", "status": "rejected", "blob": "enroll/x/a.wav",
               "error": {"code": "enroll.watchlist"}, "watchlist": [{"case": "FR-1", "score": 6.2}]}
    assert result_row(refused)[3] == "enroll.watchlist [watchlist: FR-1]"
    found = {"kind": "identify", "status": "ok", "blob": "identify/c.wav", "decision": "unknown",
             "candidates": [{"speaker": "Ann", "score": 1.0}], "watchlist": [{"case": "FR-1", "score": 6.2}]}
    assert result_row(found)[3] == "unknown [watchlist: FR-1]"
