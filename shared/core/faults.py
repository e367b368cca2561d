"""Fault injection for the fault tests: hold a function at a named point for a while.

``VOICEID_FAULT_PAUSE="match.scored=8,enroll.embedded=5"`` makes the code sleep that many
seconds when it reaches each named point, so a test can kill the host, stop it, or erase a
speaker while the work is provably in flight. Unset (always, in production) it costs one
dictionary lookup. It is read on every call, so a test process can set it for itself.

Points: ``enroll.embedded`` (embedding done, voiceprint not stored), ``enroll.stored``
(voiceprint stored, result not written), ``match.scored``
(partial computed, not written), ``identify.embedded`` (probe embedded, jobs not sent).
"""

from __future__ import annotations

import logging
import os
import time

log = logging.getLogger(__name__)
ENV = "VOICEID_FAULT_PAUSE"


def pauses() -> dict[str, float]:
    raw = os.environ.get(ENV, "")
    out = {}
    for part in filter(None, (p.strip() for p in raw.split(","))):
        point, _, seconds = part.partition("=")
        out[point] = float(seconds or 0)
    return out


def pause(point: str) -> None:
    """Sleep at ``point`` when the fault tests ask for it."""
    seconds = pauses().get(point) if ENV in os.environ else None
    if seconds:
        log.warning("fault injection: holding at %s for %.1f s", point, seconds)
        time.sleep(seconds)
