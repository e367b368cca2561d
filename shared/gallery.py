"""The voiceprint gallery: packed shards in the ``gallery`` container.

A speaker lives in exactly one shard, chosen by a stable hash of their key, so a
1:1 claim reads one shard and a 1:N search reads each shard once. A shard is one
blob (``<model name>/<model version>/shard-NNNN.npz``) holding a float32 matrix
(one row per voiceprint) and its index (speaker, voiceprint id, source blob), so a
match worker does one read per shard, never one per voiceprint. Voiceprints of
different models live under different prefixes and are never scored together.

Writes are ETag-conditional with retry, so concurrent enrolments into one shard
lose nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from dataclasses import dataclass, field

import numpy as np

from . import contract
from .embedding import ModelInfo
from .errors import TransientError
from .gallerystats import GalleryStats, build
from .normalization import speaker_models
from .storage import ConcurrencyConflict, Storage

MAX_WRITE_ATTEMPTS = 30


def shard_of(key: str, shard_count: int) -> int:
    """The shard of a speaker key; stable across processes and Python versions."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % shard_count


def voiceprint_id(container: str, blob: str) -> str:
    """One voiceprint per enrolment blob: re-uploading the blob replaces its voiceprint."""
    return hashlib.sha256(f"{container}/{blob}".encode()).hexdigest()[:20]


INDEX_FIELDS = ("voiceprint_id", "key", "speaker", "blob", "etag", "sha256", "duration_s", "net_speech_s", "created_at")


@dataclass(frozen=True)
class Voiceprint:
    """One enrolled embedding and where it came from (never the audio itself)."""

    voiceprint_id: str
    key: str
    speaker: str
    embedding: np.ndarray = field(repr=False, compare=False)
    blob: str = ""
    etag: str = ""
    sha256: str = ""
    duration_s: float = 0.0
    net_speech_s: float = 0.0
    created_at: str = ""

    def index_entry(self) -> dict:
        return {k: getattr(self, k) for k in INDEX_FIELDS}

    @classmethod
    def from_entry(cls, entry: dict, embedding: np.ndarray, **changes) -> Voiceprint:
        """A shard index entry with an embedding (and any field replaced), e.g. when re-embedding it."""
        return cls(**{**{k: entry[k] for k in INDEX_FIELDS if k in entry}, **changes}, embedding=embedding)


@dataclass(frozen=True)
class Shard:
    """A shard's voiceprints: ``matrix`` rows line up with ``entries``."""

    matrix: np.ndarray
    entries: tuple[dict, ...]
    etag: str | None = None

    @property
    def keys(self) -> list[str]:
        return [e["key"] for e in self.entries]

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        np.savez(buf, matrix=self.matrix.astype(np.float32),
                 index=np.array(json.dumps(list(self.entries), ensure_ascii=False)))
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes, etag: str | None) -> Shard:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return cls(matrix=npz["matrix"], entries=tuple(json.loads(str(npz["index"]))), etag=etag)

    @classmethod
    def empty(cls, dim: int) -> Shard:
        return cls(matrix=np.zeros((0, dim), dtype=np.float32), entries=())

    def with_voiceprint(self, vp: Voiceprint) -> tuple[Shard, str]:
        """A new shard with ``vp`` added (or replacing the row of the same id), and the display name kept."""
        keep = [i for i, e in enumerate(self.entries) if e["voiceprint_id"] != vp.voiceprint_id]
        first = next((e["speaker"] for e in self.entries if e["key"] == vp.key), vp.speaker)
        entry = {**vp.index_entry(), "speaker": first}
        matrix = np.vstack([self.matrix[keep], vp.embedding[None, :].astype(np.float32)])
        return Shard(matrix=matrix, entries=tuple(self.entries[i] for i in keep) + (entry,), etag=self.etag), first


class Gallery:
    """Voiceprints of one model, spread over ``shard_count`` shards."""

    def __init__(self, storage: Storage, model: ModelInfo, shard_count: int):
        self.storage = storage
        self.model = model
        self.shard_count = shard_count

    def shard_blob(self, shard: int) -> str:
        return f"{self.model.name}/{self.model.version}/shard-{shard:04d}.npz"

    def load(self, shard: int) -> Shard:
        got = self.storage.read(contract.GALLERY, self.shard_blob(shard))
        return Shard.empty(self.model.dim) if got is None else Shard.from_bytes(*got)

    def add(self, vp: Voiceprint) -> str:
        """Store ``vp`` in its speaker's shard; returns the speaker's display name (as first enrolled)."""
        return self.add_many([vp])[vp.key]

    def add_many(self, vps: list[Voiceprint]) -> dict[str, str]:
        """Store voiceprints with one conditional write per shard; returns key -> display name."""
        names: dict[str, str] = {}
        by_shard: dict[int, list[Voiceprint]] = {}
        for vp in vps:
            by_shard.setdefault(shard_of(vp.key, self.shard_count), []).append(vp)
        for shard_no, group in by_shard.items():
            names.update(self._write_shard(shard_no, group))
        return names

    def _write_shard(self, shard_no: int, group: list[Voiceprint]) -> dict[str, str]:
        for attempt in range(MAX_WRITE_ATTEMPTS):
            current = self.load(shard_no)
            updated, names = current, {}
            for vp in group:
                updated, names[vp.key] = updated.with_voiceprint(vp)
            try:
                self.storage.write(contract.GALLERY, self.shard_blob(shard_no), updated.to_bytes(),
                                   if_match=current.etag, if_none_match=current.etag is None)
                return names
            except ConcurrencyConflict:
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))
        raise TransientError(f"shard {shard_no} kept changing during {MAX_WRITE_ATTEMPTS} write attempts",
                             code="gallery.contention")

    def stats_blob(self) -> str:
        return f"{self.model.name}/{self.model.version}/stats.npz"

    def load_all(self) -> list[Shard]:
        return [self.load(n) for n in range(self.shard_count)]

    def load_stats(self) -> GalleryStats:
        """The stored normalisation statistics; built (and stored) now when there are none yet."""
        got = self.storage.read(contract.GALLERY, self.stats_blob())
        return GalleryStats.from_bytes(got[0]) if got is not None else self.refresh_stats()

    def refresh_stats(self, shards: list[Shard] | None = None) -> GalleryStats:
        """Rebuild the statistics from every voiceprint of this model and store them.

        Called after each enrolment. Two enrolments finishing together both write; each
        includes its own voiceprint, and the next refresh includes both.
        """
        shards = self.load_all() if shards is None else shards
        keys, models = models_of(shards, self.model.dim)
        stats = build(keys, models, self.model.id)
        self.storage.write(contract.GALLERY, self.stats_blob(), stats.to_bytes())
        return stats

    def speakers(self) -> list[dict]:
        """Every enrolled speaker with their voiceprint count (no embeddings)."""
        out: dict[str, dict] = {}
        for shard in range(self.shard_count):
            for e in self.load(shard).entries:
                row = out.setdefault(e["key"], {"speaker": e["speaker"], "voiceprints": 0, "shard": shard})
                row["voiceprints"] += 1
        return sorted(out.values(), key=lambda r: r["speaker"].casefold())


def stored_models(storage: Storage) -> list[str]:
    """The ids (``name@version``) of every model that has blobs in the gallery container."""
    prefixes = {item.name.rsplit("/", 1)[0] for item in storage.list(contract.GALLERY) if item.name.count("/") == 2}
    return sorted(p.replace("/", "@", 1) for p in prefixes)


def models_of(shards: list[Shard], dim: int) -> tuple[list[str], np.ndarray]:
    """One model (normalised mean of the voiceprints) per enrolled speaker key, over ``shards``."""
    keys = [k for sh in shards for k in sh.keys]
    matrix = np.vstack([sh.matrix for sh in shards]) if shards else np.zeros((0, dim), np.float32)
    return speaker_models(matrix, keys)
