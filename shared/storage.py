"""Thin access to Blob and Queue storage, with errors sorted into our two kinds.

Works against Azurite (``UseDevelopmentStorage=true``) and any real account, through
the same ``AzureWebJobsStorage`` connection the Functions host uses: a connection
string, or on Azure an identity-based connection (:mod:`shared.identity`).
Missing blobs read as ``None``; a lost optimistic-concurrency race raises
:class:`ConcurrencyConflict`; everything the service may get over (throttling,
timeouts, 5xx, a refused connection) raises :class:`TransientError`.
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    HttpResponseError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)
from azure.storage.blob import BlobServiceClient, ContentSettings
from azure.storage.blob import ExponentialRetry as BlobRetry
from azure.storage.queue import ExponentialRetry as QueueRetry
from azure.storage.queue import QueueMessage, QueueServiceClient

from . import contract
from .errors import TransientError
from .identity import needs_token, token_credential


RETRIES = 3  # backoffs of about 1, 3 and 5 s (plus jitter) before a call fails


class ConcurrencyConflict(Exception):
    """An ETag-conditional write lost a race; re-read and try again."""


@dataclass(frozen=True)
class BlobItem:
    """A listed blob: enough to decide whether it needs work."""

    name: str
    etag: str
    size: int
    modified: datetime | None = None


def quoted_etag(etag: str) -> str:
    """ETags in their HTTP form, ``"0x8D..."``: listings and downloads spell them differently."""
    return etag if etag.startswith('"') else f'"{etag}"'


def _transient(exc: Exception) -> TransientError:
    return TransientError(f"storage: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                          code="storage.unavailable",
                          hint="Check AzureWebJobsStorage and that the account (or Azurite: 'voiceid up') is up.")


def storage_call(fn):
    """Decorator: turn SDK failures other than the expected ones into TransientError."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ConcurrencyConflict, ResourceNotFoundError):
            raise
        except (ResourceModifiedError, ResourceExistsError) as exc:
            raise ConcurrencyConflict(str(exc)) from exc
        except HttpResponseError as exc:
            if exc.status_code == 412:
                raise ConcurrencyConflict(str(exc)) from exc
            raise _transient(exc) from exc
        except AzureError as exc:
            raise _transient(exc) from exc

    return wrapper


class Storage:
    """Blob and queue operations the product needs, and nothing else."""

    def __init__(self, connection_string: str):
        # The SDK's default retry waits 15 + 18 + 24 s before giving up: a poll or a function would hang
        # a minute through an outage. A few quick tries, then TransientError, and the host's own
        # back-off and message retries take over (and say so in the log).
        # An endpoints-only string (AzureWebJobsStorage__accountName) authenticates as the app's identity.
        credential = token_credential() if needs_token(connection_string) else None
        self.blobs = BlobServiceClient.from_connection_string(
            connection_string, credential=credential,
            retry_policy=BlobRetry(initial_backoff=1, increment_base=2, retry_total=RETRIES))
        self.queues = QueueServiceClient.from_connection_string(
            connection_string, credential=credential,
            retry_policy=QueueRetry(initial_backoff=1, increment_base=2, retry_total=RETRIES))

    @storage_call
    def ensure(self) -> None:
        """Create the contract's containers and queues if they are missing (idempotent)."""
        for name in contract.CONTAINERS + (contract.HOSTS,):
            try:
                self.blobs.create_container(name)
            except ResourceExistsError:
                pass
        for name in contract.QUEUES:
            try:
                self.queues.create_queue(name)
            except ResourceExistsError:
                pass

    @storage_call
    def read(self, container: str, name: str) -> tuple[bytes, str] | None:
        """The blob's bytes and ETag, or None when it does not exist."""
        try:
            downloader = self.blobs.get_blob_client(container, name).download_blob()
        except ResourceNotFoundError:
            return None
        return downloader.readall(), quoted_etag(downloader.properties.etag)

    @storage_call
    def etag(self, container: str, name: str) -> str | None:
        """The blob's current ETag, or None when it does not exist."""
        try:
            return quoted_etag(self.blobs.get_blob_client(container, name).get_blob_properties().etag)
        except ResourceNotFoundError:
            return None

    @storage_call
    def last_modified(self, container: str, name: str) -> datetime | None:
        """When the blob was last written, by the service's clock; None when it does not exist."""
        try:
            return self.blobs.get_blob_client(container, name).get_blob_properties().last_modified
        except ResourceNotFoundError:
            return None

    @storage_call
    def append(self, container: str, name: str, data: bytes) -> None:
        """Append ``data`` to an append blob, creating it first if needed (append-only logs).

        Each append is atomic, so concurrent writers never interleave inside a record.
        """
        client = self.blobs.get_blob_client(container, name)
        try:
            client.append_block(data)
        except ResourceNotFoundError:
            try:
                client.create_append_blob(match_condition=MatchConditions.IfMissing,
                                          content_settings=ContentSettings(content_type="application/x-ndjson"))
            except (ResourceExistsError, ResourceModifiedError):
                pass  # another writer created it first
            except HttpResponseError as exc:
                if exc.status_code != 412:
                    raise
            client.append_block(data)

    @storage_call
    def write(self, container: str, name: str, data: bytes, *, content_type: str = "application/octet-stream",
              if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write a blob and return its new ETag.

        ``if_match`` makes the write conditional on the ETag read before it;
        ``if_none_match`` on the blob not existing yet. Either raises
        :class:`ConcurrencyConflict` when another writer got there first.
        """
        kwargs: dict = {"overwrite": True, "content_settings": ContentSettings(content_type=content_type)}
        if if_match:
            kwargs.update(etag=if_match, match_condition=MatchConditions.IfNotModified)
        elif if_none_match:
            kwargs.update(match_condition=MatchConditions.IfMissing)
        try:
            reply = self.blobs.get_blob_client(container, name).upload_blob(data, **kwargs)
        except ResourceNotFoundError as exc:  # container missing: the deployment is incomplete
            raise TransientError(f"container {container!r} does not exist", code="storage.missing_container",
                                 hint="Run 'voiceid init' (or the host) to create the containers.") from exc
        return quoted_etag(reply["etag"])

    def write_json(self, container: str, name: str, doc: dict, **kwargs) -> str:
        """Write ``doc`` as UTF-8 JSON (see :meth:`write` for the conditions)."""
        data = json.dumps(doc, ensure_ascii=False, indent=1).encode("utf-8")
        return self.write(container, name, data, content_type="application/json", **kwargs)

    def read_json(self, container: str, name: str) -> dict | None:
        """A JSON blob as a dict, or None when it does not exist."""
        got = self.read(container, name)
        return None if got is None else json.loads(got[0])

    @storage_call
    def delete(self, container: str, name: str, *, if_match: str | None = None) -> bool:
        """Delete a blob; False when it was already gone (deleting twice is fine).

        ``if_match`` deletes only the version read (else :class:`ConcurrencyConflict`).
        """
        kwargs: dict = {"etag": if_match, "match_condition": MatchConditions.IfNotModified} if if_match else {}
        try:
            self.blobs.get_blob_client(container, name).delete_blob(delete_snapshots="include", **kwargs)
        except ResourceNotFoundError:
            return False
        return True

    @storage_call
    def list(self, container: str, prefix: str | None = None) -> list[BlobItem]:
        """Blobs of ``container`` under ``prefix``, in name order (read fully, so errors surface here)."""
        return [BlobItem(name=p.name, etag=quoted_etag(p.etag), size=p.size, modified=p.last_modified)
                for p in self.blobs.get_container_client(container).list_blobs(name_starts_with=prefix)]

    @storage_call
    def send(self, queue: str, text: str) -> None:
        """Put one message (already encoded as the queue's consumers expect) on ``queue``."""
        self.queues.get_queue_client(queue).send_message(text)

    @storage_call
    def drain(self, queue: str, take: Callable[[QueueMessage], bool], hold_s: int = 30) -> int:
        """Visit every visible message of ``queue`` once; delete those ``take`` returns True for.

        Messages are leased for ``hold_s`` while visited and the others are made visible
        again at once, so a consumer may see them a little later but never loses them.
        Returns how many were taken.
        """
        client = self.queues.get_queue_client(queue)
        taken, keep = 0, []
        while True:
            batch = list(client.receive_messages(max_messages=32, visibility_timeout=hold_s))
            if not batch:
                break
            for msg in batch:
                if take(msg):
                    client.delete_message(msg.id, msg.pop_receipt)
                    taken += 1
                else:
                    keep.append(msg)
        for msg in keep:
            client.update_message(msg.id, msg.pop_receipt, visibility_timeout=0)
        return taken


_lock = threading.Lock()
_clients: dict[str, Storage] = {}


def get_storage(connection_string: str) -> Storage:
    """One client per connection string per process (clients are thread-safe)."""
    with _lock:
        if connection_string not in _clients:
            _clients[connection_string] = Storage(connection_string)
        return _clients[connection_string]
