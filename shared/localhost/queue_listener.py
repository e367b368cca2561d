"""Queue trigger delivery, as the Functions host does it.

Azure has two different timeouts, and so does this listener:

* the **lease**: a received message is invisible for ``LEASE_S`` and the lease is
  renewed every half of it while the function runs, so a long job is not
  delivered twice;
* host.json's ``visibilityTimeout``: after a *failure*, the delay before the
  message becomes visible again for a retry.

A message is retried until its dequeue count reaches ``maxDequeueCount``; then it
is copied, body intact, to ``<queue>-poison`` and deleted. Up to ``batchSize``
messages are fetched at once and a new batch is fetched when fewer than
``newBatchThreshold`` are in flight. Empty polls back off up to ``maxPollingInterval``,
except that a message sent by this host's own output bindings wakes the listener at once
(:class:`~shared.localhost.functions.QueueWatcher`, as Azure's host does).
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from azure.functions.queue import QueueMessage as FunctionQueueMessage
from azure.storage.queue import QueueMessage

from shared.core.hostconfig import QueueOptions
from shared.localhost.functions import (
    FunctionSpec,
    QueueWatcher,
    decode_message,
    invoke,
    wait_until,
)
from shared.storage.azure import AzureStorage

log = logging.getLogger("voiceid.host")
LEASE_S = 60


class QueueListener:
    """Delivers messages of one queue to one function."""

    def __init__(self, spec: FunctionSpec, storage: AzureStorage, options: QueueOptions,
                 watcher: QueueWatcher | None = None, lease_s: float = LEASE_S):
        self.spec = spec
        self.lease_s = int(lease_s)
        self.running: dict[str, dict] = {}  # message id -> its current pop receipt, while its function runs
        self.storage = storage
        self.options = options
        self.queue_name = spec.trigger["queueName"]
        self.client = storage.queues.get_queue_client(self.queue_name)
        self.poison = storage.queues.get_queue_client(self.queue_name + "-poison")
        self.limit = options.batch_size + options.new_batch_threshold
        self.pool = ThreadPoolExecutor(max_workers=self.limit, thread_name_prefix=spec.name)
        self.inflight = 0
        self.lock = threading.Lock()
        self.backoff = 0.1
        self.watcher = watcher or QueueWatcher()
        self.wake = self.watcher.event(self.queue_name)

    def poll_once(self) -> int:
        """Fetch a batch if there is room; returns how many messages were started."""
        with self.lock:
            room = self.limit - self.inflight
            if self.inflight > self.options.new_batch_threshold or room <= 0:
                return 0
        count = min(self.options.batch_size, room, 32)
        messages = list(self.client.receive_messages(max_messages=count, visibility_timeout=self.lease_s))
        for msg in messages[:count]:
            if msg.dequeue_count > self.options.max_dequeue_count:
                self._to_poison(msg, msg.pop_receipt)  # e.g. a host died during its last try
                continue
            with self.lock:
                self.inflight += 1
                self.running[msg.id] = {"pop": msg.pop_receipt}
            self.pool.submit(self._deliver, msg)
        return len(messages)

    def next_delay(self, started: int) -> float:
        """Exponential back-off on empty polls, as the host does, capped by maxPollingInterval."""
        self.backoff = 0.1 if started else min(self.backoff * 2, self.options.max_polling_interval_s)
        return self.backoff

    def _deliver(self, msg: QueueMessage) -> None:
        with self.lock:
            receipt = self.running[msg.id]
        stop = threading.Event()
        renewer = threading.Thread(target=self._renew, args=(msg, receipt, stop), daemon=True)
        renewer.start()
        started = time.perf_counter()
        try:
            qm = FunctionQueueMessage(
                id=msg.id, body=decode_message(msg.content, self.options.message_encoding),
                dequeue_count=msg.dequeue_count, expiration_time=msg.expires_on,
                insertion_time=msg.inserted_on, time_next_visible=msg.next_visible_on, pop_receipt=msg.pop_receipt)
            log.info("Executing 'Functions.%s' (Reason='New queue message detected on %s', Id=%s, "
                     "DequeueCount=%d)", self.spec.name, self.queue_name, msg.id, msg.dequeue_count)
            invoke(self.spec, qm, self.storage, self.options.message_encoding, self.watcher)
            stop.set()
            renewer.join()
            self.client.delete_message(msg.id, receipt["pop"])
            log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", self.spec.name, msg.id,
                     (time.perf_counter() - started) * 1000)
        except Exception as exc:
            stop.set()
            renewer.join()
            self._failed(msg, receipt["pop"], exc)
        finally:
            with self.lock:
                self.inflight -= 1
                self.running.pop(msg.id, None)

    def _renew(self, msg: QueueMessage, receipt: dict, stop: threading.Event) -> None:
        while not stop.wait(self.lease_s / 2):
            try:
                reply = self.client.update_message(msg.id, receipt["pop"], visibility_timeout=self.lease_s)
                receipt["pop"] = reply.pop_receipt
            except Exception as exc:  # lost the lease: the message may be delivered again
                log.warning("could not renew the lease of message %s: %s", msg.id, exc)

    def _failed(self, msg: QueueMessage, pop: str, exc: Exception) -> None:
        log.warning("Executed 'Functions.%s' (Failed, Id=%s, DequeueCount=%d/%d): %s: %s", self.spec.name,
                    msg.id, msg.dequeue_count, self.options.max_dequeue_count, type(exc).__name__, exc)
        try:
            if msg.dequeue_count >= self.options.max_dequeue_count:
                self._to_poison(msg, pop)
            else:
                self.client.update_message(msg.id, pop, visibility_timeout=int(self.options.visibility_timeout_s))
        except Exception as again:  # storage down: the lease expires and the message comes back
            log.error("could not release message %s: %s", msg.id, again)

    def _to_poison(self, msg: QueueMessage, pop: str) -> None:
        self.poison.send_message(msg.content)
        self.client.delete_message(msg.id, pop)
        log.error("message %s moved to %s-poison after %d deliveries", msg.id, self.queue_name, msg.dequeue_count)

    def drain(self, deadline: float) -> int:
        """Wait for running functions until ``deadline``; release the messages of those still running.

        A released message is visible again at once, so another instance (or this host after a
        restart) runs it; the functions are idempotent, so one cut off half-way does no harm.
        Returns how many were released.
        """
        self.pool.shutdown(wait=False, cancel_futures=True)
        if wait_until(lambda: not self.running, deadline):
            return 0
        with self.lock:
            running = dict(self.running)
        for msg_id, receipt in running.items():
            try:
                self.client.update_message(msg_id, receipt["pop"], visibility_timeout=0)
                log.warning("released message %s of %s: its function did not finish before shutdown", msg_id,
                            self.queue_name)
            except Exception as exc:  # the lease will expire instead
                log.error("could not release message %s: %s", msg_id, exc)
        return len(running)
