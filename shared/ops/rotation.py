"""``voiceid rotate-key``: re-seal every biometric blob under the active voiceprint key.

Rotation is three steps for the operator (docs/security.md): put a new key first in
``VOICEID_VOICEPRINT_KEYS`` and keep the old one listed (every process can then open
both); run this (each blob is opened with whichever key sealed it and sealed again
under the first, with a fresh data key); drop the old key once ``--check`` reports
nothing left under it. Plaintext blobs from before keys were set are sealed the same way.

Writes are ETag-conditional: a blob an enrolment changed in between is re-read and
done again, so a rotation during traffic loses no voiceprint. A re-run only repeats work.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from shared.core import contract
from shared.core.errors import PermanentError
from shared.storage import optimistic
from shared.storage.base import Storage
from shared.storage.sealing import Keyring, sealed_kid, write_blob

SEALED_BLOBS = {  # container -> names of the blobs that hold biometric data
    contract.GALLERY: re.compile(r"^(?!tombstones/|lockouts/).+/(shard-\d{4,}|stats)\.npz$"),
    contract.MATCH_STATE: re.compile(r"^[^/]+/probe\.npy$"),
}


@dataclass
class RotationReport:
    """Counts per key id found before the run ("plaintext" for unsealed blobs), and what was re-sealed."""

    active: str
    blobs: int = 0
    found: dict[str, int] = field(default_factory=dict)
    resealed: int = 0
    vanished: int = 0  # deleted while the rotation ran (an erasure, a finished request)
    check_only: bool = False

    @property
    def pending(self) -> int:
        """Blobs found under another key or in plaintext (``--check``: what a run would re-seal)."""
        return sum(n for kid, n in self.found.items() if kid != self.active)


def sealed_blobs(storage: Storage) -> list[tuple[str, str]]:
    """Every (container, blob) that :mod:`shared.storage.sealing` protects."""
    return [(container, item.name) for container, pattern in SEALED_BLOBS.items()
            for item in storage.list(container) if pattern.match(item.name)]


def rotate(storage: Storage, keyring: Keyring, *, check_only: bool = False, progress: bool = True) -> RotationReport:
    """Re-seal every biometric blob not sealed under ``keyring.active`` (``check_only``: count them)."""
    from tqdm import tqdm

    if keyring.active is None:
        raise PermanentError("VOICEID_VOICEPRINT_KEYS is not set: there is no key to seal with", code="seal.no_key",
                             hint="Create one with 'voiceid keygen NAME' and put it first in VOICEID_VOICEPRINT_KEYS.")
    blobs = sealed_blobs(storage)
    report = RotationReport(active=keyring.active, blobs=len(blobs), check_only=check_only)
    found: Counter[str] = Counter()
    for container, name in tqdm(blobs, desc="check keys" if check_only else "re-seal", unit="blob",
                                disable=not progress):
        kid = _reseal(storage, keyring, container, name, dry=check_only, report=report)
        if kid is not None:
            found[kid] += 1
    report.found = dict(found)
    return report


def _reseal(storage: Storage, keyring: Keyring, container: str, name: str, *, dry: bool,
            report: RotationReport) -> str | None:
    """Re-seal one blob; returns the key id it was under ("plaintext"), None when it is gone."""
    where = f"{container}/{name}"

    def read() -> tuple[bytes | None, str | None]:
        return storage.read(container, name) or (None, None)

    def change(data: bytes | None) -> optimistic.Change[tuple[str | None, bool]]:
        if data is None:
            return optimistic.keep((None, False))
        kid = sealed_kid(data) or "plaintext"
        if dry or kid == keyring.active:
            return optimistic.keep((kid, False))
        return optimistic.store(keyring.open(data, where), (kid, True))

    def write(plain: bytes, **conditions) -> None:
        write_blob(storage, keyring, container, name, plain, **conditions)

    kid, resealed = optimistic.update(read, change, write, what=where, code="seal.contention",
                                      hint="Run 'voiceid rotate-key' again; it only repeats what is left.")
    report.vanished += kid is None
    report.resealed += resealed
    return kid


def describe(report: RotationReport) -> str:
    before = ", ".join(f"{n} under {k}" for k, n in sorted(report.found.items())) or "none"
    done = f"would re-seal {report.pending}" if report.check_only else f"re-sealed {report.resealed}"
    return f"{report.blobs} biometric blobs ({before}); {done} under '{report.active}'"
