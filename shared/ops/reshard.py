"""Move a gallery to another shard count without losing a voiceprint.

A speaker's shard is ``shard_of(key, count)``, so a new count moves most speakers.
The move is ordered so that every voiceprint is in storage, readable, at every moment,
and so that a crash or a second run at any point only repeats work:

1. **Copy.** Every voiceprint not in its shard under the new count is added to that
   shard (ETag-conditional writes; a voiceprint id already there is replaced, never doubled).
2. **Switch.** The gallery's layout blob takes the new count: from now on enrolment
   and identification use it. Until then they used the old count, which still held everything.
3. **Prune.** After a grace period for enrolments that read the old layout just before
   the switch, every shard drops the voiceprints that now live elsewhere (copying any
   that arrived since step 1 first), and shards beyond the new count are deleted once
   empty. Passes repeat until nothing is misplaced.
4. **Verify.** Every voiceprint id seen at the start is still stored, or the command fails;
   voiceprints of a speaker erased while it ran (tombstone newer than the start) are not counted lost.

While it runs, a speaker may be in two shards for seconds: statistics count each
voiceprint once and the fan-in keeps one candidate per speaker. Run it in a quiet
hour all the same: it rewrites every shard, and match workers reload each one.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from shared.core import contract
from shared.core.errors import PermanentError
from shared.core.models import ModelInfo
from shared.gallery.shards import Shard, Voiceprint, shard_of
from shared.gallery.store import Gallery
from shared.gallery.tombstones import tombstone
from shared.storage.base import ConcurrencyConflict, Storage
from shared.storage.sealing import Keyring

log = logging.getLogger(__name__)
MAX_PRUNE_PASSES = 5


@dataclass
class ReshardReport:
    """What a re-shard found and did, for one model's gallery."""

    model_id: str
    before: int  # the gallery's shard count before
    after: int
    voiceprints: int = 0
    misplaced: int = 0  # voiceprints not in their shard under the new count, at the start
    moved: int = 0
    deleted_shards: list[int] = field(default_factory=list)
    dry_run: bool = False


def _misplaced(shard_no: int, shard: Shard, to: int) -> dict[int, list[Voiceprint]]:
    """The shard's voiceprints that belong elsewhere under ``to`` shards, by their target shard."""
    out: dict[int, list[Voiceprint]] = {}
    for vp in shard.voiceprints():
        target = shard_of(vp.key, to)
        if target != shard_no:
            out.setdefault(target, []).append(vp)
    return out


def _copy(gallery: Gallery, groups: dict[int, list[Voiceprint]]) -> int:
    for target, vps in groups.items():
        gallery.write_shard(target, vps)
    return sum(len(v) for v in groups.values())


def _prune_pass(gallery: Gallery, to: int, report: ReshardReport) -> int:
    """Move what is misplaced now; returns how many voiceprints were (or still are) out of place."""
    moved = 0
    for number in gallery.shard_numbers():
        shard = gallery.load(number)
        groups = _misplaced(number, shard, to)
        if groups:
            moved += _copy(gallery, groups)
            gallery.write_shard(number, [], drop={vp.voiceprint_id for vps in groups.values() for vp in vps})
            shard = gallery.load(number)
        if number >= to:
            try:
                if shard.entries:
                    moved += len(shard.entries)  # arrived since the copy: the next pass moves them
                elif gallery.storage.delete(contract.GALLERY, gallery.shard_blob(number), if_match=shard.etag):
                    report.deleted_shards.append(number)
            except ConcurrencyConflict:
                moved += 1  # written to since: the next pass looks again
    return moved


def _stored_ids(gallery: Gallery) -> set[str]:
    return {e["voiceprint_id"] for n in gallery.shard_numbers() for e in gallery.load(n).entries}


def _lost(storage: Storage, before: dict[str, str], stored: set[str], started: datetime) -> set[str]:
    """Voiceprint ids seen at the start and gone now, except those of speakers erased meanwhile."""
    gone = {vid: key for vid, key in before.items() if vid not in stored}
    erased = {key for key in set(gone.values())
              if (stone := tombstone(storage, key)) is not None and stone.erased_at >= started}
    return {vid for vid, key in gone.items() if key not in erased}


def reshard(storage: Storage, model_id: str, to: int, *, grace_s: float = 10.0, dry_run: bool = False,
            progress: bool = True, keyring: Keyring | None = None) -> ReshardReport:
    """Move the ``model_id`` gallery to ``to`` shards (see the module docstring for the order)."""
    from tqdm import tqdm

    if to < 1:
        raise PermanentError("the shard count must be at least 1", code="reshard.count",
                             hint="Pass --to with a positive number, or set VOICEID_SHARD_COUNT.")
    started = datetime.now(timezone.utc).replace(microsecond=0)  # blob times have whole seconds
    reader = Gallery(storage, ModelInfo.from_id(model_id, dim=0), to, keyring)
    snapshot = {n: reader.load(n) for n in tqdm(reader.shard_numbers(), desc=f"read {model_id}", unit="shard",
                                                 disable=not progress)}
    dim = max((s.matrix.shape[1] for s in snapshot.values() if s.entries), default=0)
    gallery = Gallery(storage, ModelInfo.from_id(model_id, dim=int(dim)), to, keyring)
    report = ReshardReport(model_id=model_id, before=reader.shard_count, after=to, dry_run=dry_run)
    before_ids = {e["voiceprint_id"]: e["key"] for s in snapshot.values() for e in s.entries}
    report.voiceprints = len(before_ids)
    groups = [_misplaced(n, s, to) for n, s in snapshot.items()]
    report.misplaced = sum(len(v) for g in groups for v in g.values())
    if dry_run:
        return report
    for g in tqdm(groups, desc="copy to new shards", unit="shard", disable=not progress):
        report.moved += _copy(gallery, g)
    gallery.set_layout(to)
    if report.moved and grace_s > 0:
        time.sleep(grace_s)
    for _ in range(MAX_PRUNE_PASSES):
        if _prune_pass(gallery, to, report) == 0:
            break
    else:
        log.warning("re-shard of %s: voiceprints kept arriving in old shards; run 'voiceid reshard' again", model_id)
    lost = _lost(storage, before_ids, _stored_ids(gallery), started)
    if lost:
        raise PermanentError(f"{len(lost)} voiceprints of {model_id} are missing after the re-shard",
                             code="reshard.lost", hint="Do not delete anything; report this with the log.")
    gallery.refresh_stats()
    log.info("re-shard %s: %d -> %d shards, %d voiceprints, %d moved, deleted shards %s", model_id,
             report.before, to, report.voiceprints, report.moved, report.deleted_shards)
    return report
