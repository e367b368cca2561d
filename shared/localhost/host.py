"""The local host's main loop: discover functions, listen, stop cleanly on SIGINT/SIGTERM."""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from pathlib import Path

from shared.core.hostconfig import load_host_config
from shared.core.settings import Settings
from shared.localhost.blob_listener import BlobListener
from shared.localhost.functionkeys import LOCAL_HOST_ID
from shared.localhost.functions import QueueWatcher, discover
from shared.localhost.http_listener import HttpListener
from shared.localhost.queue_listener import QueueListener
from shared.localhost.timer_listener import TimerListener
from shared.storage.azure import get_storage

log = logging.getLogger("voiceid.host")
READY_LINE = "voiceid host ready"


def load_local_settings(app_root: Path) -> None:
    """Put ``local.settings.json`` Values into the environment, as Core Tools does (env wins)."""
    path = app_root / "local.settings.json"
    if path.is_file():
        for key, value in json.loads(path.read_text()).get("Values", {}).items():
            os.environ.setdefault(key, str(value))


def run_host(app_root: Path, stop: threading.Event | None = None, *, warm: bool = True,
             host_id: str = LOCAL_HOST_ID) -> bool:
    """Run until ``stop`` is set (or SIGINT/SIGTERM).

    Then no new work is taken, and work in flight gets ``VOICEID_HOST_DRAIN_S`` to finish;
    queue messages still running after that are released (visible again at once) and blobs
    without a receipt are delivered again on the next start. Returns True when everything finished.
    """
    load_local_settings(app_root)
    settings = Settings.from_env()
    config = load_host_config(app_root / "host.json")
    storage = get_storage(settings.storage_connection)
    storage.ensure()
    log.info("settings: %r", settings)
    if warm:  # load the model before taking work, so the first request is not slow
        from shared.embedding.embedder import get_embedder

        get_embedder(settings)
    listeners: list[BlobListener | QueueListener | TimerListener] = []
    watcher = QueueWatcher()
    http_specs = []
    for spec in discover(app_root):
        kind = spec.trigger["type"]
        if kind == "httpTrigger":
            http_specs.append(spec)
        elif kind == "blobTrigger":
            listeners.append(BlobListener(
                spec, storage, host_id=host_id, parallelism=config.blobs.max_degree_of_parallelism,
                poison_threshold=config.blobs.poison_blob_threshold, encoding=config.queues.message_encoding,
                watcher=watcher))
        elif kind == "queueTrigger":
            listeners.append(QueueListener(spec, storage, config.queues, watcher, lease_s=settings.host_lease_s))
        elif kind == "timerTrigger":
            listeners.append(TimerListener(spec, storage, config.queues.message_encoding))
        else:
            log.warning("function %s: trigger %s is not served by the local host", spec.name, kind)
        log.info("function %s: %s %s", spec.name, kind, spec.trigger.get("path") or spec.trigger.get("queueName")
                 or spec.trigger.get("schedule") or f"/{config.http.route_prefix}/{spec.trigger.get('route', '')}")
    http = _start_http(http_specs, storage, config, settings.host_http_port, host_id)
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    threads = [threading.Thread(target=_loop, args=(lst, stop), daemon=True, name=f"listen-{lst.spec.name}")
               for lst in listeners]
    for t in threads:
        t.start()
    log.info(READY_LINE)
    stop.wait()
    watcher.wake_all()
    log.info("stopping: no new work is taken; work in flight has %.0f s to finish", settings.host_drain_s)
    if http is not None:
        http.stop()
    for t in threads:
        t.join(timeout=5)
    deadline = time.time() + settings.host_drain_s
    cut = sum(lst.drain(deadline) for lst in listeners) + (http.drain(deadline) if http is not None else 0)
    log.info("host stopped" + (f"; {cut} function(s) cut off, their work is delivered again" if cut else ""))
    return cut == 0


def _start_http(specs: list, storage, config, port: int, host_id: str) -> HttpListener | None:
    """Serve the HTTP functions on 127.0.0.1:``port``; a port in use is logged, the other triggers go on."""
    if not specs or port == 0:
        return None
    try:
        http = HttpListener(specs, storage, config.http, port, host_id).start()
    except OSError as exc:
        log.error("HTTP functions are not served: cannot listen on 127.0.0.1:%d (%s); "
                  "set VOICEID_HOST_HTTP_PORT to a free port", port, exc.strerror or exc)
        return None
    log.info("HTTP functions listen on http://127.0.0.1:%d/%s/", port, config.http.route_prefix)
    return http


def _loop(listener: BlobListener | QueueListener | TimerListener, stop: threading.Event) -> None:
    """Poll until stopped; storage outages are logged and waited out, never fatal."""
    delay = 1.0
    while not stop.is_set():
        try:
            started = listener.poll_once()
            delay = listener.next_delay(started) if isinstance(listener, QueueListener) else listener.poll_s
        except Exception as exc:
            log.warning("%s: polling failed (%s: %s); retrying", listener.spec.name, type(exc).__name__,
                        str(exc).splitlines()[0][:200] if str(exc) else "")
            delay = min(max(delay, 1.0) * 2, 30.0)
        if isinstance(listener, QueueListener):  # a message from this host's own output binding wakes it early
            if listener.wake.wait(delay):
                listener.wake.clear()
                listener.backoff = 0.1
        else:
            stop.wait(delay)
