"""The storage contract (:mod:`shared.storage.base`) on Azure Blob and Queue storage, errors sorted into our two kinds.

Works against Azurite (``UseDevelopmentStorage=true``) and any real account, through
the same ``AzureWebJobsStorage`` connection the Functions host uses: a connection
string, or on Azure an identity-based connection (:mod:`shared.storage.credentials`).
Missing blobs read as ``None``; a lost optimistic-concurrency race raises
:class:`ConcurrencyConflict`; everything the service may get over (throttling,
timeouts, 5xx, a refused connection) raises :class:`TransientError`.
"""

from __future__ import annotations

import contextlib
import functools
import threading
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
from azure.storage.queue import QueueServiceClient

from shared.core.errors import TransientError
from shared.storage.base import (
    BlobItem,
    ConcurrencyConflict,
    Message,
    Storage,
    quoted_etag,
)
from shared.storage.credentials import needs_token, token_credential

RETRIES = 3  # backoffs of about 1, 3 and 5 s (plus jitter) before a call fails


def _transient(exc: Exception) -> TransientError:
    return TransientError(f"storage: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}",
                          code="storage.unavailable",
                          hint="Check AzureWebJobsStorage and that the account (or Azurite: 'voiceid up') is up.")


def _create(make, name: str) -> None:
    """Create a container or a queue; one that exists already is fine."""
    try:
        make(name)
    except ResourceExistsError:
        pass


@contextlib.contextmanager
def _lease_moved_on():
    """A stale pop receipt (the message was delivered again, or deleted) is a lost race, not an outage."""
    try:
        yield
    except ResourceNotFoundError as exc:
        raise ConcurrencyConflict(str(exc)) from exc
    except HttpResponseError as exc:
        if exc.error_code != "PopReceiptMismatch":
            raise
        raise ConcurrencyConflict(str(exc)) from exc


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


class AzureStorage(Storage):
    """Blob and queue operations the product needs, on an Azure Storage account or Azurite.

    ``blobs`` and ``queues`` are the SDK's service clients, for the local host and the tests
    that need more than the contract (dropping a container, peeking at a queue).
    """

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
    def ensure_container(self, name: str) -> None:
        _create(self.blobs.create_container, name)

    @storage_call
    def ensure_queue(self, name: str) -> None:
        _create(self.queues.create_queue, name)

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
    def receive(self, queue: str, max_messages: int = 32, visibility_timeout: int = 30) -> list[Message]:
        client = self.queues.get_queue_client(queue)
        return [Message(id=m.id, content=m.content, pop_receipt=m.pop_receipt, dequeue_count=m.dequeue_count or 1)
                for m in client.receive_messages(max_messages=max_messages, visibility_timeout=visibility_timeout)]

    @storage_call
    def queue_length(self, queue: str) -> int:
        return int(self.queues.get_queue_client(queue).get_queue_properties().approximate_message_count or 0)

    @storage_call
    def delete_message(self, queue: str, message: Message) -> None:
        with _lease_moved_on():
            self.queues.get_queue_client(queue).delete_message(message.id, message.pop_receipt)

    @storage_call
    def release(self, queue: str, message: Message, visibility_timeout: int = 0) -> None:
        with _lease_moved_on():
            self.queues.get_queue_client(queue).update_message(message.id, message.pop_receipt,
                                                               visibility_timeout=visibility_timeout)


_lock = threading.Lock()
_clients: dict[str, AzureStorage] = {}


def get_storage(connection_string: str) -> AzureStorage:
    """One client per connection string per process (clients are thread-safe)."""
    with _lock:
        if connection_string not in _clients:
            _clients[connection_string] = AzureStorage(connection_string)
        return _clients[connection_string]
