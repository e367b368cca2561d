"""Bulk enrolment that can be run again: ``voiceid enroll DIR`` on a schedule or after an interruption.

A file is skipped when the gallery already holds a voiceprint of the same speaker made from the
same bytes (the voiceprint keeps the sha256 of its audio), whatever the file or blob is called.
Everything else is uploaded and its result awaited; the report says what was enrolled, skipped
and rejected (with the pipeline's reason and hint), and the exit status is 1 when anything was
rejected or did not get a result, so a scheduler notices.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .embedding import ModelInfo
from .errors import PermanentError
from .gallery import Gallery, stored_models
from .names import parse_enroll, speaker_key
from .settings import Settings
from .storage import Storage


@dataclass(frozen=True)
class Item:
    """One file of the run: where it goes, and what became of it."""

    file: str
    blob: str
    sha256: str = ""
    outcome: str = ""  # enrolled | skipped | rejected | error | pending | would_enroll
    code: str = ""
    message: str = ""
    hint: str = ""


@dataclass
class Report:
    """The run's outcome, as ``--report`` writes it for schedulers."""

    items: list[Item] = field(default_factory=list)
    dry_run: bool = False

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for item in self.items:
            out[item.outcome] = out.get(item.outcome, 0) + 1
        return out

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if i.outcome in ("rejected", "error", "pending")]

    def to_dict(self) -> dict:
        return {"dry_run": self.dry_run, "counts": self.counts(), "ok": not self.failed,
                "items": [asdict(i) for i in self.items]}


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def enrolled_audio(storage: Storage, settings: Settings) -> set[tuple[str, str]]:
    """(speaker key, audio sha256) of every voiceprint in the gallery, over every stored model."""
    seen = set()
    for model_id in stored_models(storage):
        gallery = Gallery(storage, ModelInfo.from_id(model_id, dim=0), settings.shard_count, settings.keyring())
        seen |= {(e["key"], e.get("sha256", "")) for sh in gallery.load_all() for e in sh.entries}
    return seen


def plan(pairs: list[tuple[str, Path]], hashes: dict[Path, str], enrolled: set[tuple[str, str]]) -> list[Item]:
    """Each file as an item: ``skipped`` when already enrolled, ``rejected`` for a name the pipeline would
    refuse (without uploading it), else ``""`` (to upload)."""
    items = []
    for blob, path in pairs:
        try:
            key = speaker_key(parse_enroll(blob).speaker)
        except PermanentError as err:
            items.append(Item(str(path), f"enroll/{blob}", hashes[path], "rejected", err.code, err.message,
                              err.hint))
            continue
        done = (key, hashes[path]) in enrolled
        items.append(Item(str(path), f"enroll/{blob}", hashes[path], "skipped" if done else ""))
    return items


def outcome(item: Item, doc: dict | None) -> Item:
    """The item once its result document arrived (or did not: ``pending``)."""
    from dataclasses import replace

    if doc is None:
        return replace(item, outcome="pending", code="result.timeout", message="no result in time",
                       hint="Is the host running? Run the same command again later: enrolled files are skipped.")
    if doc["status"] == "ok":
        return replace(item, outcome="enrolled")
    error = doc.get("error") or {}
    return replace(item, outcome=doc["status"], code=error.get("code", ""), message=error.get("message", ""),
                   hint=error.get("hint", ""))
