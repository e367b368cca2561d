"""Result documents: one JSON document per input blob, in ``results/<container>/<blob>.json``.

The field names are a public contract (docs/architecture.md; one JSON schema per
kind in ``shared/schemas/``). Every document has ``schema_version``, ``status``,
``kind``, the input ``blob`` and ``etag``, ``model_id``, ``timings_ms`` and, when
status is not ``ok``, ``error: {code, message, hint}``.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from shared.core import contract, telemetry
from shared.core.errors import VoiceIdError
from shared.core.records import BlobInput
from shared.results import audit
from shared.storage.base import Storage

SCHEMA_VERSION = 1
log = logging.getLogger(__name__)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def ms_since(start: float) -> float:
    return round((time.time() - start) * 1000, 1)


def base(kind: str, container: str, blob: str, etag: str, *, status: str = "ok",
         model_id: str | None = None, timings_ms: dict | None = None, **fields) -> dict:
    """The fields every result shares, then the kind's own ``fields``."""
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": kind,
        "status": status,
        "blob": f"{container}/{blob}",
        "etag": etag,
        "model_id": model_id,
        "created_at": now_iso(),
        "timings_ms": timings_ms or {},
        **fields,
        "error": None,
    }


def failure(kind: str, container: str, blob: str, etag: str, err: VoiceIdError, *, status: str,
            model_id: str | None = None, timings_ms: dict | None = None, **fields) -> dict:
    """A ``rejected`` (sender must fix the input) or ``error`` (operator must look) document."""
    if err.details and err.code.startswith("audio."):  # an audio gate's details are the audio report
        fields.setdefault("audio", err.details)
    elif err.details:
        fields = {**err.details, **fields}
    doc = base(kind, container, blob, etag, status=status, model_id=model_id, timings_ms=timings_ms, **fields)
    doc["error"] = err.as_dict()
    return doc


def rejected(kind: str, container: str, inp: BlobInput, err: VoiceIdError, start: float,
             model_id: str | None = None) -> dict:
    """The ``rejected`` document of an input a trigger refused (``start``: when the trigger began)."""
    return failure(kind, container, inp.blob, inp.etag, err, status=getattr(err, "status", "rejected"), model_id=model_id,
                   timings_ms={"total": ms_since(start)}, request_id=inp.request_id)


def write(storage: Storage, container: str, blob: str, doc: dict, **conditions) -> None:
    """Audit ``doc``, then store it as the result of ``<container>/<blob>`` (replacing an older one) and log it.

    ``conditions`` (``if_match``/``if_none_match``) make the write conditional, see ``Storage.write``.
    The audit event comes first so that a crash in between repeats it rather than loses it.
    """
    action, fields = audit.from_result(doc)
    audit.record(storage, action, **fields)
    storage.write_json(contract.RESULTS, contract.result_blob_name(container, blob), doc,
                       **conditions)
    telemetry.result_written(doc)
    error = doc.get("error") or {}
    log.info("result %s/%s: kind=%s status=%s%s", container, blob, doc["kind"], doc["status"],
             f" code={error['code']}" if error else _summary(doc))


def _summary(doc: dict) -> str:
    listed = f" watchlist={len(doc['watchlist'])} case(s)" if doc.get("watchlist") else ""
    if doc["kind"] == "enroll":
        return f" speaker={doc.get('speaker')!r}{listed}"
    if doc["kind"] == "watchlist":
        return " case added"
    if doc["kind"] == "verify":
        return f" claimed={doc.get('claimed')!r} decision={doc.get('decision')} score={doc.get('score')}{listed}"
    return f" decision={doc.get('decision')!r}{listed}"
