"""``voiceid report``: one static HTML page of what the deployment holds and decided.

Gallery summary per model, recent identifications and verifications, their score
distributions against the threshold, and the DET curve of the latest evaluation
(``voiceid eval trials`` keeps it). Charts are inline SVG drawn by matplotlib, so the
file opens anywhere with no server and no network. The page names speakers (it is an
operator's view, like ``voiceid results``), so it is written readable by its owner only.
"""

from __future__ import annotations

import html
import io
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from shared.core import contract
from shared.core.settings import Settings
from shared.evaluation.store import latest_evaluation
from shared.gallery.store import stored_galleries
from shared.results.table import result_row
from shared.storage.azure import AzureStorage
from shared.storage.sealing import keyring


@dataclass
class ReportData:
    """Everything the page shows, gathered from storage first (render is pure)."""

    generated_at: str
    account: str
    models: list[dict] = field(default_factory=list)
    results: list[dict] = field(default_factory=list)  # identify/verify results read, newest first
    recent: int = 50
    evaluation: dict | None = None

    def decisions(self) -> dict[str, dict[str, int]]:
        """{kind: {decision, or rejected/error: count}} over the results read."""
        out: dict[str, dict[str, int]] = {}
        for doc in self.results:
            what = outcome_of(doc)
            by_kind = out.setdefault(doc.get("kind") or "?", {})
            by_kind[what] = by_kind.get(what, 0) + 1
        return out


def gather(storage: AzureStorage, settings: Settings, *, recent: int = 50, window: int = 1000) -> ReportData:
    """Read the gallery, the newest ``window`` identify results and the latest evaluation."""
    data = ReportData(generated_at=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                      account=urlparse(storage.blobs.url).netloc, recent=recent)
    for gallery in stored_galleries(storage, settings.shard_count, keyring(settings.voiceprint_keys)):
        entries = [e for sh in gallery.load_all() for e in sh.entries]
        unique = {e["voiceprint_id"]: e for e in entries}
        data.models.append({"model_id": gallery.model.id, "speakers": len({e["key"] for e in unique.values()}),
                            "voiceprints": len(unique), "shards": gallery.shard_count,
                            "net_speech_h": round(sum(float(e.get("net_speech_s", 0)) for e in unique.values())
                                                  / 3600, 2)})
    items = sorted(storage.list(contract.RESULTS, contract.IDENTIFY + "/"), key=lambda i: i.modified,
                   reverse=True)[:window]
    docs = [d for d in (storage.read_json(contract.RESULTS, i.name) for i in items) if d]
    data.results = sorted(docs, key=lambda d: d.get("created_at", ""), reverse=True)
    data.recent = recent
    data.evaluation = latest_evaluation(storage)
    return data


def outcome_of(doc: dict) -> str:
    """accept/reject (verify), identified/unknown (identify: a name would split the chart per speaker),
    else the status (rejected, error)."""
    if doc.get("status") != "ok":
        return str(doc.get("status"))
    if doc.get("kind") == "identify":
        return "unknown" if doc.get("decision") == "unknown" else "identified"
    return str(doc.get("decision"))


def score_of(doc: dict) -> float | None:
    """The score a decision was made on: the claim's (verify) or the best candidate's (identify)."""
    if doc.get("status") != "ok":
        return None
    if doc.get("kind") == "verify":
        return doc.get("score")
    best = (doc.get("candidates") or [{}])[0]
    return best.get("score")


# ---- charts -------------------------------------------------------------------------------------------------

def _pyplot():
    """matplotlib's pyplot on the file-only backend; None without the ``eval`` extra (the page then has no charts)."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _svg(fig) -> str:
    import matplotlib.pyplot as plt

    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def histogram_svg(docs: list[dict], kind: str, title: str) -> str | None:
    """Scores of one kind, one colour per decision, with the threshold the decisions used."""
    plt = _pyplot()
    rows = [(score_of(d), outcome_of(d)) for d in docs if d.get("kind") == kind and score_of(d) is not None]
    if not rows or plt is None:
        return None
    fig, ax = plt.subplots(figsize=(5.5, 2.8))
    lo, hi = min(s for s, _ in rows), max(s for s, _ in rows)
    lo, hi = min(lo, (lo + hi) / 2 - 1), max(hi, (lo + hi) / 2 + 1)  # one score still gets a visible bar
    bins = [lo + (hi - lo + 1e-9) * i / 24 for i in range(25)]
    for decision in sorted({d for _, d in rows}):
        scores = [s for s, d in rows if d == decision]
        ax.hist(scores, bins=bins, alpha=0.7, label=f"{decision} ({len(scores)})")
    latest = next((d.get("threshold") for d in docs if d.get("kind") == kind and d.get("threshold") is not None),
                  None)  # docs are newest first
    for t in [latest] if latest is not None else []:
        ax.axvline(t, color="black", linestyle="--", linewidth=1, label=f"threshold {t:.2f}")
    ax.set_title(title)
    ax.set_xlabel("score")
    ax.set_ylabel("results")
    ax.legend(fontsize=8)
    return _svg(fig)


def det_svg(evaluation: dict) -> str | None:
    """The DET curve(s) of the evaluation on normal-deviate axes, with the EER and the operating point."""
    plt = _pyplot()
    from shared.evaluation.det import det_warp, draw_det

    curves = evaluation.get("det") or {}
    if not curves or plt is None:
        return None
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    draw_det(ax, {name: (pts["far"], pts["frr"]) for name, pts in curves.items()})
    product = evaluation.get("product") or {}
    if product.get("eer") is not None:
        ax.plot(det_warp(product["eer"]), det_warp(product["eer"]), "o", color="black",
                label=f"EER {product['eer']:.2f} %")
    op = product.get("at_threshold") or {}
    if op.get("far") is not None:
        ax.plot(det_warp(op["far"]), det_warp(op["frr"]), "s", color="red", label="operating point")
    ax.legend(fontsize=8)
    return _svg(fig)


# ---- page ---------------------------------------------------------------------------------------------------

CSS = """body{font:14px system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222}
h1{font-size:1.5em}h2{font-size:1.15em;margin-top:2em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.5em 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#777}.charts{display:flex;flex-wrap:wrap;gap:1em}
.bad{color:#a00}"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _table(headers: list[str], rows: list[list[object]], keys: list[str] | None = None) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        key = f' data-k="{_e(keys[i])}"' if keys else ""
        cells = "".join(f'<td class="n">{_e(v)}</td>' if isinstance(v, (int, float)) else f"<td>{_e(v)}</td>"
                        for v in row)
        body.append(f"<tr{key}>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _stat(key: str, label: str, value: object) -> str:
    return f'<tr><th>{_e(label)}</th><td class="n" data-k="{_e(key)}">{_e(value)}</td></tr>'


def render(data: ReportData) -> str:
    """The page as one HTML string (no scripts, no external resources)."""
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>voiceid report</title>"
             f"<style>{CSS}</style></head><body><h1>voiceid report</h1>"
             f'<p class=muted>generated {_e(data.generated_at)} from {_e(data.account)}</p>']
    parts.append("<h2>Gallery</h2>")
    if data.models:
        parts.append("<table>" + _stat("speakers", "speakers (largest model)", max(m["speakers"] for m in data.models))
                     + _stat("voiceprints", "voiceprints (largest model)", max(m["voiceprints"] for m in data.models))
                     + _stat("models", "models", len(data.models)) + "</table>")
        parts.append(_table(["model", "speakers", "voiceprints", "shards", "net speech (h)"],
                            [[m["model_id"], m["speakers"], m["voiceprints"], m["shards"], m["net_speech_h"]]
                             for m in data.models], [f"model:{m['model_id']}" for m in data.models]))
    else:
        parts.append('<p data-k="speakers">no speakers enrolled</p>')
    parts.append("<h2>Decisions</h2>")
    counts = data.decisions()
    pairs = [(k, w, n) for k, by in sorted(counts.items()) for w, n in sorted(by.items())]
    parts.append(_table(["kind", "outcome", "results"], [list(p) for p in pairs], [f"decision:{k}:{w}" for k, w, _ in pairs])
                 if pairs else "<p>no identifications or verifications yet</p>")
    parts.append(f'<p class=muted>over the newest <span data-k="window">{len(data.results)}</span> '
                 "identify/verify results (results expire after VOICEID_RESULT_RETENTION_S)</p>")
    charts = [c for c in (histogram_svg(data.results, "identify", "identify: best candidate's score"),
                          histogram_svg(data.results, "verify", "verify: claimed speaker's score")) if c]
    if charts:
        parts.append("<h2>Score distributions</h2><div class=charts>" + "".join(f"<div>{c}</div>" for c in charts)
                     + "</div>")
    parts.append("<h2>Latest evaluation</h2>" + _evaluation(data.evaluation))
    parts.append("<h2>Recent identifications and verifications</h2>")
    parts.append(_table(["time (UTC)", "kind", "status", "decision", "speaker", "score", "file"],
                        [[d.get("created_at", "")[:19].replace("T", " "), *result_row(d)[1:], result_row(d)[0]]
                         for d in data.results[:data.recent]]) if data.results else "<p>none yet</p>")
    parts.append("</body></html>")
    return "\n".join(parts)


def _fmt(value: float | None, digits: int = 2) -> str | None:
    return None if value is None else f"{value:.{digits}f}"


def _evaluation(ev: dict | None) -> str:
    if not ev:
        return ("<p>none yet: run <code>voiceid eval trials TRIALS --root DIR --out SCORES</code> "
                "(it keeps its report here)</p>")
    p = ev.get("product") or {}
    op = p.get("at_threshold") or {}
    table = ("<table>" + _stat("eval:trials_file", "trials", ev.get("trials_file"))
             + _stat("eval:when", "evaluated", ev.get("evaluated_at"))
             + _stat("eval:model", "model", ev.get("model_id"))
             + _stat("eval:trials", "trials scored", p.get("trials"))
             + _stat("eval:eer", "EER (%)", _fmt(p.get("eer")))
             + _stat("eval:min_dcf", "minDCF (p=0.01)", _fmt(p.get("min_dcf"), 3))
             + _stat("eval:far", "FAR at the threshold (%)", _fmt(op.get("far")))
             + _stat("eval:frr", "FRR at the threshold (%)", _fmt(op.get("frr")))
             + "</table>")
    chart = det_svg(ev)
    return table + (f"<div class=charts><div>{chart}</div></div>" if chart else "")


def write_report(storage: AzureStorage, settings: Settings, out: Path, *, recent: int = 50) -> ReportData:
    """Gather, render and write ``out`` (mode 0600: it names speakers)."""
    data = gather(storage, settings, recent=recent)
    out.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(render(data))
    return data
