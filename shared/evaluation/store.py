"""The latest evaluation report, kept beside the gallery for ``voiceid report``.

``gallery/evaluations/<UTC stamp>.json`` per run and ``latest.json``: scores, rates and DET points
only (file names of the trial list, no embedding, no audio).
"""

from __future__ import annotations

from datetime import datetime, timezone

from shared.core import contract
from shared.core.settings import Settings
from shared.storage.azure import get_storage
from shared.storage.base import Storage

PREFIX = "evaluations/"
LATEST = PREFIX + "latest.json"


def save_evaluation(report: dict, settings: Settings) -> str:
    """Write the report as ``evaluations/<stamp>.json`` and ``latest.json``; returns the first name."""
    from shared.storage.endpoints import local_endpoint_down

    storage = get_storage(settings.storage_connection)
    if local_endpoint_down(storage.blobs.url):
        raise ConnectionError("local storage is not running")
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    doc = {**report, "evaluated_at": stamp}
    storage.write_json(contract.GALLERY, f"{PREFIX}{stamp}.json", doc)
    storage.write_json(contract.GALLERY, LATEST, doc)
    return f"{PREFIX}{stamp}.json"


def latest_evaluation(storage: Storage) -> dict | None:
    return storage.read_json(contract.GALLERY, LATEST)
