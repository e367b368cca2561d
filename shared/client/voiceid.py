"""The Python API: upload into the containers and wait for the result documents.

    from shared.client import VoiceId
    vid = VoiceId()                                  # AzureWebJobsStorage, else local Azurite
    print(vid.identify("call.wav")["decision"])      # or vid.enroll("Ann", "ann.flac"), vid.verify(...)

It only talks to storage, like any other uploader: the pipeline does the work.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timezone
from pathlib import Path

from shared.core import contract
from shared.core.settings import Settings
from shared.gallery.store import stored_galleries
from shared.storage.azure import get_storage
from shared.storage.base import Storage
from shared.storage.sealing import keyring


class ResultTimeout(TimeoutError):
    """No result appeared in time: is the host running (``voiceid up``)?"""


def unique_probe_name(path: Path) -> str:
    """``call.wav`` -> ``20261124T101500Z-3f9a1c-call.wav``: unique, and still says which file it was."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{secrets.token_hex(3)}-{path.name}"


class VoiceId:
    """Enrol, identify and verify through storage."""

    def __init__(self, settings: Settings | None = None, storage: Storage | None = None):
        self.settings = settings or Settings.from_env()
        self.storage = storage or get_storage(self.settings.storage_connection)

    def upload(self, container: str, blob: str, path: Path) -> str:
        """Upload a file as ``<container>/<blob>``; returns the new ETag (replaces an older blob)."""
        return self.storage.write(container, blob, Path(path).read_bytes())

    def wait_result(self, container: str, blob: str, etag: str, timeout_s: float = 120.0) -> dict:
        """Poll ``results/<container>/<blob>.json`` until it describes this upload (same ETag)."""
        deadline = time.time() + timeout_s
        name = contract.result_blob_name(container, blob)
        while time.time() < deadline:
            doc = self.storage.read_json(contract.RESULTS, name)
            if doc is not None and doc.get("etag") == etag:
                return doc
            time.sleep(0.2)
        raise ResultTimeout(f"no result for {container}/{blob} after {timeout_s:.0f} s; "
                            "is the host running? Start it with 'voiceid up'.")

    def enroll(self, speaker: str, path: str | Path, timeout_s: float = 120.0) -> dict:
        """Enrol one file for ``speaker`` (as ``enroll/<speaker>/<file name>``) and return its result."""
        blob = f"{speaker}/{Path(path).name}"
        return self.wait_result(contract.ENROLL, blob, self.upload(contract.ENROLL, blob, Path(path)), timeout_s)

    def identify(self, path: str | Path, timeout_s: float = 120.0) -> dict:
        """Who is speaking in ``path`` (1:N, open set)? Returns the identify result."""
        blob = unique_probe_name(Path(path))
        return self.wait_result(contract.IDENTIFY, blob, self.upload(contract.IDENTIFY, blob, Path(path)), timeout_s)

    def verify(self, path: str | Path, claim: str, timeout_s: float = 120.0, challenge: str | None = None) -> dict:
        """Is the speaker in ``path`` who they claim to be (1:1)? Returns the verify result.

        ``challenge``: the nonce of :meth:`challenge` when ``path`` is the caller speaking its digits. A result
        whose decision is ``challenge`` (a step-up, VOICEID_CHALLENGE) carries ``step_up.digits`` while it is open:
        have the caller speak them and call this again with ``challenge=doc["step_up"]["nonce"]``.
        """
        from shared.pipeline.challenge import with_open_digits

        name = unique_probe_name(Path(path))
        blob = f"{claim}/{f'challenge-{challenge}-{name}' if challenge else name}"
        doc = self.wait_result(contract.IDENTIFY, blob, self.upload(contract.IDENTIFY, blob, Path(path)), timeout_s)
        return with_open_digits(self.storage, doc)

    def challenge(self, claim: str) -> dict:
        """A one-time digit string for a text-prompted verification of ``claim``: ``nonce``, ``digits``, expiry."""
        from shared.pipeline import challenge

        return challenge.issue(self.storage, claim, self.settings).public(claim)

    def speakers(self) -> list[dict]:
        """Enrolled speakers of every model in the gallery, with voiceprint counts."""
        rows = []
        for gallery in stored_galleries(self.storage, self.settings.shard_count, keyring(self.settings.voiceprint_keys)):
            rows += [{**row, "model_id": gallery.model.id} for row in gallery.speakers()]
        return rows

    def watchlist_add(self, case: str, path: str | Path, timeout_s: float = 120.0, wait: bool = True) -> dict:
        """Add one recording of a confirmed fraud case (``watchlist/<case>/<file name>``); returns its result.

        The upload is audited with the operator (``VOICEID_ACTOR``, else the OS user) before it is made.
        ``wait=False`` returns ``{"blob", "etag"}`` at once.
        """
        from shared.core.names import parse_watchlist
        from shared.pipeline.watchlist import record_upload
        from shared.results.audit import operator

        blob = f"{case}/{Path(path).name}"
        parse_watchlist(blob)  # a bad case id fails here, before anything is stored
        record_upload(self.storage, case, blob, actor=operator())
        etag = self.upload(contract.WATCHLIST, blob, Path(path))
        return self.wait_result(contract.WATCHLIST, blob, etag, timeout_s) if wait else {"blob": blob, "etag": etag}

    def watchlist(self) -> list[dict]:
        """The watchlist's cases with voiceprint counts, per model (no embeddings)."""
        from shared.gallery.watchlist import cases

        return cases(self.storage, keyring(self.settings.voiceprint_keys))

    def watchlist_remove(self, case: str) -> dict:
        """Remove a case: its voiceprints, uploads and their results; audited with the operator."""
        from shared.pipeline.watchlist import remove_case
        from shared.results.audit import operator

        return remove_case(self.storage, self.settings, case, actor=operator()).to_dict()

    def reviews(self) -> list[dict]:
        """Enrolments held for an operator (the detector called them attacks below its strict point), oldest first."""
        from shared.pipeline.review import pending

        return [r.public() for r in pending(self.storage)]

    def review_audio(self, review_id: str) -> tuple[str, bytes] | None:
        """The held recording of an open review (its enrol blob name and bytes), to listen to; None when there is none."""
        from shared.pipeline.review import get

        held = get(self.storage, review_id)
        got = self.storage.read(contract.ENROLL, held.blob) if held else None
        return (held.blob, got[0]) if got else None

    def review_approve(self, review_id: str, timeout_s: float = 120.0, wait: bool = True) -> dict:
        """Approve a held enrolment (audited with ``VOICEID_ACTOR``, else the OS user); returns its enrol result."""
        from shared.pipeline.review import approve
        from shared.results.audit import operator

        done = approve(self.storage, review_id, operator())
        return self.wait_result(contract.ENROLL, done["blob"], done["etag"], timeout_s) if wait else done

    def review_reject(self, review_id: str) -> dict:
        """Refuse a held enrolment: its audio is deleted; returns its ``rejected`` result (audited)."""
        from shared.pipeline.review import reject
        from shared.results.audit import operator

        return reject(self.storage, review_id, operator())

    def results(self, prefix: str | None = None, limit: int = 50) -> list[dict]:
        """The most recent result documents (optionally under ``prefix``, e.g. ``identify/``)."""
        items = list(self.storage.list(contract.RESULTS, prefix))
        docs = [self.storage.read_json(contract.RESULTS, i.name) for i in items]
        docs = [d for d in docs if d]
        return sorted(docs, key=lambda d: d.get("created_at", ""))[-limit:]
