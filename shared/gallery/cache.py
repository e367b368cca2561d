"""Match workers (and enrolment) keep gallery shards in memory, keyed by ETag: a job re-reads only what changed.

A shard of a large gallery is hundreds of megabytes (250,000 voiceprints of 192
floats: 190 MB), far too much to download for every probe. A worker asks storage for
the shard's ETag (a metadata call), and downloads and prepares the shard only when the
ETag differs from the copy it holds. "Prepared" means everything a probe does not
change: one model per speaker (the normalised mean of their voiceprints) and those
models centred with the gallery statistics, so stage 1 of a 1:N search is a single
matrix-vector product (docs/performance.md). The centred matrix depends on the
statistics too, so it is rebuilt (from the held shard, without a download) when the
statistics blob's ETag changes.

The cache is per process and bounded by ``VOICEID_SHARD_CACHE_MB``; the least recently
used shards are dropped first. A shard larger than the bound is prepared for the job
and not kept.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from shared.core import contract
from shared.core.settings import Settings
from shared.gallery.shards import Shard
from shared.gallery.store import Gallery
from shared.scoring.normalization import speaker_models
from shared.scoring.stats import GalleryStats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedShard:
    """A shard as a match worker scores it."""

    shard: Shard = field(repr=False)
    keys: tuple[str, ...]  # one per speaker, aligned with the rows below
    models: np.ndarray = field(repr=False)  # speaker models, un-centred
    centred: np.ndarray = field(repr=False)  # the same, centred and normalised with the statistics
    stats_etag: str | None = None

    @classmethod
    def build(cls, shard: Shard, stats: GalleryStats, stats_etag: str | None) -> PreparedShard:
        keys, models = speaker_models(shard.matrix, shard.keys)
        return cls(shard=shard, keys=tuple(keys), models=models, centred=stats.cohort.center(models),
                   stats_etag=stats_etag)

    def restats(self, stats: GalleryStats, stats_etag: str | None) -> PreparedShard:
        """The same shard centred with new statistics (no download); its lookups carry over."""
        fresh = PreparedShard(shard=self.shard, keys=self.keys, models=self.models,
                              centred=stats.cohort.center(self.models), stats_etag=stats_etag)
        fresh.__dict__.update({k: v for k, v in self.__dict__.items() if k in ("index", "names", "rows", "bands")})
        return fresh

    @cached_property
    def bands(self) -> tuple[str, ...]:
        """Each speaker's band, aligned with ``keys`` (``""``: enrolled before bands were kept)."""
        of = self.shard.speaker_bands()
        return tuple(of.get(k, "") for k in self.keys)

    @cached_property
    def index(self) -> dict[str, int]:
        """Speaker key -> row (built once per prepared shard: a 1:1 claim looks up one key)."""
        return {k: i for i, k in enumerate(self.keys)}

    @cached_property
    def names(self) -> dict[str, str]:
        """Speaker key -> display name (as first enrolled)."""
        return {e["key"]: e["speaker"] for e in self.shard.entries}

    @cached_property
    def rows(self) -> dict[str, list[int]]:
        """Speaker key -> rows of their voiceprints in the shard matrix (for ``max`` aggregation)."""
        out: dict[str, list[int]] = {}
        for i, e in enumerate(self.shard.entries):
            out.setdefault(e["key"], []).append(i)
        return out

    @property
    def entries(self) -> tuple[dict, ...]:
        return self.shard.entries

    @property
    def matrix(self) -> np.ndarray:
        return self.shard.matrix

    @property
    def nbytes(self) -> int:
        return int(self.shard.matrix.nbytes + self.models.nbytes + self.centred.nbytes)


class ShardCache:
    """Prepared shards and statistics of one process, reloaded when their ETag changes."""

    def __init__(self, max_mb: float):
        self.max_bytes = int(max_mb * 1024 * 1024)
        self._shards: OrderedDict[tuple[str, str], PreparedShard] = OrderedDict()
        self._stats: dict[tuple[str, str], tuple[str, GalleryStats]] = {}
        self._lock = threading.Lock()
        self.downloads = 0  # shard downloads, for tests and benchmarks

    def stats(self, gallery: Gallery, where: str) -> tuple[GalleryStats, str | None]:
        """The gallery's statistics and their ETag (built and stored first when there are none)."""
        key = (where, gallery.stats_blob())
        etag = gallery.storage.etag(contract.GALLERY, gallery.stats_blob())
        with self._lock:
            held = self._stats.get(key)
        if held is not None and etag is not None and held[0] == etag:
            return held[1], etag
        got = gallery.read_sealed(gallery.stats_blob())
        if got is None:
            return gallery.refresh_stats(), None
        stats = GalleryStats.from_bytes(got[0])
        with self._lock:
            self._stats[key] = (got[1], stats)
        return stats, got[1]

    def shard(self, gallery: Gallery, number: int, stats: GalleryStats, stats_etag: str | None,
              where: str) -> PreparedShard:
        """Shard ``number`` prepared with ``stats``; downloaded only when its ETag changed."""
        key = (where, gallery.shard_blob(number))
        etag = gallery.storage.etag(contract.GALLERY, gallery.shard_blob(number))
        with self._lock:
            held = self._shards.get(key)
        if held is not None and etag is not None and held.shard.etag == etag:
            prepared = held if held.stats_etag == stats_etag and stats_etag else held.restats(stats, stats_etag)
        else:
            shard = gallery.load(number)
            self.downloads += 1
            prepared = PreparedShard.build(shard, stats, stats_etag)
        self._keep(key, prepared)
        return prepared

    def _keep(self, key: tuple[str, str], prepared: PreparedShard) -> None:
        with self._lock:
            self._shards.pop(key, None)
            if prepared.shard.etag is None or prepared.nbytes > self.max_bytes:
                return
            self._shards[key] = prepared
            total = sum(p.nbytes for p in self._shards.values())
            while total > self.max_bytes:
                _, dropped = self._shards.popitem(last=False)
                total -= dropped.nbytes

    def clear(self) -> None:
        with self._lock:
            self._shards.clear()
            self._stats.clear()


_caches: dict[float, ShardCache] = {}


def shard_cache(settings: Settings) -> ShardCache:
    """This process's shard cache (one per size bound), shared by match workers and enrolment."""
    return _caches.setdefault(settings.shard_cache_mb, ShardCache(settings.shard_cache_mb))
