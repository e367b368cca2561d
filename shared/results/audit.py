"""The append-only audit log: who did what to whom, and when; never audio, never embeddings.

One JSON line per event in append blobs of the ``audit`` container, one blob per hour
(``audit/<yyyy>/<mm>/<dd>/<hh>.jsonl``). Append blobs cannot be rewritten through the
append API, and on Azure the container carries a time-based immutability policy with
protected appends (infra/main.bicep), so even the app's own identity cannot edit or
delete a record before the policy expires.

Events are written *before* the result they describe, so a crash between the two
repeats the event on retry rather than losing it: the log is at-least-once, and
``request_id`` tells repeats apart.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
from datetime import datetime, timezone

from shared.core import contract
from shared.storage.base import Storage

log = logging.getLogger(__name__)
ACTIONS = contract.AUDIT_ACTIONS
_overflow: dict[str, int] = {}


def blob_name(at: datetime, part: int = 0) -> str:
    """The hour's blob; ``part`` > 0 when the hour's first blob is full (Azure: 50,000 appends per blob)."""
    return at.strftime("%Y/%m/%d/%H") + (f"-{part}" if part else "") + ".jsonl"


def operator() -> str:
    """Who runs a CLI command: ``VOICEID_ACTOR`` (e.g. a ticket or an operator id), else the OS user."""
    return os.environ.get("VOICEID_ACTOR") or f"cli:{getpass.getuser()}"


def record(storage: Storage, action: str, *, actor: str, outcome: str, speaker: str | None = None,
           blob: str | None = None, request_id: str | None = None, **details) -> dict:
    """Append one event; ``details`` must be small facts (codes, decisions, counts), never biometric data."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    at = datetime.now(timezone.utc)
    event = {"at": at.isoformat(timespec="milliseconds").replace("+00:00", "Z"), "action": action,
             "actor": actor, "outcome": outcome, "speaker": speaker, "blob": blob, "request_id": request_id,
             **details}
    line = (json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    hour = blob_name(at)
    part = _overflow.get(hour, 0)
    while True:
        try:
            storage.append(contract.AUDIT, blob_name(at, part), line)
            break
        except Exception as exc:  # noqa: BLE001 - only a full blob moves on; anything else is re-raised
            if "BlockCountExceedsLimit" not in str(exc) or part > 1000:
                raise
            part += 1
            _overflow[hour] = part
    return event


def from_result(doc: dict, actor: str = "blob-trigger") -> tuple[str, dict]:
    """The audit event of a result document (action, fields): decision and codes, not scores of others."""
    kind, error = doc["kind"], doc.get("error") or {}
    fields: dict = {"blob": doc["blob"], "request_id": doc.get("request_id"), "actor": actor,
                    "outcome": doc.get("decision") or doc["status"], "status": doc["status"],
                    "code": error.get("code"), "model_id": doc.get("model_id"),
                    "liveness": (doc.get("liveness") or {}).get("decision")}  # every attack decision is on record
    if doc.get("watchlist"):  # every watchlist match is on record, with its cases
        fields["watchlist"] = [hit["case"] for hit in doc["watchlist"]]
    if kind == "enroll":
        fields.update(speaker=doc.get("speaker"), voiceprint_id=doc.get("voiceprint_id"))
    elif kind == "watchlist":
        fields.update(speaker=doc.get("case"), voiceprint_id=doc.get("voiceprint_id"))
    elif kind == "verify":
        fields.update(speaker=doc.get("claimed"), score=doc.get("score"),
                      challenge=(doc.get("challenge") or {}).get("match"))
    elif doc.get("decision"):  # identify: the decision is the matched name or "unknown"
        matched = doc["decision"] != "unknown"
        fields.update(outcome="match" if matched else "unknown", speaker=doc["decision"] if matched else None)
    return kind, fields


def read(storage: Storage, prefix: str | None = None) -> list[dict]:
    """Every event under ``prefix`` (e.g. ``2026/11/24/``), oldest first."""
    events = []
    for item in storage.list(contract.AUDIT, prefix):
        got = storage.read(contract.AUDIT, item.name)
        if got is not None:
            events += [json.loads(line) for line in got[0].decode("utf-8").splitlines() if line.strip()]
    return sorted(events, key=lambda e: e["at"])
