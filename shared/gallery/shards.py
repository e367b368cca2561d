"""Voiceprints and the packed shards that hold them: the gallery's data format, with no storage attached.

A speaker lives in exactly one shard, chosen by :func:`shard_of`, a stable hash of their key.
A shard is one matrix of float32 rows (one per voiceprint) and its index (speaker, voiceprint
id, source blob, audio hash), so a match worker reads one blob per shard, never one per
voiceprint. :class:`Shard` methods return new shards: a writer builds the next version and
stores it conditionally (:mod:`shared.gallery.store`).
"""

from __future__ import annotations

import hashlib
import io
import json
from dataclasses import dataclass, field

import numpy as np

from shared.scoring.bands import speaker_bands


def shard_of(key: str, shard_count: int) -> int:
    """The shard of a speaker key; stable across processes and Python versions."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % shard_count


def voiceprint_id(container: str, blob: str) -> str:
    """One voiceprint per enrolment blob: re-uploading the blob replaces its voiceprint."""
    return hashlib.sha256(f"{container}/{blob}".encode()).hexdigest()[:20]


INDEX_FIELDS = ("voiceprint_id", "key", "speaker", "blob", "etag", "sha256", "duration_s", "net_speech_s", "created_at",
                "band")


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
    band: str = ""  # "narrow" or "wide" (shared.audio.bandwidth); "" for voiceprints enrolled before bands were kept

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

    def speaker_bands(self) -> dict[str, str]:
        """Each speaker's band, from their voiceprints (:func:`shared.scoring.bands.speaker_bands`)."""
        return speaker_bands((e["key"], e.get("band", ""), e.get("net_speech_s", 0.0)) for e in self.entries)

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

    def without(self, ids: set[str]) -> Shard:
        """A new shard without the voiceprints whose ids are in ``ids``."""
        keep = [i for i, e in enumerate(self.entries) if e["voiceprint_id"] not in ids]
        return Shard(matrix=self.matrix[keep], entries=tuple(self.entries[i] for i in keep), etag=self.etag)

    def voiceprints(self) -> list[Voiceprint]:
        return [Voiceprint.from_entry(e, self.matrix[i]) for i, e in enumerate(self.entries)]

    def same_audio(self, vp: Voiceprint) -> dict | None:
        """The entry of another voiceprint of the same speaker made from the very same audio (same sha256)."""
        return next((e for e in self.entries if vp.sha256 and e["key"] == vp.key and e.get("sha256") == vp.sha256
                     and e["voiceprint_id"] != vp.voiceprint_id), None)

    def with_voiceprint(self, vp: Voiceprint, dedupe: bool = False) -> tuple[Shard, str]:
        """A new shard with ``vp`` added (or replacing the row of the same id), and the display name kept.

        ``dedupe``: when the speaker already has a voiceprint of the same audio (uploaded under
        another name), the shard is returned unchanged, so one recording never counts twice.
        """
        first = next((e["speaker"] for e in self.entries if e["key"] == vp.key), vp.speaker)
        if dedupe and self.same_audio(vp) is not None:
            return self, first
        keep = [i for i, e in enumerate(self.entries) if e["voiceprint_id"] != vp.voiceprint_id]
        entry = {**vp.index_entry(), "speaker": first}
        matrix = np.vstack([self.matrix[keep], vp.embedding[None, :].astype(np.float32)])
        return Shard(matrix=matrix, entries=tuple(self.entries[i] for i in keep) + (entry,), etag=self.etag), first
