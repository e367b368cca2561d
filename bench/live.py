"""A live local deployment for benchmarks: Azurite on free ports and the real local host process.

Benchmarks that time what a user sees (upload -> result) need the whole system, not a
function call: the blob trigger's detection, the queue, the match workers and the fan-in.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from shared.client.voiceid import VoiceId
from shared.core import contract
from shared.core.settings import Settings
from shared.localhost.azurite import Azurite, free_port
from shared.localhost.process import HostProcess


@contextlib.contextmanager
def live_stack(env: dict[str, str] | None = None) -> Iterator[tuple[VoiceId, HostProcess]]:
    """Azurite and a warm host (model loaded) on a fresh, empty storage; both stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="voiceid-bench-") as tmp:
        azurite = Azurite(Path(tmp) / "azurite", free_port(), free_port(), free_port()).start()
        host = HostProcess(azurite.connection_string, Path(tmp) / "host.log", env=env)
        try:
            host.start()
            settings = Settings.from_env({**os.environ, **(env or {}),
                                          "AzureWebJobsStorage": azurite.connection_string})
            client = VoiceId(settings)
            client.storage.ensure()
            yield client, host
        finally:
            host.stop()
            azurite.stop()


def wait_fast(client: VoiceId, container: str, blob: str, etag: str, timeout_s: float = 120.0,
              poll_s: float = 0.02) -> dict:
    """Like ``VoiceId.wait_result`` but polling every 20 ms, so the wait adds little to a latency."""
    name = contract.result_blob_name(container, blob)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline:
        doc = client.storage.read_json(contract.RESULTS, name)
        if doc is not None and doc.get("etag") == etag:
            return doc
        time.sleep(poll_s)
    raise TimeoutError(f"no result for {container}/{blob} in {timeout_s} s")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its children so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(v) for v in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, float), q))
