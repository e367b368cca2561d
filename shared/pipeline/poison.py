"""Inputs whose processing failed every retry: tell the sender, and let an operator run them again.

The Functions host (Azure's and the local one) puts such a blob on
``webjobs-blobtrigger-poison`` with the fields FunctionId, BlobType, ContainerName,
BlobName and ETag. This writes an ``error`` result for it, unless a result for that
blob version already exists (a later retry may have succeeded after all).

``voiceid poison list`` shows what failed (match jobs still in ``match-jobs-poison``, and blobs
whose result is still ``system.retries_exhausted``, found through the audit log), and
``voiceid poison replay`` runs their input blobs again.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.names import parse_identify
from shared.core.records import MatchJob
from shared.results import audit
from shared.results import documents as results
from shared.storage.base import ConcurrencyConflict, Storage

log = logging.getLogger(__name__)
CODE = "system.retries_exhausted"
SUPERSEDED = "superseded (uploaded again meanwhile; that upload runs on its own)"


def result_kind(container: str, blob: str) -> str:
    if container in (contract.ENROLL, contract.WATCHLIST):
        return container  # the result kinds are named after these containers
    try:
        return parse_identify(blob).kind
    except PermanentError:
        return "identify"


def handle_blob_poison(body: bytes | str, storage: Storage) -> None:
    """Write the ``error`` result of the poisoned blob named in ``body``."""
    try:
        message = json.loads(body)
        container, blob, etag = message["ContainerName"], message["BlobName"], message["ETag"]
    except (ValueError, KeyError, TypeError) as exc:
        log.error("dropping a blob poison message that is not Azure's format: %s", exc)
        return
    if container not in (contract.ENROLL, contract.IDENTIFY, contract.WATCHLIST):
        log.error("poisoned blob %s/%s is not ours; leaving it", container, blob)
        return
    existing = storage.read_json(contract.RESULTS, contract.result_blob_name(container, blob))
    if existing is not None and existing.get("etag") == etag:
        log.info("poisoned blob %s/%s already has a result; nothing to add", container, blob)
        return
    err = PermanentError(
        f"processing failed on every retry ({message.get('FunctionId', 'unknown function')})", code=CODE,
        hint=f"An operator should read the host log for {container}/{blob}; upload the file again to retry.")
    results.write(storage, container, blob,
                  results.failure(result_kind(container, blob), container, blob, etag, err, status="error"))


@dataclass(frozen=True)
class PoisonItem:
    """An input whose processing failed every retry: where it came from and which blob to run again."""

    source: str  # the poison queue, or "audit" for blobs whose trigger was poisoned
    container: str
    blob: str
    code: str
    message_id: str | None = None


def list_items(storage: Storage) -> list[PoisonItem]:
    """Poisoned match jobs (still in their poison queue) and poisoned blobs whose result is still that error."""
    items: list[PoisonItem] = []
    queue = contract.MATCH_QUEUE + contract.POISON_SUFFIX

    def visit(msg) -> bool:
        job = MatchJob.from_message(msg.content)
        items.append(PoisonItem(queue, contract.IDENTIFY, job.blob if job else "?", "match.failed", msg.id))
        return False

    storage.drain(queue, visit, hold_s=10)
    seen = set()
    for event in audit.read(storage):
        if event.get("code") == CODE and event.get("blob") and event["blob"] not in seen:
            seen.add(event["blob"])
            container, blob = event["blob"].split("/", 1)
            doc = storage.read_json(contract.RESULTS, contract.result_blob_name(container, blob))
            if doc is not None and (doc.get("error") or {}).get("code") == CODE:
                items.append(PoisonItem("audit", container, blob, CODE))
    return items


def replay(storage: Storage, items: list[PoisonItem]) -> dict[str, str]:
    """Run each item's input blob again: rewrite it in place (a new ETag is a new delivery, whose result
    replaces the error) and drop its poison message. Returns blob -> what happened."""
    outcome: dict[str, str] = {}
    for item in items:
        key = f"{item.container}/{item.blob}"
        got = storage.read(item.container, item.blob)
        if got is None:
            outcome[key] = "blob gone (deleted or past retention): upload it again"
        elif key not in outcome:
            try:
                storage.write(item.container, item.blob, got[0], if_match=got[1])
                outcome[key] = "replayed"
            except ConcurrencyConflict:  # uploaded again since the read: that upload is a delivery of its own
                outcome[key] = SUPERSEDED
    ids = {i.message_id for i in items if i.message_id}
    if ids:
        storage.drain(contract.MATCH_QUEUE + contract.POISON_SUFFIX, lambda m: m.id in ids, hold_s=10)
    for key, what in outcome.items():
        audit.record(storage, "replay", actor=audit.operator(), outcome=what.split(" ")[0], blob=key)
    return outcome
