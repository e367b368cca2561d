"""Readable tables of result documents for terminals."""

from __future__ import annotations

from collections.abc import Sequence


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Left-aligned columns separated by two spaces, with a dashed rule under the header."""
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def result_row(doc: dict) -> list[object]:
    """(file, kind, status, decision, speaker, score) of one result document; a watchlist match is in the decision."""
    row = _row(doc)
    if doc.get("watchlist"):
        row[3] = f"{row[3] or ''} [watchlist: {', '.join(h['case'] for h in doc['watchlist'])}]".strip()
    return row


def _row(doc: dict) -> list[object]:
    kind = doc.get("kind")
    error = doc.get("error") or {}
    if doc.get("status") == "review":  # an enrolment held for an operator (voiceid review)
        return [doc.get("blob"), kind, "review", f"held: review {doc['review']['id']}", doc.get("speaker"), ""]
    if doc.get("status") != "ok":
        return [doc.get("blob"), kind, doc.get("status"), error.get("code"), "", ""]
    if kind == "enroll":
        return [doc["blob"], kind, "ok", "enrolled", doc.get("speaker"), ""]
    if kind == "watchlist":
        return [doc["blob"], kind, "ok", "listed", doc.get("case"), ""]
    if kind == "verify":
        score = doc.get("score")
        return [doc["blob"], kind, "ok", doc.get("decision"), doc.get("claimed"),
                "" if score is None else f"{score:.3f}"]
    best = (doc.get("candidates") or [{}])[0]
    score = best.get("score")
    nearest = best.get("speaker", "")
    if doc.get("decision") == "unknown" and nearest:
        nearest = f"(nearest: {nearest})"
    return [doc["blob"], kind, "ok", doc.get("decision"), nearest, "" if score is None else f"{score:.3f}"]


RESULT_HEADERS = ("file", "kind", "status", "decision", "speaker", "score")


def results_table(docs: Sequence[dict]) -> str:
    return format_table(RESULT_HEADERS, [result_row(d) for d in docs])
