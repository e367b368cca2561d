"""Blob trigger delivery, as the Functions host does it.

The container is scanned; a blob version (name + ETag) without a blob receipt in
``azure-webjobs-hosts/blobreceipts/<host id>/<function id>/<etag>/<container>/<blob>``
is delivered to the function. The receipt is written only after the function
returns, so delivery is at-least-once: a host killed mid-function delivers the
blob again after restart. A re-upload has a new ETag and so triggers again. A
function that keeps failing is retried ``poisonBlobThreshold`` times (with
back-off), then a message with Azure's fields goes to ``webjobs-blobtrigger-poison``.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import azure.functions as func

from shared.core import contract
from shared.localhost.functions import (
    FunctionSpec,
    QueueWatcher,
    encode_message,
    invoke,
    wait_until,
)
from shared.storage.azure import AzureStorage

log = logging.getLogger("voiceid.host")


class BlobListener:
    """Delivers new blob versions of one container to one function."""

    def __init__(self, spec: FunctionSpec, storage: AzureStorage, *, host_id: str, parallelism: int,
                 poison_threshold: int, encoding: str, poll_s: float = 1.0, watcher: QueueWatcher | None = None):
        self.spec = spec
        self.storage = storage
        self.host_id = host_id
        self.container, _, pattern = spec.trigger["path"].partition("/")
        self.prefix = pattern.split("{", 1)[0] or None
        self.poison_threshold = poison_threshold
        self.encoding = encoding
        self.poll_s = poll_s
        self.watcher = watcher
        self.pool = ThreadPoolExecutor(max_workers=parallelism, thread_name_prefix=spec.name)
        self.slots = threading.BoundedSemaphore(parallelism)
        self.inflight: set[tuple[str, str]] = set()
        self.done: set[tuple[str, str]] = set()
        self.failures: dict[tuple[str, str], tuple[int, float]] = {}
        self.lock = threading.Lock()

    def receipt_name(self, blob: str, etag: str) -> str:
        return f"blobreceipts/{self.host_id}/{self.spec.function_id}/{etag}/{self.container}/{blob}"

    def poll_once(self) -> int:
        """Scan the container once and submit every blob version that needs delivery."""
        submitted = 0
        for item in self.storage.list(self.container, self.prefix):
            key = (item.name, item.etag)
            with self.lock:
                if key in self.inflight or key in self.done:
                    continue
                tries, not_before = self.failures.get(key, (0, 0.0))
            if time.time() < not_before:
                continue
            if self.storage.etag(contract.HOSTS, self.receipt_name(item.name, item.etag)) is not None:
                with self.lock:
                    self.done.add(key)
                continue
            self.slots.acquire()
            with self.lock:
                self.inflight.add(key)
            self.pool.submit(self._deliver, item.name, item.etag, tries)
            submitted += 1
        return submitted

    def _deliver(self, name: str, etag: str, tries: int) -> None:
        key = (name, etag)
        try:
            got = self.storage.read(self.container, name)
            if got is None:  # deleted before we got to it
                return
            data, actual_etag = got
            if actual_etag != etag:  # replaced meanwhile: the next scan delivers the new version
                return
            stream = func.blob.InputStream(
                data=data, name=f"{self.container}/{name}", length=len(data),
                uri=f"{self.storage.blobs.url.rstrip('/')}/{self.container}/{name}",
                blob_properties={"ETag": etag, "ContentLength": len(data), "Length": len(data)}, metadata={})
            started = time.perf_counter()
            log.info("Executing 'Functions.%s' (Reason='New blob detected: %s/%s')", self.spec.name,
                     self.container, name)
            invoke(self.spec, stream, self.storage, self.encoding, self.watcher)
            self._receipt(name, etag)
            log.info("Executed 'Functions.%s' (Succeeded, Duration=%.0fms)", self.spec.name,
                     (time.perf_counter() - started) * 1000)
        except Exception as exc:  # the function failed: retry with back-off, then poison
            self._failed(name, etag, tries + 1, exc)
        finally:
            with self.lock:
                self.inflight.discard(key)
            self.slots.release()

    def _receipt(self, name: str, etag: str) -> None:
        self.storage.write(contract.HOSTS, self.receipt_name(name, etag), b"")
        with self.lock:
            self.done.add((name, etag))
            self.failures.pop((name, etag), None)

    def _failed(self, name: str, etag: str, tries: int, exc: Exception) -> None:
        log.warning("Executed 'Functions.%s' (Failed, try %d/%d) for %s/%s: %s: %s", self.spec.name, tries,
                    self.poison_threshold, self.container, name, type(exc).__name__, exc)
        if tries < self.poison_threshold:
            with self.lock:
                self.failures[(name, etag)] = (tries, time.time() + min(2.0 ** tries, 60.0))
            return
        message = {"Type": "blob", "FunctionId": self.spec.function_id, "BlobType": "BlockBlob",
                   "ContainerName": self.container, "BlobName": name, "ETag": etag}
        try:
            self.storage.send(contract.BLOB_POISON_QUEUE, encode_message(json.dumps(message), self.encoding))
            self._receipt(name, etag)
            log.error("blob %s/%s moved to %s after %d failures", self.container, name, contract.BLOB_POISON_QUEUE, tries)
        except Exception as send_exc:  # storage down: keep it for a later scan rather than lose it
            log.error("could not poison %s/%s yet: %s", self.container, name, send_exc)
            with self.lock:
                self.failures[(name, etag)] = (tries - 1, time.time() + 5.0)

    def drain(self, deadline: float) -> int:
        """Wait for running functions until ``deadline``; returns how many were cut off.

        A blob whose function did not finish has no receipt, so it is delivered again after a restart.
        """
        self.pool.shutdown(wait=False, cancel_futures=True)
        if wait_until(lambda: not self.inflight, deadline):
            return 0
        with self.lock:
            cut = len(self.inflight)
        log.warning("%d blob(s) of %s did not finish before shutdown; they are delivered again on restart",
                    cut, self.container)
        return cut
