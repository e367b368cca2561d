"""host.json, read the way the Functions host reads it (with Azure's defaults).

The local host honours these settings; the match worker reads ``maxDequeueCount``
to know when a delivery is the last one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from shared.core.paths import project_root


def parse_timespan(value: str | None, default: float) -> float:
    """``"00:00:10"`` or ``"1.00:00:00"`` -> seconds."""
    if not value:
        return default
    hours, minutes, seconds = value.split(":")
    days, _, hours = hours.rpartition(".")
    return int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)


@dataclass(frozen=True)
class QueueOptions:
    batch_size: int = 16
    new_batch_threshold: int = 8
    max_polling_interval_s: float = 60.0
    visibility_timeout_s: float = 0.0  # delay before a failed message is retried
    max_dequeue_count: int = 5
    message_encoding: str = "base64"


@dataclass(frozen=True)
class BlobOptions:
    max_degree_of_parallelism: int = 8
    poison_blob_threshold: int = 5


@dataclass(frozen=True)
class HttpOptions:
    route_prefix: str = "api"
    max_concurrent_requests: int = 100
    max_outstanding_requests: int = 200  # requests waiting beyond this are answered 429


@dataclass(frozen=True)
class HostConfig:
    queues: QueueOptions
    blobs: BlobOptions
    function_timeout_s: float
    http: HttpOptions = HttpOptions()


def load_host_config(path: Path) -> HostConfig:
    data = json.loads(path.read_text())
    q = data.get("extensions", {}).get("queues", {})
    b = data.get("extensions", {}).get("blobs", {})
    h = data.get("extensions", {}).get("http", {})
    batch = int(q.get("batchSize", 16))
    return HostConfig(
        queues=QueueOptions(
            batch_size=batch,
            new_batch_threshold=int(q.get("newBatchThreshold", batch // 2)),
            max_polling_interval_s=parse_timespan(q.get("maxPollingInterval"), 60.0),
            visibility_timeout_s=parse_timespan(q.get("visibilityTimeout"), 0.0),
            max_dequeue_count=int(q.get("maxDequeueCount", 5)),
            message_encoding=q.get("messageEncoding", "base64").lower(),
        ),
        blobs=BlobOptions(
            max_degree_of_parallelism=int(b.get("maxDegreeOfParallelism", 8)),
            poison_blob_threshold=int(b.get("poisonBlobThreshold", 5)),
        ),
        function_timeout_s=parse_timespan(data.get("functionTimeout"), 300.0),
        http=HttpOptions(
            route_prefix=str(h.get("routePrefix", "api")).strip("/"),
            max_concurrent_requests=int(h.get("maxConcurrentRequests", 100)),
            max_outstanding_requests=int(h.get("maxOutstandingRequests", 200)),
        ),
    )


@lru_cache(maxsize=1)
def app_host_config() -> HostConfig:
    """The deployed app's host.json (beside the function folders)."""
    return load_host_config(project_root() / "host.json")
