"""``voiceid watch``: follow result documents as they appear, one aligned line each.

Polls the ``results`` listing (name, ETag, time) and reads only documents that are new or
changed since the last poll, so a quiet system costs one listing per interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import datetime

from shared.core import contract
from shared.results.table import result_row
from shared.storage.base import Storage

COLUMNS = (("time", 8), ("kind", 8), ("status", 8), ("decision", 12), ("speaker", 26), ("score", 6), ("file", 0))


def header() -> str:
    return line([name for name, _ in COLUMNS]) + "\n" + line(["-" * (w or 30) for _, w in COLUMNS])


def line(cells: list[object]) -> str:
    """Fixed-width columns so a live stream stays aligned (long cells are cut with '…')."""
    out = []
    for value, (_, width) in zip(cells, COLUMNS):
        text = "" if value is None else str(value)
        if width:
            text = text if len(text) <= width else text[: width - 1] + "…"
            text = text.ljust(width)
        out.append(text)
    return "  ".join(out).rstrip()


def row(doc: dict) -> str:
    """One result as a line: local time, kind, status, decision (or error code), speaker, score, file."""
    file, kind, status, decision, speaker, score = result_row(doc)
    try:
        when = datetime.fromisoformat(doc["created_at"].replace("Z", "+00:00")).astimezone().strftime("%H:%M:%S")
    except (KeyError, ValueError):
        when = ""
    return line([when, kind, status, decision, speaker, score, file])


class ResultFollower:
    """New or changed result documents under ``prefix``, oldest first."""

    def __init__(self, storage: Storage, prefix: str | None = None):
        self.storage = storage
        self.prefix = prefix
        self.seen: dict[str, str] = {}

    def poll(self) -> list[dict]:
        fresh = [item for item in self.storage.list(contract.RESULTS, self.prefix)
                 if self.seen.get(item.name) != item.etag]
        docs = []
        for item in fresh:
            self.seen[item.name] = item.etag
            doc = self.storage.read_json(contract.RESULTS, item.name)
            if doc is not None:
                docs.append(doc)
        return sorted(docs, key=lambda d: d.get("created_at", ""))

    def prime(self) -> None:
        """Mark everything there now as seen (``--last 0``: only what arrives from now on)."""
        self.seen = {item.name: item.etag for item in self.storage.list(contract.RESULTS, self.prefix)}


def follow(storage: Storage, prefix: str | None, *, last: int, interval_s: float,
           stop: Callable[[], bool] = lambda: False) -> Iterator[str]:
    """Lines to print: the header, the ``last`` most recent results, then each new one as it appears."""
    follower = ResultFollower(storage, prefix)
    yield header()
    if last:
        yield from (row(doc) for doc in follower.poll()[-last:])
    else:
        follower.prime()
    while not stop():
        time.sleep(interval_s)
        for doc in follower.poll():
            yield row(doc)
