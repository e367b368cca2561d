"""Bulk enrolment that can be run again: ``voiceid enroll DIR`` on a schedule or after an interruption.

A file is skipped when the gallery already holds a voiceprint of the same speaker made from the
same bytes (the voiceprint keeps the sha256 of its audio), whatever the file or blob is called.
Everything else is uploaded and its result awaited; the report says what was enrolled, skipped,
held for an operator's review (the liveness detector's doubt) and rejected (with the pipeline's
reason and hint), and the exit status is 1 when anything was held, rejected or did not get a
result, so a scheduler notices.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from shared.core import contract
from shared.core.digest import file_sha256
from shared.core.errors import ConfigError, PermanentError
from shared.core.names import parse_enroll, speaker_key
from shared.core.settings import Settings
from shared.gallery.store import stored_galleries
from shared.storage.base import Storage
from shared.storage.sealing import keyring

AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus", ".webm", ".mp4", ".mov", ".mkv",
                  ".amr", ".wma", ".aif", ".aiff"}


def is_audio(path: Path) -> bool:
    """A file the commands take as audio or video (by its suffix; ffmpeg decides the rest)."""
    return path.is_file() and path.suffix.lower() in AUDIO_SUFFIXES


def collect_enroll_files(path: Path, name: str | None) -> list[tuple[str, Path]]:
    """(blob name, file) pairs for ``voiceid enroll PATH``; see the command's help for the three shapes."""
    if path.is_file():
        return [(f"{name}/{path.name}" if name else path.name, path)]
    if not path.is_dir():
        raise ConfigError(f"{path} does not exist")
    files = sorted(p for p in path.iterdir() if is_audio(p))
    if files:
        speaker = name or path.name
        return [(f"{speaker}/{f.name}", f) for f in files]
    if name:
        raise ConfigError("--name applies to one file or one speaker folder, not a folder of speakers")
    pairs = []
    for folder in sorted(p for p in path.iterdir() if p.is_dir()):
        pairs += [(f"{folder.name}/{f.name}", f) for f in sorted(folder.iterdir()) if is_audio(f)]
    if not pairs:
        raise ConfigError(f"no audio files in {path} (expected <speaker>/<file> inside it)")
    return pairs


@dataclass(frozen=True)
class Item:
    """One file of the run: where it goes, and what became of it."""

    file: str
    blob: str
    sha256: str = ""
    outcome: str = ""  # enrolled | skipped | review | rejected | error | pending | would_enroll
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
        return [i for i in self.items if i.outcome in ("review", "rejected", "error", "pending")]

    def to_dict(self) -> dict:
        return {"dry_run": self.dry_run, "counts": self.counts(), "ok": not self.failed,
                "items": [asdict(i) for i in self.items]}


def enrolled_audio(storage: Storage, settings: Settings) -> set[tuple[str, str]]:
    """(speaker key, audio sha256) of every voiceprint in the gallery, over every stored model."""
    seen = set()
    for gallery in stored_galleries(storage, settings.shard_count, keyring(settings.voiceprint_keys)):
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
    if doc is None:
        return replace(item, outcome="pending", code="result.timeout", message="no result in time",
                       hint="Is the host running? Run the same command again later: enrolled files are skipped.")
    if doc["status"] == "ok":
        return replace(item, outcome="enrolled")
    if doc["status"] == "review":  # not enrolled: an operator decides (shared.pipeline.review)
        return replace(item, outcome="review", code="liveness.attack",
                       message=f"held for operator review {doc['review']['id']}: the liveness detector called it an "
                               "attack", hint=f"An operator decides: voiceid review approve|reject {doc['review']['id']}.")
    error = doc.get("error") or {}
    return replace(item, outcome=doc["status"], code=error.get("code", ""), message=error.get("message", ""),
                   hint=error.get("hint", ""))


def _no_bar(seq, desc: str) -> Iterable:
    return seq


def enroll_files(client, pairs: list[tuple[str, Path]], *, dry_run: bool = False, wait: bool = True,
                 timeout_s: float = 300.0, progress: Callable = _no_bar) -> Report:
    """Hash, skip what is enrolled, upload the rest, wait for their results (``client``: a
    :class:`shared.client.VoiceId`). The Python face of ``voiceid enroll DIR``, e.g. for a timer function."""
    from shared.client.voiceid import ResultTimeout

    hashes = {path: file_sha256(path) for _, path in progress(pairs, "hash")}
    items = plan(pairs, hashes, enrolled_audio(client.storage, client.settings))
    todo = [i for i, item in enumerate(items) if not item.outcome]
    if dry_run:
        for i in todo:
            items[i] = replace(items[i], outcome="would_enroll")
        return Report(items, dry_run=True)
    etags = {i: client.upload(contract.ENROLL, _blob(items[i]), Path(items[i].file)) for i in progress(todo, "upload")}
    for i in progress(todo, "results") if wait else ():
        try:
            doc = client.wait_result(contract.ENROLL, _blob(items[i]), etags[i], timeout_s)
        except ResultTimeout:
            doc = None
        items[i] = outcome(items[i], doc)
    if not wait:
        for i in todo:
            items[i] = replace(items[i], outcome="uploaded")
    return Report(items)


def _blob(item: Item) -> str:
    return item.blob.split("/", 1)[1]
