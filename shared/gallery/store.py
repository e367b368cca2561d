"""The voiceprint gallery: packed shards in the ``gallery`` container.

A speaker lives in exactly one shard, chosen by a stable hash of their key, so a
1:1 claim reads one shard and a 1:N search reads each shard once. A shard is one
blob (``<model name>/<model version>/shard-NNNN.npz``) holding a float32 matrix
(one row per voiceprint) and its index (speaker, voiceprint id, source blob), so a
match worker does one read per shard, never one per voiceprint. Voiceprints of
different models live under different prefixes and are never scored together.

Writes are ETag-conditional with retry, so concurrent enrolments into one shard
lose nothing.

The shard count of a gallery is stored with it (``<model>/<version>/layout.json``),
written by the first enrolment from ``VOICEID_SHARD_COUNT``. Changing the setting
later does not move anything: the gallery keeps its stored count (and the log says
so) until ``voiceid reshard`` moves every voiceprint to the new count
(:mod:`shared.ops.reshard`). The shard format itself is :mod:`shared.gallery.shards`.
"""

from __future__ import annotations

import logging
import re

import numpy as np

from shared.core import contract
from shared.core.models import ModelInfo
from shared.gallery.shards import Shard, Voiceprint, shard_of
from shared.scoring.normalization import speaker_models
from shared.scoring.stats import GalleryStats, build
from shared.storage import optimistic
from shared.storage.base import ConcurrencyConflict, Storage
from shared.storage.sealing import Keyring, read_blob, write_blob
from shared.storage.sealing import keyring as default_keyring

log = logging.getLogger(__name__)
SHARD_NAME = re.compile(r"shard-(\d{4,})\.npz$")
_warned: set[tuple[str, int, int]] = set()


class Gallery:
    """Voiceprints of one model, spread over the gallery's stored number of shards.

    ``shard_count`` (the setting) is the count a new gallery starts with; an existing
    gallery's own count is read from its layout blob once per ``Gallery`` object.
    Shards and statistics are sealed with ``keyring`` (default: the app setting's keys).
    """

    def __init__(self, storage: Storage, model: ModelInfo, shard_count: int, keyring: Keyring | None = None,
                 namespace: str = ""):
        """``namespace``: a prefix inside the container for a gallery beside the customers' (the watchlist's
        ``watchlist/``); :func:`stored_models` lists the customer galleries only."""
        self.storage = storage
        self.namespace = namespace
        self.model = model
        self.keyring = keyring or default_keyring()
        self.configured_shards = shard_count
        self._stored_shards: int | None = None

    @property
    def prefix(self) -> str:
        return f"{self.namespace}{self.model.name}/{self.model.version}/"

    def shard_blob(self, shard: int) -> str:
        return f"{self.prefix}shard-{shard:04d}.npz"

    def layout_blob(self) -> str:
        return f"{self.prefix}layout.json"

    def stored_shards(self) -> int | None:
        """The shard count stored with the gallery (None: a gallery with no layout yet); read once when found."""
        if self._stored_shards is None:
            doc = self.storage.read_json(contract.GALLERY, self.layout_blob())
            if doc is not None:
                self._stored_shards = int(doc["shard_count"])
                self._warn_if_unlike_setting()
        return self._stored_shards

    @property
    def shard_count(self) -> int:
        """The gallery's shard count: as stored, else (a gallery with no layout yet) the setting."""
        stored = self.stored_shards()
        return self.configured_shards if stored is None else stored

    def _warn_if_unlike_setting(self) -> None:
        seen = (self.model.id, self._stored_shards, self.configured_shards)
        if self._stored_shards != self.configured_shards and seen not in _warned:
            _warned.add(seen)
            log.warning("the %s gallery has %d shards but VOICEID_SHARD_COUNT is %d; it keeps %d until "
                        "'voiceid reshard' moves it", *seen, self._stored_shards)

    def set_layout(self, shard_count: int, if_missing: bool = False) -> None:
        """Store the gallery's shard count (``if_missing``: only when it has none yet)."""
        try:
            self.storage.write_json(contract.GALLERY, self.layout_blob(), {"shard_count": shard_count},
                                    if_none_match=if_missing)
            self._stored_shards = shard_count
        except ConcurrencyConflict:  # another writer stored it first; theirs stands (read it next time)
            self._stored_shards = None

    def shard_numbers(self) -> list[int]:
        """The numbers of the shard blobs that exist (any count: a re-shard reads them all)."""
        found = (SHARD_NAME.search(item.name) for item in self.storage.list(contract.GALLERY, self.prefix))
        return sorted(int(m.group(1)) for m in found if m)

    def read_sealed(self, blob: str) -> tuple[bytes, str] | None:
        """A gallery blob's plaintext and ETag (None when absent)."""
        return read_blob(self.storage, self.keyring, contract.GALLERY, blob)

    def write_sealed(self, blob: str, data: bytes, **conditions) -> str:
        return write_blob(self.storage, self.keyring, contract.GALLERY, blob, data, **conditions)

    def drop_key(self, key: str) -> int:
        """Remove every voiceprint of speaker ``key`` from every shard blob (a re-shard may hold two copies);
        how many were removed. The statistics are left to the caller."""
        count = 0
        for number in self.shard_numbers():
            ids = {e["voiceprint_id"] for e in self.load(number).entries if e["key"] == key}
            if ids:
                self.write_shard(number, [], drop=ids)
                count += len(ids)
        return count

    def rebuild_stats(self) -> GalleryStats | None:
        """Rebuild the statistics from every shard blob there is (any count), learning the dimension from them
        when this reader was made without it; None when the gallery has no shard."""
        shards = [self.load(n) for n in self.shard_numbers()]
        if not shards:
            return None
        self.model = ModelInfo.from_id(self.model.id, dim=shards[0].matrix.shape[1])
        return self.refresh_stats(shards)

    def load(self, shard: int) -> Shard:
        got = self.read_sealed(self.shard_blob(shard))
        return Shard.empty(self.model.dim) if got is None else Shard.from_bytes(*got)

    def add(self, vp: Voiceprint) -> str:
        """Store ``vp`` in its speaker's shard, unless the speaker has a voiceprint of the same audio;
        returns the speaker's display name (as first enrolled)."""
        return self.add_many([vp], dedupe=True)[vp.key]

    def add_many(self, vps: list[Voiceprint], dedupe: bool = False) -> dict[str, str]:
        """Store voiceprints with one conditional write per shard; returns key -> display name."""
        if self.stored_shards() is None:  # a new gallery keeps the count it starts with
            self.set_layout(self.configured_shards, if_missing=True)
        names: dict[str, str] = {}
        by_shard: dict[int, list[Voiceprint]] = {}
        for vp in vps:
            by_shard.setdefault(shard_of(vp.key, self.shard_count), []).append(vp)
        for shard_no, group in by_shard.items():
            names.update(self.write_shard(shard_no, group, dedupe=dedupe))
        return names

    def write_shard(self, shard_no: int, group: list[Voiceprint], drop: set[str] | None = None,
                    dedupe: bool = False) -> dict[str, str]:
        """Add ``group`` to shard ``shard_no`` (and remove the ids in ``drop``) with one conditional write.

        Re-read and retried when another writer changed the shard in between.
        """
        def change(current: Shard) -> optimistic.Change[dict[str, str]]:
            updated, names = current.without(drop) if drop else current, {}
            for vp in group:
                updated, names[vp.key] = updated.with_voiceprint(vp, dedupe)
            return optimistic.store(updated.to_bytes(), names)

        def read() -> tuple[Shard, str | None]:
            shard = self.load(shard_no)
            return shard, shard.etag

        def write(data: bytes, **conditions) -> None:
            self.write_sealed(self.shard_blob(shard_no), data, **conditions)

        return optimistic.update(read, change, write, what=f"shard {shard_no}", code="gallery.contention")

    def stats_blob(self) -> str:
        return f"{self.prefix}stats.npz"

    def load_all(self) -> list[Shard]:
        return [self.load(n) for n in range(self.shard_count)]

    def load_stats(self) -> GalleryStats:
        """The stored normalisation statistics; built (and stored) now when there are none yet."""
        got = self.read_sealed(self.stats_blob())
        return GalleryStats.from_bytes(got[0]) if got is not None else self.refresh_stats()

    def refresh_stats(self, shards: list[Shard] | None = None) -> GalleryStats:
        """Rebuild the statistics from every voiceprint of this model (``shards``: as read already)."""
        shards = self.load_all() if shards is None else shards
        keys, models = models_of(shards, self.model.dim)
        bands = {k: b for s in shards for k, b in s.speaker_bands().items()}
        return self.store_stats(keys, models, voiceprints=len({e["voiceprint_id"] for s in shards for e in s.entries}),
                                bands=[bands.get(k, "") for k in keys])

    def store_stats(self, keys: list[str], models: np.ndarray, voiceprints: int,
                    bands: list[str] | None = None) -> GalleryStats:
        """Build and store the statistics from one model per enrolled speaker (``bands``: each one's band).

        Two enrolments refreshing together both write; the later wins and the next
        refresh includes both.
        """
        stats = build(keys, models, self.model.id, voiceprints=voiceprints, bands=bands)
        self.write_sealed(self.stats_blob(), stats.to_bytes())
        return stats

    def speakers(self) -> list[dict]:
        """Every enrolled speaker with their voiceprint count (no embeddings)."""
        out: dict[str, dict] = {}
        for shard in range(self.shard_count):
            for e in self.load(shard).entries:
                row = out.setdefault(e["key"], {"speaker": e["speaker"], "voiceprints": 0, "shard": shard})
                row["voiceprints"] += 1
        return sorted(out.values(), key=lambda r: r["speaker"].casefold())


def stored_models(storage: Storage, namespace: str = "") -> list[str]:
    """The ids (``name@version``) of every model that has blobs in the gallery container (under ``namespace``:
    ``watchlist/`` lists the watchlist's; the default, the customers')."""
    names = (i.name[len(namespace):] for i in storage.list(contract.GALLERY, namespace or None))
    return sorted({n.rsplit("/", 1)[0].replace("/", "@", 1) for n in names if n.count("/") == 2})


def stored_galleries(storage: Storage, shard_count: int, keyring: Keyring | None = None) -> list[Gallery]:
    """A reader of every stored model's gallery (dimension unknown until a shard is read)."""
    return [Gallery(storage, ModelInfo.from_id(m, dim=0), shard_count, keyring) for m in stored_models(storage)]


def models_of(shards: list[Shard], dim: int) -> tuple[list[str], np.ndarray]:
    """One model (normalised mean of the voiceprints) per enrolled speaker key, over ``shards``.

    A voiceprint found in two shards (during a re-shard) counts once.
    """
    entries = [e for sh in shards for e in sh.entries]
    if not entries:
        return speaker_models(np.zeros((0, dim), np.float32), [])
    _, first = np.unique([e["voiceprint_id"] for e in entries], return_index=True)
    first.sort()
    matrix = np.vstack([sh.matrix for sh in shards])
    return speaker_models(matrix[first], [entries[i]["key"] for i in first])
