"""Timer trigger delivery: NCRONTAB schedules (six fields, seconds first), as the Functions host reads them.

Supported per field: ``*``, ``N``, ``A-B``, ``*/S``, ``A-B/S`` and comma lists of those;
day-of-week 0-6 with Sunday 0. One run at a time per function (Azure holds a singleton
lock); a tick that comes while the last run is still going is skipped, and
``runOnStartup`` runs once when the host starts.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timezone

from azure.functions.timer import TimerRequest

from shared.localhost.functions import FunctionSpec, invoke
from shared.storage.base import Storage

log = logging.getLogger("voiceid.host")
RANGES = ((0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6))


def _field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        base, _, step = part.partition("/")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            start, end = (int(x) for x in base.split("-", 1))
        else:
            start = end = int(base)
            if step:
                end = high
        if not (low <= start <= end <= high):
            raise ValueError(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, int(step) if step else 1))
    return frozenset(values)


def parse_schedule(expr: str) -> tuple[frozenset[int], ...]:
    """``"0 */10 * * * *"`` -> the allowed values of each of the six fields."""
    parts = expr.split()
    if len(parts) != 6:
        raise ValueError(f"NCRONTAB {expr!r} needs six fields: second minute hour day month day-of-week")
    return tuple(_field(p, lo, hi) for p, (lo, hi) in zip(parts, RANGES))


def matches(schedule: tuple[frozenset[int], ...], at: datetime) -> bool:
    second, minute, hour, day, month, dow = schedule
    return (at.second in second and at.minute in minute and at.hour in hour and at.day in day
            and at.month in month and (at.isoweekday() % 7) in dow)


class TimerListener:
    """Fires one function on its schedule (UTC, as Azure's default WEBSITE_TIME_ZONE)."""

    def __init__(self, spec: FunctionSpec, storage: Storage, encoding: str):
        self.spec = spec
        self.storage = storage
        self.encoding = encoding
        self.schedule = parse_schedule(spec.trigger["schedule"])
        self.poll_s = 0.5
        self.running = threading.Lock()
        self.last_tick: int | None = None
        self.pending_startup = bool(spec.trigger.get("runOnStartup"))
        self.thread: threading.Thread | None = None

    def poll_once(self) -> int:
        now = int(time.time())
        due = self.pending_startup or (now != self.last_tick and
                                       matches(self.schedule, datetime.fromtimestamp(now, timezone.utc)))
        self.last_tick, self.pending_startup = now, False
        if not due:
            return 0
        if not self.running.acquire(blocking=False):
            log.warning("%s: the last run is still going; this tick is skipped", self.spec.name)
            return 0
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"timer-{self.spec.name}")
        self.thread.start()
        return 1

    def _run(self) -> None:
        started = time.perf_counter()
        try:
            log.info("Executing 'Functions.%s' (Reason='Timer fired')", self.spec.name)
            invoke(self.spec, TimerRequest(past_due=False), self.storage, self.encoding)
            log.info("Executed 'Functions.%s' (Succeeded, Duration=%.0fms)", self.spec.name,
                     (time.perf_counter() - started) * 1000)
        except Exception as exc:  # a timer is not retried: the next tick runs it again
            log.warning("Executed 'Functions.%s' (Failed): %s: %s", self.spec.name, type(exc).__name__, exc)
        finally:
            self.running.release()

    def drain(self, deadline: float) -> int:
        """Wait for a running sweep until ``deadline``; 1 when it was cut off (the next tick redoes it)."""
        if self.thread is not None:
            self.thread.join(timeout=max(0.0, deadline - time.time()))
            return int(self.thread.is_alive())
        return 0
