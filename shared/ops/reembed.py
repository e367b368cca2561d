"""Move a gallery to another model by embedding the stored enrolment audio again.

Voiceprints of different models are never scored together, so changing
``VOICEID_MODEL`` (or the model's weights) starts from an empty gallery unless the
enrolled speakers are carried over. Each voiceprint records the enrolment blob it
came from and that blob's sha256; :func:`reembed` reads each blob again, checks it
is still the same audio, runs the product's front end and the new model on it, and
stores the result under the new model with the same voiceprint id, speaker and dates.
It is resumable (voiceprints already in the target are skipped) and leaves the source
gallery alone unless asked to delete it once everything was carried over. The fraud
watchlist of the source model is carried over the same way, from its uploads in
``watchlist/`` (a model change must not switch the screening off).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.core.settings import Settings
from shared.embedding.embedder import get_embedder
from shared.embedding.frontend import embed_prepared, prepare
from shared.gallery.shards import Voiceprint
from shared.gallery.store import Gallery, stored_models
from shared.gallery.watchlist import watchlist_gallery
from shared.storage.base import Storage
from shared.storage.sealing import keyring

log = logging.getLogger(__name__)
BATCH = 64  # voiceprints per gallery write: a crash loses at most this much work


@dataclass
class Report:
    """What a re-embed did; ``complete`` when every source voiceprint is in the target."""

    source: str
    target: str
    voiceprints: int = 0
    reembedded: int = 0
    already: int = 0
    watchlist: int = 0  # of ``voiceprints``, ``reembedded`` and ``already``: the fraud watchlist's
    missing: list[str] = field(default_factory=list)  # enrolment audio gone (retention, deletion)
    changed: list[str] = field(default_factory=list)  # the blob now holds other audio than was enrolled
    failed: list[dict] = field(default_factory=list)  # the new model's front end refused the audio
    source_deleted: bool = False

    @property
    def complete(self) -> bool:
        return not (self.missing or self.changed or self.failed)


def source_model(storage: Storage, target: str, chosen: str | None) -> str:
    """The gallery to migrate from: ``chosen``, else the only stored model other than the target."""
    others = [m for m in stored_models(storage) if m != target]
    if chosen:
        if chosen not in others:
            raise SystemExit(f"voiceid: no gallery of model {chosen!r} to re-embed "
                             f"(stored: {', '.join(stored_models(storage)) or 'none'})")
        return chosen
    if len(others) != 1:
        raise SystemExit("voiceid: " + ("nothing to re-embed: the gallery holds no other model than " + target
                                        if not others else "several models are stored; pick one with --from: "
                                        + ", ".join(others)))
    return others[0]


def entries(gallery: Gallery) -> list[dict]:
    """Every voiceprint index entry of a gallery, shard by shard."""
    return [e for shard in gallery.load_all() for e in shard.entries]


def reembed_one(storage: Storage, entry: dict, settings: Settings) -> Voiceprint:
    """The entry's voiceprint under the configured model; :class:`PermanentError` when it cannot be made."""
    container, _, name = entry["blob"].partition("/")
    got = storage.read(container or contract.ENROLL, name)
    if got is None:
        raise PermanentError(entry["blob"], code="reembed.missing")
    data, _ = got
    if entry.get("sha256") and hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise PermanentError(entry["blob"], code="reembed.changed")
    emb = embed_prepared(prepare(data, settings), settings)
    return Voiceprint.from_entry(entry, emb.vector, net_speech_s=emb.audio["net_speech_s"], band=emb.audio["band"])


def reembed(storage: Storage, settings: Settings, source: str | None = None, *, delete_source: bool = False,
            dry_run: bool = False, progress: bool = True) -> Report:
    """Carry every voiceprint of the ``source`` model's gallery (and watchlist) over to the configured model."""
    info = get_embedder(settings).info
    source = source_model(storage, info.id, source)
    old = Gallery(storage, ModelInfo.from_id(source, dim=0), settings.shard_count, keyring(settings.voiceprint_keys))
    new = Gallery(storage, info, settings.shard_count, keyring(settings.voiceprint_keys))
    report = Report(source=source, target=info.id)
    ring = keyring(settings.voiceprint_keys)
    pairs = [(old, new), (watchlist_gallery(storage, old.model, ring), watchlist_gallery(storage, info, ring))]
    work = []
    for source_gallery, target_gallery in pairs:
        todo = entries(source_gallery)
        done = {e["voiceprint_id"] for e in entries(target_gallery)}
        report.voiceprints += len(todo)
        report.already += sum(e["voiceprint_id"] in done for e in todo)
        work.append((target_gallery, [e for e in todo if e["voiceprint_id"] not in done]))
    report.watchlist = len(entries(pairs[1][0]))
    if dry_run:
        return report
    customers = _carry(storage, new, work[0][1], report, settings, progress)
    report.reembedded = customers + _carry(storage, work[1][0], work[1][1], report, settings, progress)
    if customers:
        new.refresh_stats()
    if delete_source and report.complete:
        for prefix in (old.prefix, pairs[1][0].prefix):
            for item in storage.list(contract.GALLERY, prefix):
                storage.delete(contract.GALLERY, item.name)
        report.source_deleted = True
    log.info("re-embed %s -> %s: %d re-embedded, %d already there, %d missing, %d changed, %d failed",
             source, info.id, report.reembedded, report.already, len(report.missing), len(report.changed),
             len(report.failed))
    return report


def _carry(storage: Storage, target: Gallery, todo: list[dict], report: Report, settings: Settings,
           progress: bool) -> int:
    """Re-embed ``todo`` into ``target`` in batches; failures are noted in ``report``."""
    from tqdm import tqdm

    count, batch = 0, []
    what = "watchlist" if target.namespace else "re-embed"
    for entry in tqdm(todo, desc=f"{what} for {target.model.id}", unit="voiceprint", disable=not progress or not todo):
        try:
            batch.append(reembed_one(storage, entry, settings))
        except PermanentError as err:
            _note_failure(report, entry, err)
        if len(batch) >= BATCH:
            count += _flush(target, batch)
    return count + _flush(target, batch)


def _flush(gallery: Gallery, batch: list[Voiceprint]) -> int:
    count = len(batch)
    if batch:
        gallery.add_many(batch)
        batch.clear()
    return count


def _note_failure(report: Report, entry: dict, err: PermanentError) -> None:
    if err.code == "reembed.missing":
        report.missing.append(entry["blob"])
    elif err.code == "reembed.changed":
        report.changed.append(entry["blob"])
    else:
        report.failed.append({"blob": entry["blob"], "code": err.code, "message": err.message})
