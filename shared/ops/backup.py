"""``voiceid backup DIR`` / ``voiceid restore DIR``: a sealed, verifiable export of the galleries.

A backup is a folder:

- ``blobs/gallery/...``: every blob of the ``gallery`` container except lockouts (they expire):
  each model's shards, layout and statistics, the fraud watchlist's shards, the erasure
  tombstones, stored evaluations. Shards and statistics are copied as they are stored, sealed
  (the seal authenticates the blob's path, which restore keeps); anything stored in plaintext
  is sealed by the backup itself (``backup/<container>/<name>``), so the folder holds no
  voiceprint, name or audio in the clear when keys are set.
- ``blobs/enroll/...``, ``blobs/watchlist/...``: the enrolment and watchlist audio, only with
  ``--with-audio`` (``voiceid reembed`` needs it after a restore; it is biometric data, sealed), each
  under a hash of its blob name, the name itself sealed in the manifest (it holds the speaker's).
- ``manifest.json``: every file with its size and sha256, each tombstone with its erasure
  time, each model's voiceprint ids, and the **audit chain heads**: every audit blob's size,
  sha256, event count and last event, so ``voiceid backup verify DIR --audit`` shows whether the
  account's audit log still holds what it held (append-only: it may only have grown).
- ``manifest.seal``: the manifest sealed with the active key, so a changed manifest (and,
  through its hashes, any changed file) is detected; without keys there is no seal and
  ``verify`` says so.

Restore writes into an **empty** account and **never resurrects an erased speaker**: a
voiceprint whose speaker has a tombstone (in the backup, in the target account, or in a newer
backup named with ``--erasures``) at or after the voiceprint's creation is dropped, the
statistics of that model are rebuilt without it, and its audio is not written. Afterwards every
restored shard is read back through the keyring and compared with what was meant to be there.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.names import parse_enroll, speaker_key
from shared.gallery.shards import Shard
from shared.gallery.store import SHARD_NAME, Gallery
from shared.storage.base import Storage
from shared.storage.sealing import Keyring, is_sealed

log = logging.getLogger(__name__)
FORMAT = "voiceid-backup"
VERSION = 1
MANIFEST, SEAL = "manifest.json", "manifest.seal"
SKIP = (contract.LOCKOUTS,)  # gallery prefixes not backed up
AUDIO = (contract.ENROLL, contract.WATCHLIST)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _iso(when: datetime | None) -> str:
    return (when or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat(timespec="seconds")


def _file(root: Path, container: str, name: str) -> Path:
    """Where a blob's bytes lie in the backup (``name``: the blob name, or the hashed one of an audio blob)."""
    path = (root / "blobs" / container / name).resolve()
    if not str(path).startswith(str((root / "blobs").resolve()) + "/"):
        raise PermanentError(f"blob name {name!r} leaves the backup folder", code="backup.damaged",
                             hint="The manifest was altered; use an intact backup.")
    return path


def _is_shard(name: str) -> bool:
    return SHARD_NAME.search(name) is not None and not name.startswith(contract.TOMBSTONES)


def _label(name: str) -> str:
    """``<model name>/<version>/shard-NNNN.npz`` -> ``<model id>``; the watchlist's -> ``watchlist:<model id>``."""
    listed = name.startswith(contract.WATCHLIST_GALLERY)
    parts = name[len(contract.WATCHLIST_GALLERY) if listed else 0:].split("/")
    return ("watchlist:" if listed else "") + f"{parts[0]}@{parts[1]}"


@dataclass
class BackupReport:
    folder: str
    files: int = 0
    bytes: int = 0
    voiceprints: dict[str, int] = field(default_factory=dict)  # "[watchlist:]<model id>" -> count
    tombstones: int = 0
    audit_blobs: int = 0
    sealed_manifest: bool = False


def backup(storage: Storage, ring: Keyring, folder: Path, *, with_audio: bool = False,
           progress=lambda items, desc: items) -> BackupReport:
    """Export the galleries (and audit heads; audio with ``with_audio``) to ``folder``, which must be empty."""
    folder.mkdir(parents=True, exist_ok=True)
    if any(folder.iterdir()):
        raise PermanentError(f"{folder} is not empty", code="backup.folder_not_empty",
                             hint="Give a new folder for each backup (e.g. backups/$(date +%F)).")
    report = BackupReport(folder=str(folder))
    entries, tombstones, voiceprints = [], {}, {}
    sources = [(contract.GALLERY, i) for i in storage.list(contract.GALLERY) if not i.name.startswith(SKIP)]
    if with_audio:
        sources += [(c, i) for c in AUDIO for i in storage.list(c)]
    for container, item in progress(sources, "backup"):
        got = storage.read(container, item.name)
        if got is None:  # deleted since the listing
            continue
        data = got[0]
        if container == contract.GALLERY and item.name.startswith(contract.TOMBSTONES):
            tombstones[item.name] = _iso(item.modified)
        if container == contract.GALLERY and _is_shard(item.name):
            shard = Shard.from_bytes(ring.open(data, f"{container}/{item.name}"), None)
            voiceprints.setdefault(_label(item.name), []).extend(e["voiceprint_id"] for e in shard.entries)
        sealed_by = "store" if is_sealed(data) else None
        if sealed_by is None and ring.active is not None:
            data, sealed_by = ring.seal(data, f"backup/{container}/{item.name}"), "backup"
        entry = {"container": container, "name": item.name, "file": item.name}
        if container in AUDIO and ring.active is not None:  # an audio blob's name holds the speaker's name
            entry = {"container": container, "file": _sha(item.name.encode())[:40],
                     "name_sealed": base64.b64encode(ring.seal(item.name.encode(), f"backup/{container}/name")).decode()}
        path = _file(folder, container, entry["file"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        entries.append({**entry, "size": len(data), "sha256": _sha(data), "sealed_by": sealed_by,
                        "modified": _iso(item.modified)})
        report.files += 1
        report.bytes += len(data)
    heads = audit_heads(storage)
    manifest = {"format": FORMAT, "version": VERSION, "created_at": _iso(None), "key": ring.active,
                "with_audio": with_audio, "entries": entries, "tombstones": tombstones,
                "voiceprints": {k: sorted(v) for k, v in sorted(voiceprints.items())}, "audit_heads": heads}
    text = json.dumps(manifest, indent=1, ensure_ascii=False).encode("utf-8")
    (folder / MANIFEST).write_bytes(text)
    if ring.active is not None:
        (folder / SEAL).write_bytes(ring.seal(text, f"backup/{MANIFEST}"))
    report.voiceprints = {k: len(v) for k, v in manifest["voiceprints"].items()}
    report.tombstones, report.audit_blobs, report.sealed_manifest = len(tombstones), len(heads), ring.active is not None
    log.info("backup: %d files, %d bytes, %d tombstones", report.files, report.bytes, report.tombstones)
    return report


def audit_heads(storage: Storage) -> list[dict]:
    """Every audit blob's size, sha256, event count and last event time: what the log held at backup time."""
    heads = []
    for item in storage.list(contract.AUDIT):
        got = storage.read(contract.AUDIT, item.name)
        if got is None:
            continue
        lines = [ln for ln in got[0].decode("utf-8").splitlines() if ln.strip()]
        last = json.loads(lines[-1])["at"] if lines else None
        heads.append({"name": item.name, "size": len(got[0]), "sha256": _sha(got[0]), "events": len(lines),
                      "last_event_at": last})
    return heads


def read_manifest(folder: Path, ring: Keyring) -> tuple[dict, bool]:
    """The manifest and whether its seal was checked; ``backup.damaged`` when the seal or a file hash fails."""
    path = folder / MANIFEST
    if not path.is_file():
        raise PermanentError(f"{folder} has no {MANIFEST}", code="backup.not_a_backup",
                             hint="Name the folder 'voiceid backup' wrote.")
    text = path.read_bytes()
    checked = False
    if (folder / SEAL).is_file():
        try:
            opened = ring.open((folder / SEAL).read_bytes(), f"backup/{MANIFEST}")
        except PermanentError as err:
            raise PermanentError(f"the manifest's seal does not open: {err.message}", code="backup.damaged",
                                 hint=err.hint or "Use the keys the backup was made with.") from err
        if opened != text:
            raise PermanentError("manifest.json differs from its seal: it was altered", code="backup.damaged",
                                 hint="Use an intact copy of the backup.")
        checked = True
    manifest = json.loads(text)
    if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise PermanentError(f"{path} is not a voiceid backup of version {VERSION}", code="backup.not_a_backup",
                             hint="Restore it with the voiceid release that wrote it.")
    for e in manifest["entries"]:
        f = _file(folder, e["container"], e["file"])
        if not f.is_file() or _sha(f.read_bytes()) != e["sha256"]:
            raise PermanentError(f"{e['container']}/{e['file']} is missing or changed in the backup",
                                 code="backup.damaged", hint="Use an intact copy of the backup.")
    return manifest, checked


def compare_audit(manifest: dict, storage: Storage) -> list[str]:
    """How the account's audit log differs from the heads in the backup (empty: it still holds all of it)."""
    now = {h["name"]: h for h in audit_heads(storage)}
    problems = []
    for head in manifest["audit_heads"]:
        cur = now.get(head["name"])
        if cur is None:
            problems.append(f"{head['name']}: gone from the audit log")
        elif cur["size"] < head["size"] or (cur["size"] == head["size"] and cur["sha256"] != head["sha256"]):
            problems.append(f"{head['name']}: shorter or changed since the backup")
    return problems


@dataclass
class RestoreReport:
    voiceprints: dict[str, int] = field(default_factory=dict)  # restored, per "[watchlist:]<model id>"
    dropped: int = 0  # voiceprints of erased speakers left out
    erased_speakers: int = 0
    tombstones: int = 0
    audio: int = 0
    audio_dropped: int = 0
    rebuilt_stats: list[str] = field(default_factory=list)
    checked: bool = False
    sealed_manifest: bool = False


def _erasures(manifest: dict, storage: Storage, others: list[dict]) -> dict[str, str]:
    """Tombstone name -> erasure time (ISO), from the backup, the target account and newer backups (latest wins)."""
    out = dict(manifest["tombstones"])
    for other in others:
        for name, when in other["tombstones"].items():
            out[name] = max(out.get(name, when), when)
    for item in storage.list(contract.GALLERY, contract.TOMBSTONES):
        out[item.name] = max(out.get(item.name, ""), _iso(item.modified))
    return out


def _erased(key: str, created_at: str, erasures: dict[str, str]) -> bool:
    """Was this voiceprint's speaker erased at or after it was made? (A tie counts as erased, the safe side.)"""
    when = erasures.get(contract.tombstone_blob(key))
    return when is not None and (not created_at or created_at[:19] <= when[:19])


def restore(storage: Storage, ring: Keyring, folder: Path, *, erasures_from: list[Path] = (),
            progress=lambda items, desc: items) -> RestoreReport:
    """Restore ``folder`` into ``storage`` (whose gallery must be empty), honouring every erasure, then check it."""
    manifest, sealed = read_manifest(folder, ring)
    others = [read_manifest(p, ring)[0] for p in erasures_from]
    storage.ensure()
    held = [i.name for i in storage.list(contract.GALLERY) if not i.name.startswith((contract.TOMBSTONES, *SKIP))]
    if held:
        raise PermanentError(f"the target account's gallery is not empty ({len(held)} blobs)",
                             code="backup.target_not_empty",
                             hint="Restore into a new, empty storage account; its tombstones, if any, are honoured.")
    erasures = _erasures(manifest, storage, others)
    report = RestoreReport(sealed_manifest=sealed)
    expected: dict[str, set[str]] = {}
    dropped_models: set[str] = set()
    erased_keys: set[str] = set()
    for e in progress(manifest["entries"], "restore"):
        container = e["container"]
        name = e.get("name") or ring.open(base64.b64decode(e["name_sealed"]), f"backup/{container}/name").decode()
        data = _file(folder, container, e["file"]).read_bytes()
        if e["sealed_by"] == "backup":
            data = ring.open(data, f"backup/{container}/{name}")
        if container == contract.GALLERY and _is_shard(name):
            data = _restore_shard(name, data, ring, erasures, expected, dropped_models, erased_keys, report)
        elif container in AUDIO and _audio_erased(container, name, e["modified"], erasures):
            report.audio_dropped += 1
            continue
        storage.write(container, name, data)
        report.audio += container in AUDIO
    for name, when in erasures.items():  # tombstones of newer backups too, so an in-flight upload stays erased
        if storage.read(contract.GALLERY, name) is None:
            storage.write_json(contract.GALLERY, name, {"key_sha256": name[len(contract.TOMBSTONES):-5], "version": 1})
    report.tombstones = len(erasures)
    report.erased_speakers = len(erased_keys)
    for model in sorted(dropped_models):  # the statistics held the erased speakers' models: rebuild them
        namespace, _, model_id = model.rpartition(":")
        if not namespace:
            if Gallery(storage, ModelInfo.from_id(model_id, dim=0), 1, ring).rebuild_stats() is not None:
                report.rebuilt_stats.append(model_id)
    report.voiceprints = check(storage, ring, expected, erasures)
    report.checked = True
    return report


def _restore_shard(name: str, data: bytes, ring: Keyring, erasures: dict[str, str], expected: dict[str, set[str]],
                   dropped_models: set[str], erased_keys: set[str], report: RestoreReport) -> bytes:
    """The shard's bytes to write: as backed up, or re-sealed without the voiceprints of erased speakers."""
    label = _label(name)
    where = f"{contract.GALLERY}/{name}"
    shard = Shard.from_bytes(ring.open(data, where), None)
    gone = {e["voiceprint_id"] for e in shard.entries if _erased(e["key"], e.get("created_at", ""), erasures)}
    erased_keys |= {e["key"] for e in shard.entries if e["voiceprint_id"] in gone}
    expected.setdefault(label, set()).update(e["voiceprint_id"] for e in shard.entries if e["voiceprint_id"] not in gone)
    if not gone:
        return data
    report.dropped += len(gone)
    dropped_models.add(label)
    log.warning("restore: %d voiceprints of erased speakers left out of %s", len(gone), name)
    return ring.seal(shard.without(gone).to_bytes(), where)


def _audio_erased(container: str, name: str, modified: str, erasures: dict[str, str]) -> bool:
    """An enrolment upload made before its speaker's erasure is not restored (its trigger would enrol them again)."""
    if container != contract.ENROLL:
        return False
    try:
        key = speaker_key(parse_enroll(name).speaker)
    except PermanentError:
        return False
    return _erased(key, modified, erasures)


def check(storage: Storage, ring: Keyring, expected: dict[str, set[str]], erasures: dict[str, str]) -> dict[str, int]:
    """Read every restored shard back through the keyring: the voiceprints must be exactly those meant, every
    tombstone present and no voiceprint of an erased speaker left. Raises ``backup.check_failed`` otherwise."""
    found: dict[str, set[str]] = {}
    for item in storage.list(contract.GALLERY):
        if _is_shard(item.name):
            got = storage.read(contract.GALLERY, item.name)
            shard = Shard.from_bytes(ring.open(got[0], f"{contract.GALLERY}/{item.name}"), None)
            found.setdefault(_label(item.name), set()).update(e["voiceprint_id"] for e in shard.entries)
            if any(_erased(e["key"], e.get("created_at", ""), erasures) for e in shard.entries):
                raise PermanentError(f"{item.name} holds a voiceprint of an erased speaker after the restore",
                                     code="backup.check_failed", hint="Report this; do not start the host.")
    missing = [t for t in erasures if storage.read(contract.GALLERY, t) is None]
    if {k: v for k, v in found.items() if v} != {k: v for k, v in expected.items() if v} or missing:
        raise PermanentError("the restored gallery differs from the backup (voiceprints or tombstones)",
                             code="backup.check_failed", hint="Empty the target and restore again.")
    return {k: len(v) for k, v in sorted(found.items())}
