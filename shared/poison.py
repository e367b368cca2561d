"""Blobs whose trigger failed every retry: tell the sender, so nobody waits for a result forever.

The Functions host (Azure's and the local one) puts such a blob on
``webjobs-blobtrigger-poison`` with the fields FunctionId, BlobType, ContainerName,
BlobName and ETag. This writes an ``error`` result for it, unless a result for that
blob version already exists (a later retry may have succeeded after all).
"""

from __future__ import annotations

import json
import logging

from . import contract, results
from .errors import PermanentError
from .names import parse_identify
from .storage import Storage

log = logging.getLogger(__name__)
CODE = "system.retries_exhausted"


def result_kind(container: str, blob: str) -> str:
    if container == contract.ENROLL:
        return "enroll"
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
    if container not in (contract.ENROLL, contract.IDENTIFY):
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
